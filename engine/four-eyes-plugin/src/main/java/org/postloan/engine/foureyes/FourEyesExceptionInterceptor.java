package org.postloan.engine.foureyes;

import org.camunda.bpm.engine.impl.interceptor.Command;
import org.camunda.bpm.engine.impl.interceptor.CommandInterceptor;

/**
 * Outermost command interceptor: the engine wraps any task listener exception in a
 * {@code ProcessEngineException("ENGINE-... Exception while invoking TaskListener: ...")}, which the
 * REST API reports as HTTP 500. This interceptor runs outside the transaction interceptor (the
 * transaction is already rolled back when it sees the exception) and rethrows the
 * {@link EngineControlException} found in the cause chain, so callers get a 403 with the
 * control's message. Every other exception passes unchanged.
 */
public class FourEyesExceptionInterceptor extends CommandInterceptor {

  @Override
  public <T> T execute(Command<T> command) {
    try {
      return next.execute(command);
    } catch (RuntimeException e) {
      EngineControlException refusal = EngineControlException.find(e);
      if (refusal != null && refusal != e) {
        throw refusal;
      }
      throw e;
    }
  }
}
