package org.postloan.engine.foureyes;

import java.util.List;
import java.util.logging.Logger;

import org.camunda.bpm.engine.impl.history.event.HistoricVariableUpdateEventEntity;
import org.camunda.bpm.engine.impl.history.event.HistoryEvent;
import org.camunda.bpm.engine.impl.history.handler.HistoryEventHandler;

/**
 * Refuses a person's write of a protected variable, whatever the path: task complete and
 * submit-form with variables, task and task-local variables, process instance variables,
 * modification with variables, message correlation, deletion.
 *
 * <p>Every variable write passes through the engine's history events in the same command (before
 * anything is flushed), whatever API made it, so refusing here rolls the whole command back. Only
 * the plugin's own recording of performers ({@link TrustedWrites}), technical users (workers, the
 * API) and the engine itself (no authenticated user: job executor, timers) write them.
 */
public class ProtectedVariablesHandler implements HistoryEventHandler {

  private static final Logger LOG = Logger.getLogger(ProtectedVariablesHandler.class.getName());

  private final Controls controls;

  public ProtectedVariablesHandler(Controls controls) {
    this.controls = controls;
  }

  @Override
  public void handleEvent(HistoryEvent event) {
    if (!(event instanceof HistoricVariableUpdateEventEntity) || TrustedWrites.active()) {
      return;
    }
    HistoricVariableUpdateEventEntity update = (HistoricVariableUpdateEventEntity) event;
    if ("migrate".equals(update.getEventType())) {
      return; // a migration moves the instance to another version; the value stays as it was
    }
    String name = update.getVariableName();
    if (name == null || !isProtected(name, update.getProcessDefinitionId())) {
      return;
    }
    if (!controls.personActing()) {
      return;
    }
    String user = Controls.currentUser();
    String where = update.getTaskId() != null ? "task " + update.getTaskId() : "process instance "
        + update.getProcessInstanceId();
    String message = String.format(
        "Protected variable: '%s' records who did the work and is written by the engine only; "
            + "user '%s' may not %s it (%s)",
        name, user, verb(update.getEventType()), where);
    LOG.info(message);
    throw new ProtectedVariableException(message, user, name);
  }

  @Override
  public void handleEvents(List<HistoryEvent> events) {
    for (HistoryEvent event : events) {
      handleEvent(event);
    }
  }

  private boolean isProtected(String name, String processDefinitionId) {
    return controls.getProtectedVariables().contains(name)
        || ProcessControls.of(processDefinitionId).isProtected(name);
  }

  private static String verb(String eventType) {
    if ("delete".equals(eventType)) {
      return "delete";
    }
    return "create".equals(eventType) ? "set" : "change";
  }
}
