package org.postloan.engine.foureyes;

/** A person tried to create, change, shadow or delete a variable the controls rely on. */
public class ProtectedVariableException extends EngineControlException {

  private static final long serialVersionUID = 1L;

  private final String variableName;

  public ProtectedVariableException(String message, String refusedUserId, String variableName) {
    super(message, refusedUserId);
    this.variableName = variableName;
  }

  public String getVariableName() {
    return variableName;
  }
}
