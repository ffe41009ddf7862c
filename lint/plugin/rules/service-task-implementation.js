'use strict';

const { attr, isBlank, isAnyType } = require('./helper');

/**
 * Camunda 7 refuses to deploy a service, send or business rule task without an
 * implementation (class, expression, delegateExpression, type, connector, or a
 * decisionRef for business rule tasks). Report it before deployment does.
 */
module.exports = function() {

  function hasConnector(node) {
    const extensionElements = node.extensionElements;
    const values = (extensionElements && extensionElements.values) || [];

    return values.some(value => value.$type === 'camunda:Connector');
  }

  function check(node, reporter) {
    if (!isAnyType(node, [ 'bpmn:ServiceTask', 'bpmn:SendTask', 'bpmn:BusinessRuleTask' ])) {
      return;
    }

    const implementations = [
      'camunda:class',
      'camunda:expression',
      'camunda:delegateExpression',
      'camunda:type',
      'camunda:decisionRef'
    ].filter(name => !isBlank(attr(node, name)));

    if (implementations.length === 0 && !hasConnector(node)) {
      reporter.report(node.id, 'Task has no implementation (camunda:type="external" with a topic, class, expression, delegateExpression or decisionRef)');
    }
  }

  return { check };
};
