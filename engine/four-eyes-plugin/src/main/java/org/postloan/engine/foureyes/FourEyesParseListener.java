package org.postloan.engine.foureyes;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.camunda.bpm.engine.delegate.TaskListener;
import org.camunda.bpm.engine.impl.bpmn.behavior.UserTaskActivityBehavior;
import org.camunda.bpm.engine.impl.bpmn.parser.AbstractBpmnParseListener;
import org.camunda.bpm.engine.impl.bpmn.parser.BpmnParse;
import org.camunda.bpm.engine.impl.pvm.delegate.ActivityBehavior;
import org.camunda.bpm.engine.impl.pvm.process.ActivityImpl;
import org.camunda.bpm.engine.impl.pvm.process.ScopeImpl;
import org.camunda.bpm.engine.impl.task.TaskDefinition;
import org.camunda.bpm.engine.impl.util.xml.Element;

/**
 * Adds the controls' task listeners: to every user task the ownership rule
 * ({@link TaskOwnershipListener}); to user tasks that declare
 * {@code <camunda:property name="fourEyesAgainst" value="var1,var2"/>} and/or
 * {@code <camunda:property name="recordPerformerAs" value="var"/>} the four-eyes check and the
 * recording of the performer.
 *
 * <p>The listeners are added as built-in listeners: they run before the model's own listeners and
 * also when custom listeners are skipped (e.g. process instance modification).
 */
public class FourEyesParseListener extends AbstractBpmnParseListener {

  public static final String FOUR_EYES_AGAINST = "fourEyesAgainst";
  public static final String RECORD_PERFORMER_AS = "recordPerformerAs";

  private final TaskOwnershipListener ownership;

  public FourEyesParseListener(Controls controls) {
    this.ownership = new TaskOwnershipListener(controls);
  }

  @Override
  public void parseUserTask(Element userTaskElement, ScopeImpl scope, ActivityImpl activity) {
    Set<String> against = propertyValues(userTaskElement, FOUR_EYES_AGAINST);
    Set<String> recordAs = propertyValues(userTaskElement, RECORD_PERFORMER_AS);
    TaskDefinition taskDefinition = taskDefinition(activity);
    if (taskDefinition == null) {
      return;
    }
    // Four eyes first: a refused performer hears the four-eyes rule, not an ownership message.
    if (!against.isEmpty()) {
      FourEyesTaskListener check = new FourEyesTaskListener(new ArrayList<>(against));
      taskDefinition.addBuiltInTaskListener(TaskListener.EVENTNAME_ASSIGNMENT, check);
      taskDefinition.addBuiltInTaskListener(TaskListener.EVENTNAME_COMPLETE, check);
    }
    for (String event : TaskOwnershipListener.events()) {
      taskDefinition.addBuiltInTaskListener(event, ownership);
    }
    if (!recordAs.isEmpty()) {
      taskDefinition.addBuiltInTaskListener(TaskListener.EVENTNAME_COMPLETE,
          new RecordPerformerTaskListener(new ArrayList<>(recordAs)));
    }
  }

  static TaskDefinition taskDefinition(ActivityImpl activity) {
    ActivityBehavior behavior = activity.getActivityBehavior();
    if (behavior instanceof UserTaskActivityBehavior) {
      return ((UserTaskActivityBehavior) behavior).getTaskDefinition();
    }
    return null;
  }

  /** All values of camunda:property elements with that name, each split at commas. */
  static Set<String> propertyValues(Element element, String name) {
    Set<String> values = new LinkedHashSet<>();
    Element extensionElements = element.element("extensionElements");
    if (extensionElements == null) {
      return values;
    }
    Element properties = extensionElements.elementNS(BpmnParse.CAMUNDA_BPMN_EXTENSIONS_NS, "properties");
    if (properties == null) {
      return values;
    }
    List<Element> propertyElements = properties.elementsNS(BpmnParse.CAMUNDA_BPMN_EXTENSIONS_NS, "property");
    for (Element property : propertyElements) {
      if (!name.equals(property.attribute("name"))) {
        continue;
      }
      String value = property.attribute("value");
      if (value == null) {
        continue;
      }
      for (String part : value.split(",")) {
        String trimmed = part.trim();
        if (!trimmed.isEmpty()) {
          values.add(trimmed);
        }
      }
    }
    return values;
  }
}
