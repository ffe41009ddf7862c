package org.postloan.engine.foureyes;

import java.util.List;

import org.camunda.bpm.engine.delegate.DelegateTask;
import org.camunda.bpm.engine.delegate.TaskListener;
import org.camunda.bpm.engine.impl.persistence.entity.ExecutionEntity;
import org.camunda.bpm.engine.impl.persistence.entity.TaskEntity;

/**
 * On {@code complete}: stores who performed the task in the named process variable(s): the
 * authenticated user of the command, or the assignee when nobody is authenticated. Nothing is
 * written when neither is known (an earlier value is kept). These variables are protected: this
 * listener is the only writer besides the technical users (see {@link ProtectedVariablesHandler}).
 */
public class RecordPerformerTaskListener implements TaskListener {

  private final List<String> variables;

  public RecordPerformerTaskListener(List<String> variables) {
    this.variables = List.copyOf(variables);
  }

  public List<String> getVariables() {
    return variables;
  }

  @Override
  public void notify(DelegateTask task) {
    if (!EVENTNAME_COMPLETE.equals(task.getEventName())) {
      return;
    }
    String performer = Controls.currentUser();
    if (performer == null) {
      performer = task.getAssignee();
    }
    if (performer == null || performer.isBlank()) {
      return;
    }
    String value = performer;
    ExecutionEntity execution = ((TaskEntity) task).getExecution();
    TrustedWrites.run(() -> {
      for (String variable : variables) {
        if (execution != null) {
          execution.setVariable(variable, value);
        } else {
          task.setVariable(variable, value);
        }
      }
    });
  }
}
