package org.postloan.engine.foureyes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.UUID;

import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.ProcessEngineConfiguration;
import org.camunda.bpm.engine.TaskService;
import org.camunda.bpm.engine.impl.cfg.StandaloneInMemProcessEngineConfiguration;
import org.camunda.bpm.engine.runtime.ProcessInstance;
import org.camunda.bpm.engine.task.Task;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class FourEyesPluginTest {

  private static ProcessEngine engine;
  private static TaskService tasks;

  @BeforeAll
  static void startEngine() {
    StandaloneInMemProcessEngineConfiguration config = new StandaloneInMemProcessEngineConfiguration();
    config.setJdbcUrl("jdbc:h2:mem:foureyes-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
    config.setDatabaseSchemaUpdate(ProcessEngineConfiguration.DB_SCHEMA_UPDATE_CREATE_DROP);
    config.setJobExecutorActivate(false);
    config.setProcessEngineName("foureyes-test");
    config.getProcessEnginePlugins().add(new FourEyesPlugin());
    engine = config.buildProcessEngine();
    tasks = engine.getTaskService();
    engine.getRepositoryService().createDeployment()
        .addClasspathResource("four-eyes-test.bpmn").deploy();
  }

  @AfterAll
  static void stopEngine() {
    engine.close();
  }

  private ProcessInstance startAndPerform(String performer, Map<String, Object> extra) {
    Map<String, Object> vars = new java.util.HashMap<>(extra);
    vars.put("performerCandidate", performer);
    ProcessInstance pi = engine.getRuntimeService().startProcessInstanceByKey("four_eyes_test", vars);
    Task perform = task(pi, "perform");
    as(performer, () -> tasks.complete(perform.getId()));
    return pi;
  }

  private Task task(ProcessInstance pi, String key) {
    return tasks.createTaskQuery().processInstanceId(pi.getId()).taskDefinitionKey(key).singleResult();
  }

  private void as(String user, Runnable action) {
    engine.getIdentityService().setAuthenticatedUserId(user);
    try {
      action.run();
    } finally {
      engine.getIdentityService().clearAuthentication();
    }
  }

  private void refused(String user, Runnable action) {
    FourEyesViolationException e = assertThrows(FourEyesViolationException.class, () -> as(user, action));
    assertTrue(e.getMessage().startsWith("Four-eyes rule: user '"), e.getMessage());
    assertTrue(e.getMessage().contains("(task review"), e.getMessage());
  }

  @Test
  void recordsPerformerAndRefusesHimOnEveryPath() {
    ProcessInstance pi = startAndPerform("am_li", Map.of());
    assertEquals("am_li", engine.getRuntimeService().getVariable(pi.getId(), "inspector"));
    String review = task(pi, "review").getId();

    refused("am_li", () -> tasks.claim(review, "am_li"));
    refused("admin", () -> tasks.setAssignee(review, "AM_LI "));
    refused("am_li", () -> tasks.complete(review));
    refused("am_li", () -> engine.getFormService().submitTaskForm(review, Map.of()));
    // the catch-all error boundary did not fire, the task is untouched
    Task still = task(pi, "review");
    assertEquals(review, still.getId());
    assertNull(still.getAssignee());

    as("po_wang", () -> tasks.claim(review, "po_wang"));
    refused("admin", () -> tasks.delegateTask(review, "am_li"));
    refused("am_li", () -> tasks.complete(review));
    as("po_wang", () -> tasks.complete(review));
    assertNull(engine.getRuntimeService().createProcessInstanceQuery().processInstanceId(pi.getId()).singleResult());
  }

  @Test
  void withoutAuthenticationTheAssigneeCounts() {
    ProcessInstance pi = engine.getRuntimeService().startProcessInstanceByKey("four_eyes_test",
        Map.of("performerCandidate", "am_zhao"));
    tasks.complete(task(pi, "perform").getId());
    assertEquals("am_zhao", engine.getRuntimeService().getVariable(pi.getId(), "inspector"));
    String review = task(pi, "review").getId();
    assertThrows(FourEyesViolationException.class, () -> tasks.setAssignee(review, "am_zhao"));
    tasks.setAssignee(review, "po_chen");
    tasks.complete(review);
  }

  @Test
  void everyListedVariableIsGuarded() {
    ProcessInstance pi = startAndPerform("am_li", Map.of("raiser", "po_sun"));
    String review = task(pi, "review").getId();
    refused("po_sun", () -> tasks.claim(review, "po_sun"));
    as("po_wang", () -> tasks.claim(review, "po_wang"));
    as("po_wang", () -> tasks.complete(review));
  }
}
