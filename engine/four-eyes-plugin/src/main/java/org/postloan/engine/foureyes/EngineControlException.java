package org.postloan.engine.foureyes;

import org.camunda.bpm.engine.AuthorizationException;

/**
 * A refusal by one of the engine's controls (four eyes, protected variables, task ownership).
 *
 * <p>Extends {@link AuthorizationException} on purpose: the engine REST API (and the webapps' REST
 * API used by Tasklist) maps it to HTTP 403 with the message in the JSON body, also for
 * {@code /task/{id}/complete} and {@code /submit-form}, which turn any other engine exception into
 * a 500. It has no cause, so the BPMN error propagation never treats it as a catchable error
 * (a catch-all error boundary event cannot swallow a refusal).
 */
public class EngineControlException extends AuthorizationException {

  private static final long serialVersionUID = 1L;

  private final String refusedUserId;

  public EngineControlException(String message, String refusedUserId) {
    super(message);
    this.refusedUserId = refusedUserId;
  }

  public String getRefusedUserId() {
    return refusedUserId;
  }

  /** The control refusal in a cause chain, or null. */
  static EngineControlException find(Throwable e) {
    Throwable current = e;
    for (int depth = 0; current != null && depth < 20; depth++) {
      if (current instanceof EngineControlException) {
        return (EngineControlException) current;
      }
      if (current.getCause() == current) {
        return null;
      }
      current = current.getCause();
    }
    return null;
  }
}
