#!/usr/bin/env node
'use strict';

/**
 * Lint the project's diagrams: every .bpmn, .dmn and .form in a folder (default ../bpmn).
 *
 *   node lint/run.js [folder-or-files...]
 *
 * BPMN: bpmnlint with ./.bpmnlintrc (bpmnlint:recommended, camunda-compat 7.24 and the local
 * plugin bpmnlint-plugin-postloan), parsed with camunda-bpmn-moddle.
 * DMN: dmnlint recommended, plus: each decision has camunda:historyTimeToLive and DMNDI, and
 * its outputs have types the code can use (plugin/rules/dmn-output-types.js).
 * Forms: valid JSON, "id" equals the file name, schemaVersion at most what form-js 1.8
 * (embedded in Camunda 7.24 Tasklist) understands.
 *
 * Exit code 1 on any error (or on warnings with --max-warnings N exceeded), 2 on usage errors.
 */

const fs = require('node:fs');
const path = require('node:path');

const { BpmnModdle } = require('bpmn-moddle');
const DmnModdle = require('dmn-moddle');

const BpmnLinter = require('bpmnlint/lib/linter');
const BpmnNodeResolver = require('bpmnlint/lib/resolver/node-resolver');
const { createScopedRequire } = require('bpmnlint/lib/resolver/helper');

const DmnLinter = require('dmnlint/lib/linter');
const DmnNodeResolver = require('dmnlint/lib/resolver/node-resolver');
const dmnOutputTypes = require('./plugin/rules/dmn-output-types');

const LINT_DIR = __dirname;
const DEFAULT_TARGET = path.resolve(LINT_DIR, '..', 'bpmn');

// form-js 1.8.x (pinned by Camunda 7.24 Tasklist) exports schemaVersion 16
const MAX_FORM_SCHEMA_VERSION = 16;

const scopedRequire = createScopedRequire(path.join(LINT_DIR, 'package.json'));

function parseArgs(argv) {
  const options = { targets: [], maxWarnings: -1 };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];

    if (arg === '--max-warnings') {
      options.maxWarnings = Number(argv[++i]);
    } else if (arg.startsWith('--max-warnings=')) {
      options.maxWarnings = Number(arg.split('=')[1]);
    } else if (arg === '-h' || arg === '--help') {
      options.help = true;
    } else {
      options.targets.push(arg);
    }
  }

  if (Number.isNaN(options.maxWarnings)) {
    throw new Error('--max-warnings needs a number');
  }

  return options;
}

function collectFiles(targets) {
  const files = [];

  for (const target of targets.length ? targets : [ DEFAULT_TARGET ]) {
    const resolved = path.resolve(target);

    if (!fs.existsSync(resolved)) {
      throw new Error(`no such file or folder: ${ target }`);
    }

    if (fs.statSync(resolved).isDirectory()) {
      for (const name of fs.readdirSync(resolved).sort()) {
        if (/\.(bpmn|dmn|form)$/.test(name)) {
          files.push(path.join(resolved, name));
        }
      }
    } else {
      files.push(resolved);
    }
  }

  return files;
}

function loadBpmnlintConfig() {
  const configPath = path.join(LINT_DIR, '.bpmnlintrc');

  return JSON.parse(fs.readFileSync(configPath, 'utf8'));
}

function createBpmnModdle(config) {
  const extensions = {};

  for (const [ key, modulePath ] of Object.entries(config.moddleExtensions || {})) {
    extensions[key] = scopedRequire(modulePath);
  }

  return new BpmnModdle(extensions);
}

function problem(file, category, rule, id, message) {
  return { file, category, rule: rule || '', id: id || '', message };
}

async function lintBpmn(file, config, moddle) {
  const problems = [];
  const xml = fs.readFileSync(file, 'utf8');

  let parsed;

  try {
    parsed = await moddle.fromXML(xml);
  } catch (error) {
    return [ problem(file, 'error', 'parse', '', `cannot parse BPMN: ${ error.message }`) ];
  }

  for (const warning of parsed.warnings || []) {
    problems.push(problem(file, 'error', 'import', warning.element && warning.element.id, warning.message.split('\n')[0]));
  }

  // the form rule needs the diagram's folder; a fresh linter per file (rules are cached per linter)
  const fileConfig = {
    ...config,
    rules: {
      ...(config.rules || {}),
      'postloan/form-ref-resolves': [ 'error', { formsDir: path.dirname(file) } ]
    }
  };

  const linter = new BpmnLinter({
    config: fileConfig,
    resolver: new BpmnNodeResolver({ require: scopedRequire })
  });

  const results = await linter.lint(parsed.rootElement);

  for (const [ rule, reports ] of Object.entries(results)) {
    for (const report of reports) {
      const category = report.category === 'rule-error' ? 'error' : report.category;

      problems.push(problem(file, category, report.name || rule, report.id, report.message));
    }
  }

  return problems;
}

