package org.postloan.engine.auth;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;
import java.util.stream.Collectors;

import org.camunda.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.camunda.bpm.engine.impl.interceptor.CommandInterceptor;

/**
 * Engine-side cost per request: keeps the REST credentials cache in step with identity changes
 * ({@link IdentityChangeInterceptor}) and runs fetchAndLock of the technical users without
 * authorization joins ({@link TechnicalFetchInterceptor}). Setting {@code technicalFetchUsers}:
 * comma-separated user ids, empty for none.
 */
public class EngineCostPlugin extends AbstractProcessEnginePlugin {

  private static final Logger LOG = Logger.getLogger(EngineCostPlugin.class.getName());

  private Set<String> technicalFetchUsers = Set.of();

  public void setTechnicalFetchUsers(String users) {
    technicalFetchUsers = users == null ? Set.of() : Arrays.stream(users.split(",")).map(String::trim)
        .filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
  }

  public Set<String> getTechnicalFetchUsers() {
    return technicalFetchUsers;
  }

  @Override
  public void preInit(ProcessEngineConfigurationImpl configuration) {
    // One instance per chain: an interceptor holds its chain's next.
    pre(configuration, true).add(0, new IdentityChangeInterceptor());
    pre(configuration, false).add(0, new IdentityChangeInterceptor());
    post(configuration, true).add(new TechnicalFetchInterceptor(technicalFetchUsers));
    post(configuration, false).add(new TechnicalFetchInterceptor(technicalFetchUsers));
    LOG.info("Engine cost plugin on: fetchAndLock without authorization joins for " + technicalFetchUsers);
  }

  private static List<CommandInterceptor> pre(ProcessEngineConfigurationImpl configuration, boolean required) {
    List<CommandInterceptor> list = required ? configuration.getCustomPreCommandInterceptorsTxRequired()
        : configuration.getCustomPreCommandInterceptorsTxRequiresNew();
    if (list == null) {
      list = new ArrayList<>();
      if (required) {
        configuration.setCustomPreCommandInterceptorsTxRequired(list);
      } else {
        configuration.setCustomPreCommandInterceptorsTxRequiresNew(list);
      }
    }
    return list;
  }

  private static List<CommandInterceptor> post(ProcessEngineConfigurationImpl configuration, boolean required) {
    List<CommandInterceptor> list = required ? configuration.getCustomPostCommandInterceptorsTxRequired()
        : configuration.getCustomPostCommandInterceptorsTxRequiresNew();
    if (list == null) {
      list = new ArrayList<>();
      if (required) {
        configuration.setCustomPostCommandInterceptorsTxRequired(list);
      } else {
        configuration.setCustomPostCommandInterceptorsTxRequiresNew(list);
      }
    }
    return list;
  }

  @Override
  public String toString() {
    return "EngineCostPlugin";
  }
}
