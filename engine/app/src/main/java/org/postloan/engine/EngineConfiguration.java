package org.postloan.engine;

import java.util.Map;

import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.rest.security.auth.ProcessEngineAuthenticationFilter;
import org.postloan.engine.auth.CachingHttpBasicAuthenticationProvider;
import org.postloan.engine.auth.CredentialCache;
import org.postloan.engine.auth.EngineCostPlugin;
import org.postloan.engine.foureyes.FourEyesPlugin;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration
public class EngineConfiguration {

  /**
   * The controls on user tasks: four eyes, protected variables, tasks only for their owners (the
   * same jar is used as a Camunda Run userlib plugin). Groups come from the environment.
   */
  @Bean
  public FourEyesPlugin fourEyesPlugin(
      @Value("${postloan.controls.technical-groups:" + FourEyesPlugin.DEFAULT_TECHNICAL_GROUPS + "}") String technicalGroups,
      @Value("${postloan.controls.supervisor-groups:" + FourEyesPlugin.DEFAULT_SUPERVISOR_GROUPS + "}") String supervisorGroups,
      @Value("${postloan.controls.protected-variables:}") String protectedVariables) {
    FourEyesPlugin plugin = new FourEyesPlugin();
    plugin.setTechnicalGroups(technicalGroups);
    plugin.setSupervisorGroups(supervisorGroups);
    plugin.setProtectedVariables(protectedVariables);
    return plugin;
  }

  /**
   * Engine-side cost per request: the credentials cache kept in step with identity changes, and
   * fetchAndLock of the technical users without authorization joins (see EngineCostPlugin).
   */
  @Bean
  public EngineCostPlugin engineCostPlugin(
      @Value("${postloan.engine.technical-fetch-users:svc-workers}") String technicalFetchUsers) {
    EngineCostPlugin plugin = new EngineCostPlugin();
    plugin.setTechnicalFetchUsers(technicalFetchUsers);
    return plugin;
  }

  /**
   * HTTP basic authentication on the engine REST API. Without it the starter leaves
   * /engine-rest open. Async support is required for fetchAndLock long polling. The password
   * check sits behind a short-lived verified-credentials cache (ttl 0 switches it off).
   */
  @Bean
  public FilterRegistrationBean<AllPathsAuthenticationFilter> engineRestAuthenticationFilter(
      @Value("${postloan.engine.auth-cache.ttl-seconds:60}") long ttlSeconds,
      @Value("${postloan.engine.auth-cache.max-entries:1000}") int maxEntries) {
    CredentialCache.configureShared(ttlSeconds * 1000, maxEntries);
    FilterRegistrationBean<AllPathsAuthenticationFilter> registration =
        new FilterRegistrationBean<>(new AllPathsAuthenticationFilter());
    registration.setName("camunda-engine-rest-auth");
    registration.addUrlPatterns("/engine-rest/*");
    registration.setInitParameters(Map.of(
        ProcessEngineAuthenticationFilter.AUTHENTICATION_PROVIDER_PARAM,
        CachingHttpBasicAuthenticationProvider.class.getName()));
    registration.setAsyncSupported(true);
    registration.setOrder(10);
    return registration;
  }

  /** Statistics and Cockpit's plugin API for users with Cockpit access only (after the auth filter). */
  @Bean
  public FilterRegistrationBean<OperationsOnlyFilter> operationsOnlyFilter(ProcessEngine engine) {
    FilterRegistrationBean<OperationsOnlyFilter> registration =
        new FilterRegistrationBean<>(new OperationsOnlyFilter(engine));
    registration.setName("postloan-operations-only");
    registration.addUrlPatterns("/engine-rest/*", "/camunda/api/cockpit/*");
    registration.setAsyncSupported(true);
    registration.setOrder(20);
    return registration;
  }
}
