package org.postloan.engine.auth;

import java.util.Set;

import org.camunda.bpm.engine.impl.cmd.FetchExternalTasksCmd;
import org.camunda.bpm.engine.impl.context.Context;
import org.camunda.bpm.engine.impl.interceptor.Command;
import org.camunda.bpm.engine.impl.interceptor.CommandContext;
import org.camunda.bpm.engine.impl.interceptor.CommandInterceptor;

/**
 * fetchAndLock of the configured technical users without authorization checks: for a non-admin
 * user the engine's query adds DISTINCT and two authorization joins and scans every available
 * task, so its cost grows with the backlog. Exactly {@link FetchExternalTasksCmd} (by class, not a
 * subclass) of exactly those user ids runs with the checks disabled; every other command of theirs
 * (complete, failure, setVariables, task queries...) stays checked, and nothing changes for other
 * users. Tenant checks are untouched. Registered as a post-interceptor (inside the command
 * context).
 */
public class TechnicalFetchInterceptor extends CommandInterceptor {

  private final Set<String> technicalUsers;

  public TechnicalFetchInterceptor(Set<String> technicalUsers) {
    this.technicalUsers = Set.copyOf(technicalUsers);
  }

  @Override
  public <T> T execute(Command<T> command) {
    if (technicalUsers.isEmpty() || command.getClass() != FetchExternalTasksCmd.class) {
      return next.execute(command);
    }
    CommandContext context = Context.getCommandContext();
    if (context == null || !context.isAuthorizationCheckEnabled()
        || !technicalUsers.contains(context.getAuthenticatedUserId())) {
      return next.execute(command);
    }
    context.disableAuthorizationCheck();
    try {
      return next.execute(command);
    } finally {
      context.enableAuthorizationCheck();
    }
  }
}
