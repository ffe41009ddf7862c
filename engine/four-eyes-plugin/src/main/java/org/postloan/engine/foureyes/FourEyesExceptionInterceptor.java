package org.postloan.engine.foureyes;

import org.camunda.bpm.engine.impl.interceptor.Command;
import org.camunda.bpm.engine.impl.interceptor.CommandInterceptor;

/**
 * Outermost command interceptor: the engine wraps any task listener exception in a
 * {@code ProcessEngineException("ENGINE-... Exception while invoking TaskListener: ...")}, which the
 * REST API reports as HTTP 500. This interceptor runs outside the transaction interceptor (the
 * transaction is already rolled back when it sees the exception) and rethrows the
 * {@link FourEyesViolationException} found in the cause chain, so callers get a 403 with the
 * four-eyes message. Every other exception passes unchanged.
 */
public class FourEyesExceptionInterceptor extends CommandInterceptor {

  @Override
  public <T> T execute(Command<T> command) {
    try {
      return next.execute(command);
    } catch (RuntimeException e) {
      FourEyesViolationException violation = findViolation(e);
      if (violation != null && violation != e) {
        throw violation;
      }
      throw e;
    }
  }

  static FourEyesViolationException findViolation(Throwable e) {
    Throwable current = e;
    for (int depth = 0; current != null && depth < 20; depth++) {
      if (current instanceof FourEyesViolationException) {
        return (FourEyesViolationException) current;
      }
      if (current.getCause() == current) {
        return null;
      }
      current = current.getCause();
    }
    return null;
  }
}
