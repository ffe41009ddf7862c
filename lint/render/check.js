#!/usr/bin/env node
'use strict';

/**
 * Optional render check in headless Chromium (Debian package `chromium`):
 *  - every .bpmn imports into bpmn-js (with camunda-bpmn-moddle) without warnings,
 *  - every .dmn imports into dmn-js without warnings and shows its decision tables,
 *  - every .form imports into form-js 1.8.7 (the version Camunda 7.24 Tasklist embeds) without
 *    warnings, and the forms' validation behaves as designed.
 *
 *   IBM_TELEMETRY_DISABLED=true npm ci --prefix lint/render
 *   node lint/render/check.js [folder]      (default ../../bpmn; CHROMIUM=/usr/bin/chromium)
 *
 * Screenshots go to $RENDER_OUT (default /tmp/postloan-render).
 */

const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const DIR = path.resolve(process.argv[2] || path.join(__dirname, '..', '..', 'bpmn'));
const OUT = process.env.RENDER_OUT || '/tmp/postloan-render';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = [ '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run' ];

const mod = (...p) => path.join(path.dirname(require.resolve(`${ p[0] }/package.json`)), ...p.slice(1));

// expected behaviour of the project's forms: data in, expected validation errors out
const FORM_CASES = {
  perform_inspection: [
    { data: { loan_id: 'L-1', days_past_due: 95, classification: { risk_class: 'substandard' } }, errors: [ 'findings', 'conclusion' ] },
    { data: { inspection_findings: 'too short', inspection_conclusion: 'concerns' }, errors: [ 'findings' ] },
    { data: { rework_reason: 'Add photos', inspection_findings: 'Visited the plant, operating normally.', inspection_conclusion: 'satisfactory' }, errors: [] }
  ],
  review_inspection: [
    { data: { inspector: 'am1' }, errors: [ 'decision', 'comment' ] },
    { data: { review_decision: 'approve', review_comment: 'ok' }, errors: [] },
    { data: { review_decision: 'rework', review_comment: 'incomplete' }, errors: [ 'rework_reason_input' ] },
    { data: { review_decision: 'rework', review_comment: 'incomplete', rework_reason: 'Add photos' }, errors: [] }
  ]
};

let failures = 0;

function report(ok, what, detail) {
  console.log(`${ ok ? 'ok  ' : 'FAIL' }  ${ what }${ detail ? '  ' + detail : '' }`);

  if (!ok) {
    failures++;
  }
}

async function newPage(browser, scripts, styles) {
  const page = await browser.newPage({ viewport: { width: 1700, height: 900 } });

  page.on('pageerror', error => report(false, 'page error', error.message));
  await page.setContent('<html><body><div id="c" style="width:1650px;height:850px"></div></body></html>');

  for (const style of styles) {
    if (fs.existsSync(style)) {
      await page.addStyleTag({ path: style });
    }
  }

  for (const script of scripts) {
    await page.addScriptTag({ path: script });
  }

  return page;
}

async function checkBpmn(browser, files) {
  const page = await newPage(browser,
    [ mod('bpmn-js', 'dist', 'bpmn-modeler.development.js') ],
    [ mod('bpmn-js', 'dist', 'assets', 'diagram-js.css'), mod('bpmn-js', 'dist', 'assets', 'bpmn-js.css') ]);
  const camunda = JSON.parse(fs.readFileSync(mod('camunda-bpmn-moddle', 'resources', 'camunda.json'), 'utf8'));

  for (const file of files) {
    const xml = fs.readFileSync(file, 'utf8');
    const result = await page.evaluate(async ({ xml, camunda }) => {
      document.getElementById('c').innerHTML = '';
      const modeler = new window.BpmnJS({ container: '#c', moddleExtensions: { camunda } });
      try {
        const { warnings } = await modeler.importXML(xml);
        modeler.get('canvas').zoom('fit-viewport');
        return { warnings: warnings.map(w => w.message), shapes: modeler.get('elementRegistry').getAll().length };
      } catch (error) {
        return { error: error.message };
      }
    }, { xml, camunda });

    report(!result.error && result.warnings.length === 0, `bpmn-js imports ${ path.basename(file) }`,
      result.error || (result.warnings.join('; ') || `${ result.shapes } elements`));
    await page.screenshot({ path: path.join(OUT, path.basename(file) + '.png') });
  }
}

