package org.postloan.engine.foureyes;

import java.util.List;
import java.util.logging.Logger;

import org.camunda.bpm.engine.delegate.DelegateTask;
import org.camunda.bpm.engine.delegate.TaskListener;

/**
 * Refuses a user who performed earlier work on the same case.
 *
 * <ul>
 *   <li>{@code assignment} (claim, set assignee, delegate, assignee at creation): the new assignee
 *       must not equal any of the guarded variables;</li>
 *   <li>{@code complete} (also form submission): neither the authenticated user of the command nor
 *       the assignee may equal any of them.</li>
 * </ul>
 * Comparison ignores case and surrounding blanks (stricter, never weaker).
 */
public class FourEyesTaskListener implements TaskListener {

  private static final Logger LOG = Logger.getLogger(FourEyesTaskListener.class.getName());

  private final List<String> guardedVariables;

  public FourEyesTaskListener(List<String> guardedVariables) {
    this.guardedVariables = List.copyOf(guardedVariables);
  }

  public List<String> getGuardedVariables() {
    return guardedVariables;
  }

  @Override
  public void notify(DelegateTask task) {
    String event = task.getEventName();
    if (EVENTNAME_ASSIGNMENT.equals(event)) {
      check(task, task.getAssignee(), "may not be assigned to review it", "assignment");
    } else if (EVENTNAME_COMPLETE.equals(event)) {
      String actor = Performers.currentUser();
      if (actor != null) {
        check(task, actor, "may not review it", "completion");
      }
      String assignee = task.getAssignee();
      if (assignee != null && (actor == null || !same(actor, assignee))) {
        check(task, assignee, "may not review it", "completion by the assignee");
      }
    }
  }

  private void check(DelegateTask task, String userId, String refusal, String action) {
    if (userId == null || userId.isBlank()) {
      return;
    }
    for (String variable : guardedVariables) {
      Object value = task.getVariable(variable);
      if (value == null) {
        continue;
      }
      if (same(userId, value.toString())) {
        String taskKey = task.getTaskDefinitionKey();
        String message = String.format(
            "Four-eyes rule: user '%s' performed this work (%s) and %s (task %s, %s refused)",
            userId, variable, refusal, taskKey, action);
        LOG.info(message + " [task id " + task.getId() + ", process instance " + task.getProcessInstanceId() + "]");
        throw new FourEyesViolationException(message, userId, taskKey);
      }
    }
  }

  static boolean same(String a, String b) {
    return a.trim().equalsIgnoreCase(b.trim());
  }
}
