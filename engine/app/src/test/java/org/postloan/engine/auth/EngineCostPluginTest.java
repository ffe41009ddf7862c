package org.postloan.engine.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.UUID;

import org.camunda.bpm.engine.AuthorizationException;
import org.camunda.bpm.engine.IdentityService;
import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.ProcessEngineConfiguration;
import org.camunda.bpm.engine.externaltask.LockedExternalTask;
import org.camunda.bpm.engine.identity.User;
import org.camunda.bpm.engine.impl.cfg.StandaloneInMemProcessEngineConfiguration;
import org.camunda.bpm.model.bpmn.Bpmn;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The plugin on a real in-memory engine with authorizations on. */
class EngineCostPluginTest {

  private static ProcessEngine engine;
  private static IdentityService identity;

  @BeforeAll
  static void startEngine() {
    StandaloneInMemProcessEngineConfiguration config = new StandaloneInMemProcessEngineConfiguration();
    config.setJdbcUrl("jdbc:h2:mem:enginecost-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
    config.setDatabaseSchemaUpdate(ProcessEngineConfiguration.DB_SCHEMA_UPDATE_CREATE_DROP);
    config.setJobExecutorActivate(false);
    config.setProcessEngineName("enginecost-test");
    config.setAuthorizationEnabled(true);
    config.setLoginMaxAttempts(3);
    config.setLoginDelayBase(0); // no delay after a failed attempt (the lockout still counts)
    config.setGeneralResourceWhitelistPattern("[a-zA-Z0-9][a-zA-Z0-9_.@-]*|camunda-admin");
    EngineCostPlugin plugin = new EngineCostPlugin();
    plugin.setTechnicalFetchUsers("svc-workers");
    config.getProcessEnginePlugins().add(plugin);
    engine = config.buildProcessEngine();
    identity = engine.getIdentityService();
    for (String id : List.of("svc-workers", "clerk", "ann")) {
      User user = identity.newUser(id);
      user.setPassword("pw-" + id);
      identity.saveUser(user);
    }
    engine.getRepositoryService().createDeployment().addModelInstance("p.bpmn",
        Bpmn.createExecutableProcess("p").camundaHistoryTimeToLive(1).startEvent()
            .serviceTask("work").camundaExternalTask("t").endEvent().done()).deploy();
    for (int i = 0; i < 5; i++) {
      engine.getRuntimeService().startProcessInstanceByKey("p");
    }
  }

  @AfterAll
  static void stopEngine() {
    engine.close();
  }

  @BeforeEach
  void fresh() {
    CredentialCache.configureShared(60_000, 100);
  }

  private static boolean login(String user, String password) {
    return CredentialCache.shared().authenticate(user, password, identity::checkPassword);
  }

  private static <T> T as(String user, java.util.function.Supplier<T> action) {
    identity.setAuthenticatedUserId(user);
    try {
      return action.get();
    } finally {
      identity.clearAuthentication();
    }
  }

  @Test
  void aChangedPasswordRefusesTheOldOneAtOnce() {
    assertTrue(login("ann", "pw-ann"));
    assertTrue(login("ann", "pw-ann"));
    assertEquals(1, CredentialCache.shared().size());
    User ann = identity.createUserQuery().userId("ann").singleResult();
    ann.setPassword("new-ann");
    identity.saveUser(ann);
    assertFalse(login("ann", "pw-ann"));
    assertTrue(login("ann", "new-ann"));
    ann = identity.createUserQuery().userId("ann").singleResult();
    ann.setPassword("pw-ann");
    identity.saveUser(ann);
  }

  @Test
  void aLockedUserIsRefusedEvenWithACachedPassword() {
    User locked = identity.newUser("locky");
    locked.setPassword("pw-locky");
    identity.saveUser(locked);
    assertTrue(login("locky", "pw-locky"));
    for (int i = 0; i < 3; i++) {
      assertFalse(login("locky", "wrong"));
    }
    assertFalse(login("locky", "pw-locky"), "locked by the engine's login-attempt lockout");
    identity.unlockUser("locky");
    assertTrue(login("locky", "pw-locky"));
    identity.deleteUser("locky");
    assertFalse(login("locky", "pw-locky"), "a deleted user is refused at once");
  }

  @Test
  void theTechnicalUserFetchesWithoutAuthorizationChecksOnlyForTheFetch() {
    // Neither user holds any authorization in this engine.
    List<LockedExternalTask> clerk = as("clerk", () -> engine.getExternalTaskService()
        .fetchAndLock(10, "clerk").topic("t", 60_000).execute());
    assertEquals(0, clerk.size(), "another user's fetch stays filtered");
    List<LockedExternalTask> worker = as("svc-workers", () -> engine.getExternalTaskService()
        .fetchAndLock(2, "svc").topic("t", 60_000).execute());
    assertEquals(2, worker.size());
    String taskId = worker.get(0).getId();
    String pid = worker.get(0).getProcessInstanceId();
    assertThrows(AuthorizationException.class, () -> as("svc-workers", () -> {
      engine.getExternalTaskService().complete(taskId, "svc");
      return null;
    }), "completing stays checked");
    assertThrows(AuthorizationException.class, () -> as("svc-workers", () -> {
      engine.getRuntimeService().setVariable(pid, "x", 1);
      return null;
    }), "setting variables stays checked");
    assertEquals(0L, (long) as("svc-workers", () -> engine.getRuntimeService()
        .createProcessInstanceQuery().count()), "queries stay filtered");
  }
}
