package org.postloan.engine.auth;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;
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
    chain(configuration::getCustomPreCommandInterceptorsTxRequired,
        configuration::setCustomPreCommandInterceptorsTxRequired).add(0, new IdentityChangeInterceptor());
    chain(configuration::getCustomPreCommandInterceptorsTxRequiresNew,
        configuration::setCustomPreCommandInterceptorsTxRequiresNew).add(0, new IdentityChangeInterceptor());
    chain(configuration::getCustomPostCommandInterceptorsTxRequired,
        configuration::setCustomPostCommandInterceptorsTxRequired)
        .add(new TechnicalFetchInterceptor(technicalFetchUsers));
    chain(configuration::getCustomPostCommandInterceptorsTxRequiresNew,
        configuration::setCustomPostCommandInterceptorsTxRequiresNew)
        .add(new TechnicalFetchInterceptor(technicalFetchUsers));
    LOG.info("Engine cost plugin on: fetchAndLock without authorization joins for " + technicalFetchUsers);
  }

  /** The configured list of custom interceptors, created and set when there is none yet. */
  private static List<CommandInterceptor> chain(Supplier<List<CommandInterceptor>> get,
      Consumer<List<CommandInterceptor>> set) {
    List<CommandInterceptor> list = get.get();
    if (list == null) {
      list = new ArrayList<>();
      set.accept(list);
    }
    return list;
  }

  @Override
  public String toString() {
    return "EngineCostPlugin";
  }
}
