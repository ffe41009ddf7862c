package org.postloan.engine.foureyes;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

import org.camunda.bpm.engine.identity.Group;
import org.camunda.bpm.engine.impl.context.Context;
import org.camunda.bpm.engine.impl.identity.Authentication;
import org.camunda.bpm.engine.impl.interceptor.CommandContext;

/**
 * Who is acting, and what the configuration says of them: technical users (the workers and the
 * API, whose writes are the system's own), supervisors (who may hand a task to another person),
 * and everyone else, a person whose writes the controls distrust.
 */
public final class Controls {

  private final Set<String> technicalGroups;
  private final Set<String> supervisorGroups;
  private final Set<String> protectedVariables;

  public Controls(Collection<String> technicalGroups, Collection<String> supervisorGroups,
      Collection<String> protectedVariables) {
    this.technicalGroups = Set.copyOf(technicalGroups);
    this.supervisorGroups = Set.copyOf(supervisorGroups);
    this.protectedVariables = Set.copyOf(protectedVariables);
  }

  public Set<String> getTechnicalGroups() {
    return technicalGroups;
  }

  public Set<String> getSupervisorGroups() {
    return supervisorGroups;
  }

  /** Protected everywhere, in addition to what each process declares. */
  public Set<String> getProtectedVariables() {
    return protectedVariables;
  }

  /** The authenticated user of the running command, or null (engine internals, job executor). */
  static String currentUser() {
    CommandContext commandContext = Context.getCommandContext();
    if (commandContext == null) {
      return null;
    }
    String userId = commandContext.getAuthenticatedUserId();
    return userId == null || userId.isBlank() ? null : userId;
  }

  /** The groups of the running command's user as the authentication carries them. */
  static List<String> currentGroups() {
    CommandContext commandContext = Context.getCommandContext();
    Authentication authentication = commandContext == null ? null : commandContext.getAuthentication();
    List<String> groups = authentication == null ? null : authentication.getGroupIds();
    return groups == null ? List.of() : groups;
  }

  /** A person is acting: someone is authenticated and is not a technical user. */
  boolean personActing() {
    return currentUser() != null && !isTechnical();
  }

  boolean isTechnical() {
    return intersects(currentGroups(), technicalGroups);
  }

  boolean isSupervisor() {
    return intersects(currentGroups(), supervisorGroups);
  }

  /** The groups of any user, read without the caller's authorizations. */
  static Set<String> groupsOf(String userId) {
    Set<String> groups = new LinkedHashSet<>();
    if (userId == null) {
      return groups;
    }
    for (Group group : withoutAuthorization(() -> Context.getProcessEngineConfiguration()
        .getIdentityService().createGroupQuery().groupMember(userId).list())) {
      groups.add(group.getId());
    }
    return groups;
  }

  /** Runs an engine query as the system: the controls must not see less than the facts. */
  static <T> T withoutAuthorization(Callable<T> query) {
    CommandContext commandContext = Context.getCommandContext();
    if (commandContext == null) {
      try {
        return query.call();
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    return commandContext.runWithoutAuthorization(query);
  }

  static boolean same(String a, String b) {
    return a != null && b != null && a.trim().equalsIgnoreCase(b.trim());
  }

  private static boolean intersects(Collection<String> have, Set<String> wanted) {
    for (String group : have) {
      if (wanted.contains(group)) {
        return true;
      }
    }
    return false;
  }
}
