'use strict';

/**
 * Read an extension attribute such as `camunda:topic`.
 *
 * Works whether or not the camunda moddle extension was registered: without it,
 * moddle keeps unknown attributes in `$attrs`.
 */
function attr(node, name) {
  let value;

  try {
    value = node.get(name);
  } catch (e) {
    value = undefined;
  }

  if ((value === undefined || value === null) && node.$attrs) {
    value = node.$attrs[name];
  }

  return value;
}

function isBlank(value) {
  return value === undefined || value === null || String(value).trim() === '';
}

function isType(node, type) {
  return typeof node.$instanceOf === 'function' && node.$instanceOf(type);
}

function isAnyType(node, types) {
  return types.some(type => isType(node, type));
}

module.exports = { attr, isBlank, isType, isAnyType };
