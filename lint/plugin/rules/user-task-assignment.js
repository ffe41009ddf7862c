'use strict';

const { attr, isBlank, isType } = require('./helper');

/**
 * A user task nobody can see is a silent dead end: require camunda:assignee,
 * camunda:candidateUsers or camunda:candidateGroups.
 */
module.exports = function() {

  function check(node, reporter) {
    if (!isType(node, 'bpmn:UserTask')) {
      return;
    }

    const assigned = [
      'camunda:assignee',
      'camunda:candidateUsers',
      'camunda:candidateGroups'
    ].some(name => !isBlank(attr(node, name)));

    if (!assigned) {
      reporter.report(node.id, 'User task has no camunda:assignee, camunda:candidateUsers or camunda:candidateGroups: nobody would see it in Tasklist', [ 'assignee' ]);
    }
  }

  return { check };
};