async function lintDmn(file) {
  const problems = [];
  const xml = fs.readFileSync(file, 'utf8');
  const moddle = new DmnModdle();

  let parsed;

  try {
    // dmn-moddle 9 (the version dmnlint uses) has a callback API
    parsed = await new Promise((resolve, reject) => {
      moddle.fromXML(xml, 'dmn:Definitions', (error, rootElement, context) => {
        if (error) {
          reject(error);
        } else {
          resolve({ rootElement, warnings: (context && context.warnings) || [] });
        }
      });
    });
  } catch (error) {
    return [ problem(file, 'error', 'parse', '', `cannot parse DMN: ${ error.message }`) ];
  }

  const definitions = parsed.rootElement;

  for (const warning of parsed.warnings || []) {
    problems.push(problem(file, 'error', 'import', warning.element && warning.element.id, warning.message.split('\n')[0]));
  }

  const linter = new DmnLinter({
    config: { extends: 'dmnlint:recommended' },
    resolver: new DmnNodeResolver({ require: scopedRequire })
  });

  const results = await linter.lint(definitions);

  for (const [ rule, reports ] of Object.entries(results)) {
    for (const report of reports) {
      problems.push(problem(file, report.category === 'warn' ? 'warn' : 'error', `dmnlint/${ rule }`, report.id, report.message));
    }
  }

  // project checks
  const shapeRefs = new Set();
  const dmndi = definitions.dmnDI;

  for (const diagram of (dmndi && dmndi.diagrams) || []) {
    for (const element of diagram.diagramElements || []) {
      if (element.dmnElementRef) {
        shapeRefs.add(element.dmnElementRef.id);
      }
    }
  }

  for (const element of definitions.drgElement || []) {
    if (!element.$instanceOf('dmn:Decision')) {
      continue;
    }

    const ttl = element.get('camunda:historyTimeToLive') || (element.$attrs || {})['camunda:historyTimeToLive'];

    if (ttl === undefined || String(ttl).trim() === '') {
      problems.push(problem(file, 'error', 'postloan/dmn-history-time-to-live', element.id,
        'Decision has no camunda:historyTimeToLive (Camunda 7.24 refuses to deploy it)'));
    } else if (!/^(\d+|P\d+D)$/.test(String(ttl).trim())) {
      problems.push(problem(file, 'error', 'postloan/dmn-history-time-to-live', element.id,
        `camunda:historyTimeToLive "${ ttl }" is neither a number of days nor P<n>D`));
    }

    if (!shapeRefs.has(element.id)) {
      problems.push(problem(file, 'error', 'postloan/dmn-di', element.id,
        'Decision has no DMNDI shape: Camunda Modeler shows no requirements diagram for it'));
    }
  }

  for (const found of dmnOutputTypes.check(definitions)) {
    problems.push(problem(file, 'error', 'postloan/dmn-output-types', found.id, found.message));
  }

  return problems;
}

function lintForm(file) {
  const expectedId = path.basename(file, '.form');

  let schema;

  try {
    schema = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    return [ problem(file, 'error', 'postloan/form-schema', '', `not valid JSON: ${ error.message }`) ];
  }

  const problems = [];

  if (schema.id !== expectedId) {
    problems.push(problem(file, 'error', 'postloan/form-schema', schema.id,
      `form id "${ schema.id }" does not match the file name (expected "${ expectedId }")`));
  }

  if (schema.type !== 'default') {
    problems.push(problem(file, 'error', 'postloan/form-schema', schema.id, 'form "type" must be "default"'));
  }

  if (!Number.isInteger(schema.schemaVersion) || schema.schemaVersion > MAX_FORM_SCHEMA_VERSION) {
    problems.push(problem(file, 'error', 'postloan/form-schema', schema.id,
      `schemaVersion ${ schema.schemaVersion } is not supported by form-js 1.8 in Camunda 7.24 Tasklist (max ${ MAX_FORM_SCHEMA_VERSION })`));
  }

  if (!Array.isArray(schema.components)) {
    problems.push(problem(file, 'error', 'postloan/form-schema', schema.id, 'form has no "components" array'));
  }

  return problems;
}

function print(problems, files) {
  const byFile = new Map();

  for (const p of problems) {
    if (!byFile.has(p.file)) {
      byFile.set(p.file, []);
    }

    byFile.get(p.file).push(p);
  }

  for (const [ file, list ] of byFile) {
    console.log(`\n${ path.relative(process.cwd(), file) || file }`);

    for (const p of list) {
      const label = p.category === 'warn' ? 'warning' : p.category;

      console.log(`  ${ label.padEnd(7) }  ${ (p.id || '-').padEnd(28) }  ${ p.message }  [${ p.rule }]`);
    }
  }

  const errors = problems.filter(p => p.category === 'error').length;
  const warnings = problems.filter(p => p.category === 'warn').length;
  const infos = problems.length - errors - warnings;

  console.log(`\n${ files.length } file(s) checked: ${ errors } error(s), ${ warnings } warning(s), ${ infos } info(s)`);

  return { errors, warnings };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));

  if (options.help) {
    console.log('Usage: node lint/run.js [--max-warnings N] [folder-or-files...]   (default folder: bpmn/)');

    return 0;
  }

  const files = collectFiles(options.targets);

  if (files.length === 0) {
    console.error('nothing to lint: no .bpmn, .dmn or .form files found');

    return 2;
  }

  const config = loadBpmnlintConfig();
  const moddle = createBpmnModdle(config);

  const problems = [];

  for (const file of files) {
    if (file.endsWith('.bpmn')) {
      problems.push(...await lintBpmn(file, config, moddle));
    } else if (file.endsWith('.dmn')) {
      problems.push(...await lintDmn(file));
    } else if (file.endsWith('.form')) {
      problems.push(...lintForm(file));
    }
  }

  const { errors, warnings } = print(problems, files);

  if (errors > 0 || (options.maxWarnings >= 0 && warnings > options.maxWarnings)) {
    return 1;
  }

  return 0;
}

main().then(
  code => { process.exitCode = code; },
  error => {
    const usage = error && /^(no such file or folder|--max-warnings)/.test(error.message);

    console.error(usage ? `lint: ${ error.message }` : `lint failed: ${ error && error.stack || error }`);
    process.exitCode = 2;
  }
);
