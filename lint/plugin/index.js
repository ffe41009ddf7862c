'use strict';

/**
 * bpmnlint-plugin-postloan: project rules for the post-loan diagrams (Camunda 7.24).
 *
 * Rules read camunda:* attributes, so the diagram must be parsed with the
 * camunda-bpmn-moddle extension (see ../.bpmnlintrc "moddleExtensions" and ../run.js).
 */
module.exports = {
  rules: {
    'external-task-topic': './rules/external-task-topic',
    'service-task-implementation': './rules/service-task-implementation',
    'user-task-assignment': './rules/user-task-assignment',
    'form-ref-resolves': './rules/form-ref-resolves',
    'complete-di': './rules/complete-di',
    'history-time-to-live': './rules/history-time-to-live',
    'thrown-errors-caught': './rules/thrown-errors-caught'
  },
  configs: {
    recommended: {
      rules: {
        'postloan/external-task-topic': 'error',
        'postloan/service-task-implementation': 'error',
        'postloan/user-task-assignment': 'error',
        'postloan/form-ref-resolves': 'error',
        'postloan/complete-di': 'error',
        'postloan/history-time-to-live': 'error',
        'postloan/thrown-errors-caught': 'error'
      }
    }
  }
};
