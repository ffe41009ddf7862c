package org.postloan.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;

import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.authorization.Permissions;
import org.camunda.bpm.engine.authorization.Resources;
import org.camunda.bpm.engine.impl.identity.Authentication;
import org.camunda.bpm.webapp.impl.security.auth.Authentications;
import org.camunda.bpm.webapp.impl.security.auth.AuthenticationUtil;
import org.camunda.bpm.webapp.impl.security.auth.UserAuthentication;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;

/**
 * Operations' views are for operations: the per-definition statistics of the engine REST API and
 * Cockpit's plugin API answer only users with access to Cockpit (the engine admin, or whoever an
 * admin grants it). Bank staff log into Tasklist only; their read right on process definitions
 * (Tasklist shows process names and forms) must not show them the portfolio's instance counts.
 */
public class OperationsOnlyFilter extends HttpFilter {

  private static final long serialVersionUID = 1L;

  /** Engine REST paths that count instances, incidents or jobs per definition or activity. */
  private static final Pattern ENGINE_STATISTICS = Pattern.compile(
      "^/(engine/[^/]+/)?(process-definition(/key/[^/]+(/tenant-id/[^/]+)?|/[^/]+)?|deployment/[^/]+)"
          + "/statistics(/.*)?$");

  private final ProcessEngine engine;

  public OperationsOnlyFilter(ProcessEngine engine) {
    this.engine = engine;
  }

  @Override
  protected void doFilter(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    String path = request.getRequestURI().substring(request.getContextPath().length());
    if (path.startsWith("/engine-rest/")) {
      if (ENGINE_STATISTICS.matcher(path.substring("/engine-rest".length())).matches() && !engineUserMayOperate()) {
        refuse(response);
        return;
      }
    } else if (path.startsWith("/camunda/api/cockpit/") && !webappUserMayOperate(request)) {
      refuse(response);
      return;
    }
    chain.doFilter(request, response);
  }

  /** The user that the engine REST authentication filter (ordered before this one) set. */
  private boolean engineUserMayOperate() {
    Authentication authentication = engine.getIdentityService().getCurrentAuthentication();
    if (authentication == null || authentication.getUserId() == null) {
      return true; // nobody authenticated: the authentication filter answers that with a 401
    }
    List<String> groups = authentication.getGroupIds() == null ? List.of() : authentication.getGroupIds();
    return engine.getAuthorizationService().isUserAuthorized(authentication.getUserId(), groups,
        Permissions.ACCESS, Resources.APPLICATION, "cockpit");
  }

  private boolean webappUserMayOperate(HttpServletRequest request) {
    HttpSession session = request.getSession(false);
    Authentications authentications = session == null ? null : AuthenticationUtil.getAuthsFromSession(session);
    if (authentications == null || authentications.getAuthentications().isEmpty()) {
      return true; // not logged in: the webapp's own security answers 401
    }
    for (UserAuthentication user : authentications.getAuthentications()) {
      if (!user.isAuthorizedForApp("cockpit")) {
        return false;
      }
    }
    return true;
  }

  private static void refuse(HttpServletResponse response) throws IOException {
    response.setStatus(HttpServletResponse.SC_FORBIDDEN);
    response.setContentType("application/json");
    response.getOutputStream().write(("{\"type\":\"AuthorizationException\",\"message\":\"Statistics "
        + "and Cockpit views are for users with access to Cockpit\"}").getBytes(StandardCharsets.UTF_8));
  }
}
