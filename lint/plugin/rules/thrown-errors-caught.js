'use strict';

const fs = require('node:fs');
const path = require('node:path');

const { attr, isBlank, isAnyType, isType } = require('./helper');

const DEFAULT_FILE = path.resolve(__dirname, '..', '..', 'thrown-errors.json');

/**
 * Every BPMN error code a worker can throw for an external task's topic has a catcher.
 *
 * The codes per topic come from the Python side: lint/thrown-errors.json, generated from
 * workers/*.py by lint/thrown_errors.py (tests/diagrams/test_thrown_errors.py fails when it is
 * stale). Camunda 7 ends the path silently when no event catches a BPMN error, so an uncaught
 * code is a business outcome nobody ever sees.
 *
 * A catcher is an error boundary event with that errorCode, or without a code (catch-all),
 * attached to the task or to an enclosing sub-process, or an error start event of an event
 * sub-process in an enclosing scope.
 *
 * Config: { thrownErrors } — path of the JSON (default ../../thrown-errors.json).
 */
module.exports = function(config) {

  const file = path.resolve((config && config.thrownErrors) || DEFAULT_FILE);

  let thrown;

  function load() {
    if (!thrown) {
      thrown = JSON.parse(fs.readFileSync(file, 'utf8')).topics || {};
    }

    return thrown;
  }

  // undefined = catch-all; otherwise the error code
  function caughtCode(eventDefinition) {
    const error = eventDefinition.errorRef;

    if (!error || isBlank(error.errorCode)) {
      return undefined;
    }

    return String(error.errorCode);
  }

  function errorDefinitions(event) {
    return (event.eventDefinitions || []).filter(d => isType(d, 'bpmn:ErrorEventDefinition'));
  }

  // codes caught on one level: boundary events attached to `activity`, event sub-processes in
  // `activity`'s flow scope; `null` in the set means a catch-all
  function catchersAround(activity) {
    const codes = new Set();
    const scope = activity.$parent;

    for (const element of (scope && scope.flowElements) || []) {
      if (isType(element, 'bpmn:BoundaryEvent') && element.attachedToRef === activity) {
        errorDefinitions(element).forEach(d => codes.add(caughtCode(d) === undefined ? null : caughtCode(d)));
      }
    }

    return codes;
  }

  function eventSubProcessCatchers(scope) {
    const codes = new Set();

    for (const element of (scope && scope.flowElements) || []) {
      if (isType(element, 'bpmn:SubProcess') && element.triggeredByEvent) {
        for (const start of element.flowElements || []) {
          if (isType(start, 'bpmn:StartEvent')) {
            errorDefinitions(start).forEach(d => codes.add(caughtCode(d) === undefined ? null : caughtCode(d)));
          }
        }
      }
    }

    return codes;
  }

  function isCaught(node, code) {
    let activity = node;

    while (activity && !isType(activity, 'bpmn:Process')) {
      const around = catchersAround(activity);

      if (around.has(null) || around.has(code)) {
        return true;
      }

      const scope = activity.$parent;
      const inScope = eventSubProcessCatchers(scope);

      if (inScope.has(null) || inScope.has(code)) {
        return true;
      }

      activity = scope;
    }

    return false;
  }

  function check(node, reporter) {
    if (!isAnyType(node, [ 'bpmn:ServiceTask', 'bpmn:SendTask', 'bpmn:BusinessRuleTask' ])) {
      return;
    }

    if (attr(node, 'camunda:type') !== 'external') {
      return;
    }

    const topic = attr(node, 'camunda:topic');
    const codes = load()[topic] || [];

    for (const code of codes) {
      if (!isCaught(node, code)) {
        reporter.report(node.id,
          `topic "${ topic }" can throw BPMN error ${ code } (see ${ path.basename(file) }), but no error boundary event with errorCode ${ code } or without a code catches it: the path would end silently. Catch it where a person sees it, or make the worker fail (incident) instead`,
          [ 'topic' ]);
      }
    }
  }

  return { check };
};
