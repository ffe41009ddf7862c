package org.postloan.engine.foureyes;

import org.camunda.bpm.engine.AuthorizationException;

/**
 * Refusal of the four-eyes rule.
 *
 * <p>Extends {@link AuthorizationException} on purpose: the engine REST API (and the webapps' REST
 * API used by Tasklist) maps it to HTTP 403 with the message in the JSON body, also for
 * {@code /task/{id}/complete} and {@code /submit-form}, which turn any other engine exception into
 * a 500. It has no cause, so the BPMN error propagation never treats it as a catchable error
 * (a catch-all error boundary event cannot swallow a refusal).
 */
public class FourEyesViolationException extends AuthorizationException {

  private static final long serialVersionUID = 1L;

  private final String refusedUserId;
  private final String taskDefinitionKey;

  public FourEyesViolationException(String message, String refusedUserId, String taskDefinitionKey) {
    super(message);
    this.refusedUserId = refusedUserId;
    this.taskDefinitionKey = taskDefinitionKey;
  }

  public String getRefusedUserId() {
    return refusedUserId;
  }

  public String getTaskDefinitionKey() {
    return taskDefinitionKey;
  }
}
