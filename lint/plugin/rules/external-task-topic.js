'use strict';

const { attr, isBlank, isAnyType } = require('./helper');

/**
 * Every element implemented as an external task (camunda:type="external") must name a
 * camunda:topic, otherwise no worker can ever fetch it.
 */
module.exports = function() {

  function check(node, reporter) {
    if (!isAnyType(node, [
      'bpmn:ServiceTask',
      'bpmn:SendTask',
      'bpmn:BusinessRuleTask',
      'bpmn:MessageEventDefinition'
    ])) {
      return;
    }

    if (attr(node, 'camunda:type') !== 'external') {
      return;
    }

    if (isBlank(attr(node, 'camunda:topic'))) {
      reporter.report(node.id, 'External task has no camunda:topic: no worker can fetch it', [ 'topic' ]);
    }
  }

  return {
    meta: {
      documentation: {
        url: 'https://docs.camunda.org/manual/latest/user-guide/process-engine/external-tasks/'
      }
    },
    check
  };
};
