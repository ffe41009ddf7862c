package org.postloan.engine.auth;

import java.lang.reflect.Field;
import java.util.Set;

import org.camunda.bpm.engine.impl.cmd.CheckPassword;
import org.camunda.bpm.engine.impl.interceptor.Command;
import org.camunda.bpm.engine.impl.interceptor.CommandInterceptor;

/**
 * Keeps {@link CredentialCache} honest: empties it before and after (committed) any write of the
 * identity service, and evicts a user whose password check failed anywhere (REST, webapp login):
 * such a failure may have locked the user. Registered as a pre-interceptor (outside the
 * transaction) so the "after" runs once the change is committed.
 */
public class IdentityChangeInterceptor extends CommandInterceptor {

  /** Identity writes (simple names of org.camunda.bpm.engine.impl.cmd commands). */
  static final Set<String> IDENTITY_WRITES = Set.of(
      "SaveUserCmd", "DeleteUserCmd", "UnlockUserCmd", "SaveGroupCmd", "DeleteGroupCmd",
      "CreateMembershipCmd", "DeleteMembershipCmd", "SaveTenantCmd", "DeleteTenantCmd",
      "CreateTenantUserMembershipCmd", "CreateTenantGroupMembershipCmd",
      "DeleteTenantUserMembershipCmd", "DeleteTenantGroupMembershipCmd", "DeleteUserInfoCmd",
      "SetUserInfoCmd", "SetUserPictureCmd", "DeleteUserPictureCmd");

  private static final Field CHECK_PASSWORD_USER = checkPasswordUserField();

  @Override
  public <T> T execute(Command<T> command) {
    boolean identityWrite = IDENTITY_WRITES.contains(command.getClass().getSimpleName())
        && command.getClass().getName().startsWith("org.camunda.bpm.engine.impl.cmd.");
    if (identityWrite) {
      CredentialCache.shared().invalidateAll();
    }
    try {
      T result = next.execute(command);
      if (command instanceof CheckPassword && !Boolean.TRUE.equals(result)) {
        failedCheck((CheckPassword) command);
      }
      return result;
    } catch (RuntimeException e) {
      if (command instanceof CheckPassword) {
        failedCheck((CheckPassword) command);
      }
      throw e;
    } finally {
      if (identityWrite) {
        CredentialCache.shared().invalidateAll();
      }
    }
  }

  private static void failedCheck(CheckPassword command) {
    String userId = null;
    if (CHECK_PASSWORD_USER != null) {
      try {
        userId = (String) CHECK_PASSWORD_USER.get(command);
      } catch (IllegalAccessException e) {
        userId = null;
      }
    }
    if (userId == null) {
      CredentialCache.shared().invalidateAll();
    } else {
      CredentialCache.shared().invalidateUser(userId);
    }
  }

  private static Field checkPasswordUserField() {
    try {
      Field field = CheckPassword.class.getDeclaredField("userId");
      field.setAccessible(true);
      return field;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }
}
