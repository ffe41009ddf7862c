package org.postloan.engine.foureyes;

/** Refusal of the four-eyes rule: the user performed earlier work on the same case. */
public class FourEyesViolationException extends EngineControlException {

  private static final long serialVersionUID = 1L;

  private final String taskDefinitionKey;

  public FourEyesViolationException(String message, String refusedUserId, String taskDefinitionKey) {
    super(message, refusedUserId);
    this.taskDefinitionKey = taskDefinitionKey;
  }

  public String getTaskDefinitionKey() {
    return taskDefinitionKey;
  }
}