async function checkDmn(browser, files) {
  const assets = mod('dmn-js', 'dist', 'assets');
  const page = await newPage(browser,
    [ mod('dmn-js', 'dist', 'dmn-modeler.development.js') ],
    [ 'diagram-js.css', 'dmn-js-shared.css', 'dmn-js-drd.css', 'dmn-js-decision-table.css',
      'dmn-js-decision-table-controls.css', 'dmn-font/css/dmn-embedded.css' ].map(css => path.join(assets, css)));
  const camunda = JSON.parse(fs.readFileSync(mod('camunda-dmn-moddle', 'resources', 'camunda.json'), 'utf8'));

  for (const file of files) {
    const xml = fs.readFileSync(file, 'utf8');
    const result = await page.evaluate(async ({ xml, camunda }) => {
      document.getElementById('c').innerHTML = '';
      const modeler = new window.DmnJS({ container: '#c', common: { moddleExtensions: { camunda } } });
      try {
        const { warnings } = await modeler.importXML(xml);
        const views = modeler.getViews();
        const hasDrd = views.some(v => v.type === 'drd');
        const table = views.find(v => v.type === 'decisionTable');
        if (table) {
          await modeler.open(table);
        }
        return { warnings: warnings.map(w => w.message), hasDrd, rules: document.querySelectorAll('tbody tr').length };
      } catch (error) {
        return { error: error.message };
      }
    }, { xml, camunda });

    report(!result.error && result.warnings.length === 0 && result.hasDrd, `dmn-js imports ${ path.basename(file) }`,
      result.error || (result.warnings.join('; ') || `DRD view: ${ result.hasDrd }, ${ result.rules } rules in the first table`));
    await page.screenshot({ path: path.join(OUT, path.basename(file) + '.png') });
  }
}

async function checkForms(browser, files) {
  const dist = mod('@bpmn-io/form-js', 'dist');
  const page = await newPage(browser, [ path.join(dist, 'form-viewer.umd.js') ], [ path.join(dist, 'assets', 'form-js.css') ]);

  const bundled = await page.evaluate(() => window.FormViewer.schemaVersion);

  for (const file of files) {
    const schema = JSON.parse(fs.readFileSync(file, 'utf8'));
    const name = path.basename(file, '.form');

    report(schema.schemaVersion <= bundled, `${ name }.form schemaVersion ${ schema.schemaVersion } <= form-js 1.8 schemaVersion ${ bundled }`);

    for (const [ index, testCase ] of (FORM_CASES[name] || [ { data: {}, errors: null } ]).entries()) {
      const result = await page.evaluate(async ({ schema, data }) => {
        const container = document.getElementById('c');
        container.innerHTML = '';
        const form = new window.FormViewer.Form({ container });
        try {
          const { warnings } = await form.importSchema(schema, data);
          // fields register while rendering: let the render finish before submitting
          await new Promise(resolve => setTimeout(resolve, 150));
          const { errors } = form.submit();
          return { warnings: warnings.map(w => String(w.message || w)), errors: Object.keys(errors).sort() };
        } catch (error) {
          return { error: error.message };
        }
      }, { schema, data: testCase.data });

      const expected = testCase.errors && [ ...testCase.errors ].sort();
      const ok = !result.error && result.warnings.length === 0 &&
        (!expected || JSON.stringify(expected) === JSON.stringify(result.errors));

      report(ok, `form-js 1.8 renders ${ name }.form case ${ index + 1 }`,
        result.error || `warnings: [${ result.warnings }] errors: [${ result.errors }]${ expected ? ` expected: [${ expected }]` : '' }`);
      await page.screenshot({ path: path.join(OUT, `${ name }-${ index + 1 }.png`), fullPage: true });
    }
  }
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });

  const files = fs.readdirSync(DIR).sort().map(f => path.join(DIR, f));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });

  try {
    await checkBpmn(browser, files.filter(f => f.endsWith('.bpmn')));
    await checkDmn(browser, files.filter(f => f.endsWith('.dmn')));
    await checkForms(browser, files.filter(f => f.endsWith('.form')));
  } finally {
    await browser.close();
  }

  console.log(`\n${ failures ? failures + ' failure(s)' : 'all rendered' }; screenshots in ${ OUT }`);

  return failures ? 1 : 0;
}

main().then(code => { process.exitCode = code; }, error => { console.error(error); process.exitCode = 2; });
