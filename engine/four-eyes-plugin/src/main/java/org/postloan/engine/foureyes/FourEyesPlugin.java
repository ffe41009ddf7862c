package org.postloan.engine.foureyes;

import java.util.ArrayList;
import java.util.List;

import org.camunda.bpm.engine.impl.bpmn.parser.BpmnParseListener;
import org.camunda.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.camunda.bpm.engine.impl.interceptor.CommandInterceptor;

/**
 * Process engine plugin enforcing the four-eyes principle on user tasks.
 *
 * <p>It registers a BPMN parse listener that adds task listeners to every user task declaring the
 * Camunda extension properties {@value FourEyesParseListener#FOUR_EYES_AGAINST} and/or
 * {@value FourEyesParseListener#RECORD_PERFORMER_AS}, and an outermost command interceptor that
 * unwraps a {@link FourEyesViolationException} from the engine's "Exception while invoking
 * TaskListener" wrapper so that the REST API answers 403 with the four-eyes message.
 *
 * <p>Plain Java, no Spring: usable as a Spring bean and from Camunda Run's
 * {@code camunda.bpm.run.process-engine-plugins}.
 */
public class FourEyesPlugin extends AbstractProcessEnginePlugin {

  @Override
  public void preInit(ProcessEngineConfigurationImpl configuration) {
    List<BpmnParseListener> parseListeners = configuration.getCustomPreBPMNParseListeners();
    if (parseListeners == null) {
      parseListeners = new ArrayList<>();
      configuration.setCustomPreBPMNParseListeners(parseListeners);
    }
    parseListeners.add(new FourEyesParseListener());

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
  }

  @Override
  public String toString() {
    return "FourEyesPlugin";
  }
}
