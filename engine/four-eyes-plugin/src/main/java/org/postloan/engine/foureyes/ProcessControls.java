package org.postloan.engine.foureyes;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.camunda.bpm.engine.impl.context.Context;
import org.camunda.bpm.model.bpmn.BpmnModelInstance;
import org.camunda.bpm.model.bpmn.instance.BaseElement;
import org.camunda.bpm.model.bpmn.instance.ExtensionElements;
import org.camunda.bpm.model.bpmn.instance.Process;
import org.camunda.bpm.model.bpmn.instance.UserTask;
import org.camunda.bpm.model.bpmn.instance.camunda.CamundaProperties;
import org.camunda.bpm.model.bpmn.instance.camunda.CamundaProperty;

/**
 * What one deployed process declares for the controls, read from its model (so it holds after a
 * restart, before anything was parsed again): which variables are protected, and which user
 * tasks record their performer in which variable.
 *
 * <p>Protected: every variable a user task names in {@code fourEyesAgainst} or
 * {@code recordPerformerAs}, plus the process's own {@code protectedVariables} property (e.g. the
 * account manager an assignee expression reads).
 */
final class ProcessControls {

  static final String PROTECTED_VARIABLES = "protectedVariables";

  private static final Map<String, ProcessControls> BY_DEFINITION = new ConcurrentHashMap<>();

  private final Set<String> protectedVariables;
  private final Map<String, Set<String>> recordingTasks;

  private ProcessControls(Set<String> protectedVariables, Map<String, Set<String>> recordingTasks) {
    this.protectedVariables = protectedVariables;
    this.recordingTasks = recordingTasks;
  }

  static ProcessControls of(String processDefinitionId) {
    if (processDefinitionId == null) {
      return new ProcessControls(Set.of(), Map.of());
    }
    return BY_DEFINITION.computeIfAbsent(processDefinitionId, ProcessControls::read);
  }

  boolean isProtected(String variable) {
    return protectedVariables.contains(variable);
  }

  /** Keys of the user tasks whose performer is recorded in {@code variable}. */
  Set<String> tasksRecording(String variable) {
    return recordingTasks.getOrDefault(variable, Set.of());
  }

  private static ProcessControls read(String processDefinitionId) {
    BpmnModelInstance model = Context.getProcessEngineConfiguration().getDeploymentCache()
        .findBpmnModelInstanceForProcessDefinition(processDefinitionId);
    Set<String> protectedNames = new LinkedHashSet<>();
    Map<String, Set<String>> recording = new LinkedHashMap<>();
    if (model == null) {
      return new ProcessControls(protectedNames, recording);
    }
    for (Process process : model.getModelElementsByType(Process.class)) {
      protectedNames.addAll(values(process, PROTECTED_VARIABLES));
    }
    for (UserTask task : model.getModelElementsByType(UserTask.class)) {
      protectedNames.addAll(values(task, FourEyesParseListener.FOUR_EYES_AGAINST));
      for (String variable : values(task, FourEyesParseListener.RECORD_PERFORMER_AS)) {
        protectedNames.add(variable);
        recording.computeIfAbsent(variable, k -> new LinkedHashSet<>()).add(task.getId());
      }
    }
    return new ProcessControls(Set.copyOf(protectedNames), recording);
  }

  /** Values of the element's camunda:property entries with that name, split at commas. */
  static Set<String> values(BaseElement element, String name) {
    Set<String> values = new LinkedHashSet<>();
    ExtensionElements extensions = element.getExtensionElements();
    if (extensions == null) {
      return values;
    }
    Collection<CamundaProperties> all = extensions.getChildElementsByType(CamundaProperties.class);
    for (CamundaProperties properties : all) {
      for (CamundaProperty property : properties.getCamundaProperties()) {
        if (!name.equals(property.getCamundaName()) || property.getCamundaValue() == null) {
          continue;
        }
        for (String part : property.getCamundaValue().split(",")) {
          if (!part.trim().isEmpty()) {
            values.add(part.trim());
          }
        }
      }
    }
    return values;
  }
}
