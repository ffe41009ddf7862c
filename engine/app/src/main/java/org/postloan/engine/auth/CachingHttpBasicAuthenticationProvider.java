package org.postloan.engine.auth;

import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.rest.security.auth.impl.HttpBasicAuthenticationProvider;

/**
 * Camunda's HTTP basic authentication with the password check behind {@link CredentialCache}: a
 * password verified within the TTL is not hashed again. Wrong passwords always reach the engine
 * (and its login-attempt lockout); a failure, a lockout or any identity change empties the entries
 * (see {@link IdentityChangeInterceptor}).
 */
public class CachingHttpBasicAuthenticationProvider extends HttpBasicAuthenticationProvider {

  @Override
  protected boolean isAuthenticated(ProcessEngine engine, String userName, String password) {
    return CredentialCache.shared().authenticate(userName, password,
        (user, pass) -> engine.getIdentityService().checkPassword(user, pass));
  }
}
