'use strict';

/**
 * postloan/dmn-output-types: decision-table outputs the code cannot use.
 *
 * For every output of every decision table:
 *  - a literal output entry must fit the output's typeRef: a quoted string in an integer,
 *    long or double output (Camunda fails the whole evaluation with DMN-01005), a fraction in
 *    an integer or long one, anything but true/false in a boolean one;
 *  - a quoted literal of an output with outputValues must be one of them (Camunda does not
 *    check outputValues when it evaluates).
 * For the outputs the Python code reads (dmn-outputs.json, per decision id):
 *  - the output exists and has the typeRef the code expects (e.g. inspection_plan.frequency is
 *    an integer: a string frequency would reach the code as text);
 *  - literal entries respect the code's own bounds: at least `min`, one of `values`.
 *
 * `check(definitions)` returns [{ id, message }] (id: the output entry, else the output).
 */

const EXPECTED = require('./dmn-outputs.json');

const NUMERIC = new Set([ 'integer', 'long', 'double' ]);
const WHOLE = new Set([ 'integer', 'long' ]);

function literal(text) {
  const t = String(text === undefined || text === null ? '' : text).trim();

  if (t === '' || t === 'null') {
    return { kind: 'empty' };
  }
  if (/^".*"$/s.test(t)) {
    return { kind: 'string', value: t.slice(1, -1) };
  }
  if (/^-?\d+$/.test(t)) {
    return { kind: 'number', value: Number(t), whole: true };
  }
  if (/^-?\d*\.\d+$/.test(t)) {
    return { kind: 'number', value: Number(t), whole: false };
  }
  if (t === 'true' || t === 'false') {
    return { kind: 'boolean', value: t === 'true' };
  }

  return { kind: 'expression' };
}

function allowedValues(output, expected) {
  if (expected && expected.values) {
    return expected.values;
  }
  const text = output.outputValues && output.outputValues.text;

  if (!text) {
    return null;
  }

  return String(text).split(',').map(v => v.trim()).filter(Boolean).map(v => v.replace(/^"|"$/g, ''));
}

function checkEntry(decisionId, output, expected, entry, problems) {
  const id = entry.id || output.id;
  const name = output.name || output.label || output.id;
  const type = (expected && expected.typeRef) || output.typeRef;
  const value = literal(entry.text);
  const where = `${ decisionId } output ${ name } (${ type })`;

  if (value.kind === 'empty' || value.kind === 'expression' || !type) {
    return;
  }
  if (NUMERIC.has(type)) {
    if (value.kind !== 'number') {
      problems.push({ id, message: `${ where }: ${ entry.text } is not a number (the evaluation fails with DMN-01005, or the code cannot use it)` });

      return;
    }
    if (WHOLE.has(type) && !value.whole) {
      problems.push({ id, message: `${ where }: ${ entry.text } is not a whole number` });
    }
    if (expected && expected.min !== undefined && value.value < expected.min) {
      problems.push({ id, message: `${ where }: ${ entry.text } is below ${ expected.min }, which the code refuses` });
    }

    return;
  }
  if (type === 'boolean') {
    if (value.kind !== 'boolean') {
      problems.push({ id, message: `${ where }: ${ entry.text } is not true or false` });
    }

    return;
  }
  if (type === 'string') {
    if (value.kind !== 'string') {
      if (expected) {
        problems.push({ id, message: `${ where }: ${ entry.text } is not a quoted string` });
      }

      return;
    }
    const values = allowedValues(output, expected);

    if (values && value.value !== '' && !values.includes(value.value)) {
      problems.push({ id, message: `${ where }: "${ value.value }" is not one of ${ values.join(', ') }` });
    }
  }
}

function check(definitions) {
  const problems = [];

  for (const decision of definitions.drgElement || []) {
    const table = decision.decisionLogic;

    if (!table || !table.$instanceOf || !table.$instanceOf('dmn:DecisionTable')) {
      continue;
    }
    const wanted = EXPECTED[decision.id] || null;
    const outputs = table.output || [];
    const byName = new Map(outputs.map(o => [ o.name, o ]));

    if (wanted) {
      for (const [ name, expected ] of Object.entries(wanted)) {
        const output = byName.get(name);

        if (!output) {
          problems.push({ id: decision.id, message: `${ decision.id } has no output ${ name }, which the code reads (${ expected.typeRef })` });
        } else if (output.typeRef !== expected.typeRef) {
          problems.push({ id: output.id, message: `${ decision.id } output ${ name } has typeRef "${ output.typeRef || '' }"; the code reads it as ${ expected.typeRef }` });
        }
      }
    }
    for (const rule of table.rule || []) {
      (rule.outputEntry || []).forEach((entry, i) => {
        const output = outputs[i];

        if (output) {
          checkEntry(decision.id, output, wanted && wanted[output.name], entry, problems);
        }
      });
    }
  }

  return problems;
}

module.exports = { check, literal };
