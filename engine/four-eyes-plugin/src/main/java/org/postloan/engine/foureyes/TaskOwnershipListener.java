package org.postloan.engine.foureyes;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

import org.camunda.bpm.engine.delegate.DelegateTask;
import org.camunda.bpm.engine.delegate.Expression;
import org.camunda.bpm.engine.delegate.TaskListener;
import org.camunda.bpm.engine.impl.context.Context;
import org.camunda.bpm.engine.impl.persistence.entity.PropertyChange;
import org.camunda.bpm.engine.impl.persistence.entity.TaskEntity;
import org.camunda.bpm.engine.impl.task.TaskDefinition;
import org.camunda.bpm.engine.task.DelegationState;
import org.camunda.bpm.engine.task.IdentityLink;

/**
 * Tasks only for their owners, on every user task of every process.
 *
 * <p>Who may hold a task: where the model names an assignee (e.g. {@code ${account_manager}}),
 * that person alone; otherwise the task's candidate users and the members of its candidate groups.
 *
 * <ul>
 *   <li>A person may claim (or assign to themself) only a task they may hold and nobody else
 *       holds; they may give back only their own task.</li>
 *   <li>Handing a task to another person (assign, delegate, identity link of type assignee,
 *       changing the owner) is for supervisors only (configured groups), and only to someone who
 *       may hold it. The engine's user operation log records who did it; this listener logs it.</li>
 *   <li>A person completes only a task they hold, or an unassigned one they may hold.</li>
 * </ul>
 * The engine itself (no authenticated user), technical users and the model's own assignee at
 * creation are not restricted.
 */
public class TaskOwnershipListener implements TaskListener {

  private static final Logger LOG = Logger.getLogger(TaskOwnershipListener.class.getName());

  private final Controls controls;

  public TaskOwnershipListener(Controls controls) {
    this.controls = controls;
  }

  @Override
  public void notify(DelegateTask task) {
    if (!controls.personActing()) {
      return;
    }
    TaskEntity entity = (TaskEntity) task;
    String actor = Controls.currentUser();
    String event = task.getEventName();
    if (EVENTNAME_ASSIGNMENT.equals(event)) {
      onAssignment(entity, actor);
    } else if (EVENTNAME_COMPLETE.equals(event)) {
      onComplete(entity, actor);
    } else if (EVENTNAME_UPDATE.equals(event)) {
      onUpdate(entity, actor);
    }
  }

  private void onAssignment(TaskEntity task, String actor) {
    if (createdInThisCommand(task)) {
      return; // the model's own assignee, set as the task is created
    }
    String previous = previousAssignee(task);
    String next = task.getAssignee();
    if (controls.isSupervisor()) {
      if (next != null && !mayHold(task, next, Controls.groupsOf(next), true)) {
        refuse(task, actor, String.format("user '%s' is not among those who may hold this task", next));
      }
      LOG.info(String.format("Task %s (%s) reassigned from '%s' to '%s' by supervisor '%s'",
          task.getId(), task.getTaskDefinitionKey(), previous, next, actor));
      return;
    }
    if (next == null) {
      if (previous != null && !Controls.same(previous, actor)) {
        refuse(task, actor, String.format("only '%s', who holds it, or a supervisor may release it", previous));
      }
      return;
    }
    if (Controls.same(next, actor)) {
      if (previous != null && !Controls.same(previous, actor)) {
        refuse(task, actor, String.format("it belongs to '%s'; only a supervisor may reassign it", previous));
      }
      if (!mayHold(task, actor, Controls.currentGroups(), false)) {
        refuse(task, actor, "they are not among those who may hold it");
      }
      return;
    }
    boolean resolvingBack = task.getDelegationState() == DelegationState.RESOLVED
        && Controls.same(next, task.getOwner()) && Controls.same(previous, actor);
    if (!resolvingBack) {
      refuse(task, actor, String.format("only a supervisor may hand a task to another person ('%s')", next));
    }
  }

  private void onComplete(TaskEntity task, String actor) {
    String assignee = task.getAssignee();
    if (assignee != null) {
      if (!Controls.same(assignee, actor)) {
        refuse(task, actor, String.format("it is assigned to '%s', who alone may complete it", assignee));
      }
    } else if (!mayHold(task, actor, Controls.currentGroups(), false)) {
      refuse(task, actor, "they are not among those who may hold it");
    }
  }

  private void onUpdate(TaskEntity task, String actor) {
    Map<String, PropertyChange> changes = task.getPropertyChanges();
    if (changes != null && changes.containsKey("owner") && !controls.isSupervisor()) {
      refuse(task, actor, "only a supervisor may change a task's owner");
    }
  }

  /**
   * Whether {@code user} may hold the task. Where the model names an assignee, only that person
   * may take it themself; a supervisor may also give it to a member of its candidate groups.
   */
  static boolean mayHold(TaskEntity task, String user, Collection<String> groups, boolean givenBySupervisor) {
    String designated = designatedAssignee(task);
    if (designated != null) {
      if (Controls.same(designated, user)) {
        return true;
      }
      if (!givenBySupervisor) {
        return false;
      }
    }
    for (IdentityLink candidate : task.getCandidates()) {
      if (candidate.getUserId() != null && Controls.same(candidate.getUserId(), user)) {
        return true;
      }
      if (candidate.getGroupId() != null && groups.contains(candidate.getGroupId())) {
        return true;
      }
    }
    return false;
  }

  /** The assignee the model names for this task, evaluated now; null when it names none. */
  static String designatedAssignee(TaskEntity task) {
    TaskDefinition definition = task.getTaskDefinition();
    Expression expression = definition == null ? null : definition.getAssigneeExpression();
    if (expression == null || task.getExecution() == null) {
      return null;
    }
    try {
      Object value = expression.getValue(task.getExecution());
      return value == null || value.toString().isBlank() ? "" : value.toString();
    } catch (RuntimeException e) {
      return ""; // named but not resolvable: nobody takes it by themself
    }
  }

  private static boolean createdInThisCommand(TaskEntity task) {
    var commandContext = Context.getCommandContext();
    return commandContext != null && commandContext.getDbEntityManager().getDbEntityCache().isTransient(task);
  }

  private static String previousAssignee(TaskEntity task) {
    Map<String, PropertyChange> changes = task.getPropertyChanges();
    PropertyChange change = changes == null ? null : changes.get(TaskEntity.ASSIGNEE);
    if (change == null || change.getOrgValue() == null) {
      return null;
    }
    String previous = change.getOrgValue().toString();
    return previous.isBlank() ? null : previous;
  }

  private static void refuse(TaskEntity task, String actor, String why) {
    String message = String.format("Task ownership: user '%s' may not do this on task %s (%s): %s",
        actor, task.getTaskDefinitionKey(), task.getId(), why);
    LOG.info(message);
    throw new TaskOwnershipException(message, actor);
  }

  static List<String> events() {
    return List.of(EVENTNAME_ASSIGNMENT, EVENTNAME_COMPLETE, EVENTNAME_UPDATE);
  }
}
