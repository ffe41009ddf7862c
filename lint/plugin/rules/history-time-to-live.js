'use strict';

const { attr, isBlank, isType } = require('./helper');

// Camunda 7 accepts a number of days or an ISO-8601 period in days, e.g. "180" or "P180D"
const TTL_PATTERN = /^(\d+|P\d+D)$/;

/**
 * Camunda 7.24 refuses to deploy an executable process without historyTimeToLive
 * (unless an engine-wide default is set; this project sets it on every process).
 */
module.exports = function() {

  function check(node, reporter) {
    if (!isType(node, 'bpmn:Process') || !node.isExecutable) {
      return;
    }

    const ttl = attr(node, 'camunda:historyTimeToLive');

    if (isBlank(ttl)) {
      reporter.report(node.id, 'Executable process has no camunda:historyTimeToLive (Camunda 7.24 refuses to deploy it)', [ 'historyTimeToLive' ]);
    } else if (!TTL_PATTERN.test(String(ttl).trim())) {
      reporter.report(node.id, `camunda:historyTimeToLive "${ ttl }" is neither a number of days nor P<n>D`, [ 'historyTimeToLive' ]);
    }
  }

  return { check };
};
