package org.postloan.engine.foureyes;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

import org.camunda.bpm.engine.delegate.DelegateTask;
import org.camunda.bpm.engine.delegate.TaskListener;
import org.camunda.bpm.engine.history.HistoricTaskInstance;
import org.camunda.bpm.engine.history.UserOperationLogEntry;
import org.camunda.bpm.engine.impl.context.Context;
import org.camunda.bpm.engine.impl.persistence.entity.TaskEntity;

/**
 * Refuses a user who performed earlier work on the same case.
 *
 * <ul>
 *   <li>{@code assignment} (claim, set assignee, delegate, assignee at creation): the new assignee
 *       must not be a performer;</li>
 *   <li>{@code complete} (also form submission): neither the authenticated user of the command nor
 *       the assignee may be a performer.</li>
 * </ul>
 *
 * <p>The performers behind a guarded variable are engine facts only: the variable as the process
 * holds it (protected: no person can write it, see {@link ProtectedVariablesHandler}; task-local
 * copies are ignored), and from the engine's history every user who was assigned or completed a
 * task that records its performer in that variable, in this process instance (each round of a
 * rework counts). Comparison ignores case and surrounding blanks (stricter, never weaker).
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
      String actor = Controls.currentUser();
      if (actor != null) {
        check(task, actor, "may not review it", "completion");
      }
      String assignee = task.getAssignee();
      if (assignee != null && (actor == null || !Controls.same(actor, assignee))) {
        check(task, assignee, "may not review it", "completion by the assignee");
      }
    }
  }

  private void check(DelegateTask task, String userId, String refusal, String action) {
    if (userId == null || userId.isBlank()) {
      return;
    }
    for (Map.Entry<String, String> performer : performers(task).entrySet()) {
      if (Controls.same(userId, performer.getKey())) {
        String taskKey = task.getTaskDefinitionKey();
        String message = String.format(
            "Four-eyes rule: user '%s' performed this work (%s) and %s (task %s, %s refused)",
            userId, performer.getValue(), refusal, taskKey, action);
        LOG.info(message + " [task id " + task.getId() + ", process instance " + task.getProcessInstanceId() + "]");
        throw new FourEyesViolationException(message, userId, taskKey);
      }
    }
  }

  /** Performer (lower case) → the guarded variable that names them. */
  Map<String, String> performers(DelegateTask task) {
    Map<String, String> performers = new LinkedHashMap<>();
    TaskEntity entity = (TaskEntity) task;
    ProcessControls controls = ProcessControls.of(task.getProcessDefinitionId());
    for (String variable : guardedVariables) {
      Object value = entity.getExecution() != null ? entity.getExecution().getVariable(variable) : null;
      if (value != null && !value.toString().isBlank()) {
        performers.putIfAbsent(value.toString().trim().toLowerCase(), variable);
      }
      Set<String> recordingTasks = controls.tasksRecording(variable);
      if (!recordingTasks.isEmpty() && task.getProcessInstanceId() != null) {
        for (String user : historicPerformers(task.getProcessInstanceId(), recordingTasks)) {
          performers.putIfAbsent(user.trim().toLowerCase(), variable);
        }
      }
    }
    return performers;
  }

  /** Who was assigned or completed the tasks with these keys in this process instance. */
  static Set<String> historicPerformers(String processInstanceId, Set<String> taskKeys) {
    return Controls.withoutAuthorization(() -> {
      Set<String> users = new java.util.LinkedHashSet<>();
      var history = Context.getProcessEngineConfiguration().getHistoryService();
      List<HistoricTaskInstance> tasks = history.createHistoricTaskInstanceQuery()
          .processInstanceId(processInstanceId)
          .taskDefinitionKeyIn(taskKeys.toArray(new String[0]))
          .finished().list();
      for (HistoricTaskInstance historic : tasks) {
        if (historic.getAssignee() != null) {
          users.add(historic.getAssignee());
        }
        for (UserOperationLogEntry entry : history.createUserOperationLogQuery()
            .taskId(historic.getId()).operationType(UserOperationLogEntry.OPERATION_TYPE_COMPLETE).list()) {
          if (entry.getUserId() != null) {
            users.add(entry.getUserId());
          }
        }
      }
      return users;
    });
  }
}
