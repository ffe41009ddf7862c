package org.postloan.engine;

import org.camunda.bpm.engine.rest.security.auth.ProcessEngineAuthenticationFilter;

/**
 * Camunda's filter lets {@code GET /engine-rest/engine} (the list of engine names) through without
 * credentials. Here every path under /engine-rest requires authentication; the engine name then
 * defaults to "default".
 */
public class AllPathsAuthenticationFilter extends ProcessEngineAuthenticationFilter {

  @Override
  protected boolean requiresEngineAuthentication(String requestUrl) {
    return true;
  }
}
