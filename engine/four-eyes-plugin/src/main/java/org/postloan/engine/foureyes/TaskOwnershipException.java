package org.postloan.engine.foureyes;

/** A person tried to take, give away or work a task that is not theirs. */
public class TaskOwnershipException extends EngineControlException {

  private static final long serialVersionUID = 1L;

  public TaskOwnershipException(String message, String refusedUserId) {
    super(message, refusedUserId);
  }
}
