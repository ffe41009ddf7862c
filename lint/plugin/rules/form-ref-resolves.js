'use strict';

const fs = require('node:fs');
const path = require('node:path');

const { attr, isBlank, isAnyType } = require('./helper');

/**
 * Every camunda:formRef must resolve to a Camunda Form (.form, JSON) in the diagram's
 * folder whose "id" equals the formRef: forms are deployed together with the
 * diagrams of that folder, and Tasklist finds them by id.
 *
 * Config: { formsDir } — the folder holding the diagram (run.js passes it per file);
 * defaults to the current working directory when used from the bpmnlint CLI.
 */
module.exports = function(config) {

  const formsDir = path.resolve((config && config.formsDir) || process.cwd());

  let forms;

  function loadForms() {
    if (forms) {
      return forms;
    }

    forms = { byId: new Map(), byFile: new Map(), broken: new Map() };

    let files = [];

    try {
      files = fs.readdirSync(formsDir).filter(file => file.endsWith('.form'));
    } catch (e) {
      files = [];
    }

    for (const file of files) {
      try {
        const schema = JSON.parse(fs.readFileSync(path.join(formsDir, file), 'utf8'));

        forms.byFile.set(file, schema.id);

        if (typeof schema.id === 'string') {
          forms.byId.set(schema.id, file);
        }
      } catch (e) {
        forms.broken.set(file, e.message);
      }
    }

    return forms;
  }

  function check(node, reporter) {
    if (!isAnyType(node, [ 'bpmn:UserTask', 'bpmn:StartEvent' ])) {
      return;
    }

    const formRef = attr(node, 'camunda:formRef');

    if (isBlank(formRef)) {
      return;
    }

    // resolved at runtime, cannot be checked statically
    if (/^[$#]\{/.test(formRef)) {
      return;
    }

    const { byId, byFile, broken } = loadForms();

    if (byId.has(formRef)) {
      return;
    }

    const expectedFile = `${ formRef }.form`;

    if (broken.has(expectedFile)) {
      reporter.report(node.id, `camunda:formRef "${ formRef }": ${ expectedFile } is not valid JSON (${ broken.get(expectedFile) })`, [ 'formRef' ]);
    } else if (byFile.has(expectedFile)) {
      reporter.report(node.id, `camunda:formRef "${ formRef }": ${ expectedFile } has id "${ byFile.get(expectedFile) }", not "${ formRef }"`, [ 'formRef' ]);
    } else {
      reporter.report(node.id, `camunda:formRef "${ formRef }" does not resolve: no .form in ${ formsDir } has id "${ formRef }"`, [ 'formRef' ]);
    }
  }

  return { check };
};
