package org.postloan.engine.foureyes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
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
    config.setHistory(ProcessEngineConfiguration.HISTORY_FULL);
    config.setGeneralResourceWhitelistPattern("[a-zA-Z0-9][a-zA-Z0-9_.@-]*|camunda-admin");
    config.getProcessEnginePlugins().add(new FourEyesPlugin());
    engine = config.buildProcessEngine();
    tasks = engine.getTaskService();
    var identity = engine.getIdentityService();
    for (Map.Entry<String, List<String>> person : GROUPS.entrySet()) {
      identity.saveUser(identity.newUser(person.getKey()));
      for (String group : person.getValue()) {
        if (identity.createGroupQuery().groupId(group).count() == 0) {
          identity.saveGroup(identity.newGroup(group));
        }
        identity.createMembership(person.getKey(), group);
      }
    }
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

  /** Group memberships of the test's people, as the REST authentication would carry them. */
  private static final Map<String, List<String>> GROUPS = Map.of(
      "po_wang", List.of("g"), "po_chen", List.of("g"), "po_sun", List.of("g"),
      "am_li", List.of("g", "am"), "am_zhang", List.of("am"), "boss", List.of("task-supervisors"),
      "svc", List.of("postloan-technical"), "admin", List.of("camunda-admin"));

  private void as(String user, Runnable action) {
    engine.getIdentityService().setAuthentication(user, GROUPS.getOrDefault(user, List.of()));
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

  private void protectedRefused(String user, Runnable action) {
    ProtectedVariableException e = assertThrows(ProtectedVariableException.class, () -> as(user, action));
    assertTrue(e.getMessage().startsWith("Protected variable: '"), e.getMessage());
  }

  private void ownershipRefused(String user, Runnable action) {
    TaskOwnershipException e = assertThrows(TaskOwnershipException.class, () -> as(user, action));
    assertTrue(e.getMessage().startsWith("Task ownership: user '" + user + "'"), e.getMessage());
  }

  @Test
  void aPersonCannotWriteTheRecordedPerformerByAnyPath() {
    ProcessInstance pi = startAndPerform("am_li", Map.of());
    String review = task(pi, "review").getId();
    var runtime = engine.getRuntimeService();
    Map<String, Object> colleague = Map.of("inspector", "am_zhang");
    protectedRefused("am_li", () -> tasks.complete(review, colleague));
    protectedRefused("am_li", () -> engine.getFormService().submitTaskForm(review, colleague));
    protectedRefused("am_li", () -> tasks.setVariables(review, colleague));
    protectedRefused("am_li", () -> tasks.setVariable(review, "inspector", "am_zhang"));
    protectedRefused("am_li", () -> tasks.setVariableLocal(review, "inspector", "am_zhang"));
    protectedRefused("am_li", () -> tasks.removeVariable(review, "inspector"));
    protectedRefused("admin", () -> runtime.setVariable(pi.getId(), "inspector", "am_zhang"));
    protectedRefused("admin", () -> runtime.createProcessInstanceModification(pi.getId())
        .startBeforeActivity("review").setVariable("inspector", "am_zhang").execute());
    protectedRefused("am_li", () -> tasks.setVariableLocal(review, "raiser", "po_wang"));
    assertEquals("am_li", runtime.getVariable(pi.getId(), "inspector"));
    assertNull(tasks.getVariableLocal(review, "inspector"));
    // still the same one review, refused to the inspector
    assertEquals(1, tasks.createTaskQuery().processInstanceId(pi.getId()).count());
    refused("am_li", () -> tasks.claim(review, "am_li"));
    // the system's own writes pass: a technical user, the engine itself
    as("svc", () -> runtime.setVariable(pi.getId(), "raiser", "po_sun"));
    runtime.setVariable(pi.getId(), "raiser", "po_sun");
    // other variables stay free for the people doing the work
    as("po_wang", () -> tasks.setVariable(review, "review_comment", "fine"));
  }

  @Test
  void theHistoryNamesThePerformerEvenWhenTheVariableIsGone() {
    ProcessInstance pi = startAndPerform("am_li", Map.of());
    String review = task(pi, "review").getId();
    as("svc", () -> engine.getRuntimeService().removeVariable(pi.getId(), "inspector"));
    refused("am_li", () -> tasks.claim(review, "am_li"));
    refused("am_li", () -> tasks.complete(review));
  }

  @Test
  void tasksOnlyForTheirOwners() {
    ProcessInstance pi = engine.getRuntimeService().startProcessInstanceByKey("four_eyes_test",
        Map.of("performerCandidate", "am_li"));
    String perform = task(pi, "perform").getId();
    // a colleague can neither take the account manager's task nor complete it
    ownershipRefused("am_zhang", () -> tasks.setAssignee(perform, "am_zhang"));
    assertThrows(org.camunda.bpm.engine.TaskAlreadyClaimedException.class,
        () -> as("am_zhang", () -> tasks.claim(perform, "am_zhang")));
    ownershipRefused("am_zhang", () -> tasks.complete(perform));
    ownershipRefused("am_li", () -> tasks.setAssignee(perform, "am_zhang"));
    ownershipRefused("am_li", () -> tasks.delegateTask(perform, "am_zhang"));
    ownershipRefused("am_zhang", () -> tasks.setAssignee(perform, null));
    ownershipRefused("am_li", () -> tasks.addCandidateUser(perform, "am_zhang"));
    ownershipRefused("am_li", () -> tasks.setOwner(perform, "am_zhang"));
    assertEquals("am_li", task(pi, "perform").getAssignee());
    // released by its holder, it is still only the designated person's to take
    as("am_li", () -> tasks.setAssignee(perform, null));
    ownershipRefused("am_zhang", () -> tasks.claim(perform, "am_zhang"));
    as("am_li", () -> tasks.claim(perform, "am_li"));
    // a supervisor hands it on, to someone who may hold it only
    ownershipRefused("boss", () -> tasks.setAssignee(perform, "po_stranger"));
    as("boss", () -> tasks.setAssignee(perform, "am_zhang"));
    assertEquals(1, engine.getHistoryService().createUserOperationLogQuery().taskId(perform)
        .operationType("Assign").userId("boss").count());
    ownershipRefused("am_li", () -> tasks.complete(perform));
    as("am_zhang", () -> tasks.complete(perform));
    assertEquals("am_zhang", engine.getRuntimeService().getVariable(pi.getId(), "inspector"));

    String review = task(pi, "review").getId();
    ownershipRefused("am_stranger", () -> tasks.claim(review, "am_stranger"));
    ownershipRefused("po_chen", () -> tasks.setAssignee(review, "po_wang"));
    as("po_chen", () -> tasks.claim(review, "po_chen"));
    ownershipRefused("po_wang", () -> tasks.complete(review));
    ownershipRefused("po_wang", () -> tasks.setAssignee(review, "po_wang"));
    as("po_chen", () -> tasks.complete(review));
  }
}
