package org.postloan.engine.foureyes;

import org.camunda.bpm.engine.impl.bpmn.delegate.ExecutionListenerInvocation;
import org.camunda.bpm.engine.impl.bpmn.delegate.JavaDelegateInvocation;
import org.camunda.bpm.engine.impl.delegate.DelegateInvocation;
import org.camunda.bpm.engine.impl.delegate.ExpressionGetInvocation;
import org.camunda.bpm.engine.impl.delegate.ScriptInvocation;
import org.camunda.bpm.engine.impl.interceptor.DelegateInterceptor;
import org.camunda.bpm.engine.impl.task.delegate.TaskListenerInvocation;

/**
 * What the deployed model's own code writes (its listeners, delegates, scripts and expressions —
 * e.g. the expression listener that counts a return for rework) is the engine's doing, even when a person's command
 * set it off: those writes of protected variables pass. What a person sends (task completion and
 * form variables, variable endpoints) is never run through here and stays refused.
 */
class TrustedModelCode implements DelegateInterceptor {

  private final DelegateInterceptor next;

  TrustedModelCode(DelegateInterceptor next) {
    this.next = next;
  }

  @Override
  public void handleInvocation(DelegateInvocation invocation) throws Exception {
    if (invocation instanceof ExecutionListenerInvocation || invocation instanceof TaskListenerInvocation
        || invocation instanceof JavaDelegateInvocation || invocation instanceof ScriptInvocation
        || invocation instanceof ExpressionGetInvocation) {
      Exception[] failure = new Exception[1];
      TrustedWrites.run(() -> {
        try {
          next.handleInvocation(invocation);
        } catch (Exception e) {
          failure[0] = e;
        }
      });
      if (failure[0] != null) {
        throw failure[0];
      }
      return;
    }
    next.handleInvocation(invocation);
  }
}
