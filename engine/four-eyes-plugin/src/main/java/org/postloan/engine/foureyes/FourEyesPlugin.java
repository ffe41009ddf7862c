package org.postloan.engine.foureyes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.logging.Logger;
import java.util.stream.Collectors;

import org.camunda.bpm.engine.ProcessEngineException;
import org.camunda.bpm.engine.impl.bpmn.parser.BpmnParseListener;
import org.camunda.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.camunda.bpm.engine.impl.history.HistoryLevel;
import org.camunda.bpm.engine.impl.history.event.HistoryEventTypes;
import org.camunda.bpm.engine.impl.history.handler.HistoryEventHandler;
import org.camunda.bpm.engine.impl.delegate.DefaultDelegateInterceptor;
import org.camunda.bpm.engine.impl.interceptor.CommandInterceptor;
import org.camunda.bpm.engine.impl.interceptor.DelegateInterceptor;

/**
 * Process engine plugin with the controls of the post-loan system:
 *
 * <ul>
 *   <li>four eyes on user tasks that declare {@value FourEyesParseListener#FOUR_EYES_AGAINST},
 *       the performer recorded by the engine where they declare
 *       {@value FourEyesParseListener#RECORD_PERFORMER_AS} ({@link FourEyesTaskListener},
 *       {@link RecordPerformerTaskListener});</li>
 *   <li>those variables (and each process's {@code protectedVariables}) written by the engine and
 *       technical users only ({@link ProtectedVariablesHandler});</li>
 *   <li>tasks only for their owners on every user task ({@link TaskOwnershipListener},
 *       {@link IdentityLinkGuard});</li>
 *   <li>refusals answered as HTTP 403 with their message ({@link FourEyesExceptionInterceptor}).</li>
 * </ul>
 *
 * <p>Settings (bean properties; comma-separated): {@code technicalGroups} (default
 * {@value #DEFAULT_TECHNICAL_GROUPS}), {@code supervisorGroups} (default
 * {@value #DEFAULT_SUPERVISOR_GROUPS}), {@code protectedVariables} (protected in every process,
 * default none). Plain Java, no Spring: usable as a Spring bean and from Camunda Run's
 * {@code camunda.bpm.run.process-engine-plugins} with {@code plugin-parameters}.
 */
public class FourEyesPlugin extends AbstractProcessEnginePlugin {

  public static final String DEFAULT_TECHNICAL_GROUPS = "postloan-technical";
  public static final String DEFAULT_SUPERVISOR_GROUPS = "task-supervisors,camunda-admin";

  private static final Logger LOG = Logger.getLogger(FourEyesPlugin.class.getName());

  private String technicalGroups = DEFAULT_TECHNICAL_GROUPS;
  private String supervisorGroups = DEFAULT_SUPERVISOR_GROUPS;
  private String protectedVariables = "";
  private Controls controls;

  public void setTechnicalGroups(String technicalGroups) {
    this.technicalGroups = technicalGroups;
  }

  public void setSupervisorGroups(String supervisorGroups) {
    this.supervisorGroups = supervisorGroups;
  }

  public void setProtectedVariables(String protectedVariables) {
    this.protectedVariables = protectedVariables;
  }

  public Controls getControls() {
    return controls;
  }

  @Override
  public void preInit(ProcessEngineConfigurationImpl configuration) {
    controls = new Controls(split(technicalGroups), split(supervisorGroups), split(protectedVariables));

    List<BpmnParseListener> parseListeners = configuration.getCustomPreBPMNParseListeners();
    if (parseListeners == null) {
      parseListeners = new ArrayList<>();
      configuration.setCustomPreBPMNParseListeners(parseListeners);
    }
    parseListeners.add(new FourEyesParseListener(controls));

    List<HistoryEventHandler> handlers = configuration.getCustomHistoryEventHandlers();
    if (handlers == null) {
      handlers = new ArrayList<>();
      configuration.setCustomHistoryEventHandlers(handlers);
    }
    handlers.add(0, new ProtectedVariablesHandler(controls));

    List<CommandInterceptor> txRequired = configuration.getCustomPreCommandInterceptorsTxRequired();
    if (txRequired == null) {
      txRequired = new ArrayList<>();
      configuration.setCustomPreCommandInterceptorsTxRequired(txRequired);
    }
    txRequired.add(0, new FourEyesExceptionInterceptor());

    List<CommandInterceptor> txRequiresNew = configuration.getCustomPreCommandInterceptorsTxRequiresNew();
    if (txRequiresNew == null) {
      txRequiresNew = new ArrayList<>();
      configuration.setCustomPreCommandInterceptorsTxRequiresNew(txRequiresNew);
    }
    txRequiresNew.add(0, new FourEyesExceptionInterceptor());

    List<CommandInterceptor> postTxRequired = configuration.getCustomPostCommandInterceptorsTxRequired();
    if (postTxRequired == null) {
      postTxRequired = new ArrayList<>();
      configuration.setCustomPostCommandInterceptorsTxRequired(postTxRequired);
    }
    postTxRequired.add(new IdentityLinkGuard(controls));

    List<CommandInterceptor> postTxRequiresNew = configuration.getCustomPostCommandInterceptorsTxRequiresNew();
    if (postTxRequiresNew == null) {
      postTxRequiresNew = new ArrayList<>();
      configuration.setCustomPostCommandInterceptorsTxRequiresNew(postTxRequiresNew);
    }
    postTxRequiresNew.add(new IdentityLinkGuard(controls));
  }

  @Override
  public void postInit(ProcessEngineConfigurationImpl configuration) {
    // The protection of variables and the history-based four-eyes check read the history: a level
    // that records neither variable updates nor task instances would switch the controls off.
    HistoryLevel level = configuration.getHistoryLevel();
    if (level == null || !level.isHistoryEventProduced(HistoryEventTypes.VARIABLE_INSTANCE_UPDATE, null)
        || !level.isHistoryEventProduced(HistoryEventTypes.TASK_INSTANCE_COMPLETE, null)) {
      throw new ProcessEngineException("The post-loan controls need history level 'audit' or 'full' "
          + "(variable and task history); configured: " + (level == null ? "none" : level.getName()));
    }
    DelegateInterceptor delegates = configuration.getDelegateInterceptor();
    configuration.setDelegateInterceptor(new TrustedModelCode(
        delegates != null ? delegates : new DefaultDelegateInterceptor()));
    LOG.info(String.format("Post-loan controls on: technical groups %s, supervisor groups %s, "
        + "protected everywhere %s, history level %s", controls.getTechnicalGroups(),
        controls.getSupervisorGroups(), controls.getProtectedVariables(), level.getName()));
  }

  private static List<String> split(String value) {
    if (value == null) {
      return List.of();
    }
    return Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty())
        .collect(Collectors.toList());
  }

  @Override
  public String toString() {
    return "FourEyesPlugin";
  }
}
