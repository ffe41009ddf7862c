package org.postloan.engine.foureyes;

import org.camunda.bpm.engine.impl.context.Context;
import org.camunda.bpm.engine.impl.interceptor.CommandContext;

final class Performers {

  private Performers() {
  }

  /** The authenticated user of the running command, or null when nobody is authenticated. */
  static String currentUser() {
    CommandContext commandContext = Context.getCommandContext();
    if (commandContext == null) {
      return null;
    }
    String userId = commandContext.getAuthenticatedUserId();
    return userId == null || userId.isBlank() ? null : userId;
  }
}
