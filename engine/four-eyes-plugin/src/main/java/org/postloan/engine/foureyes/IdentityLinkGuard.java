package org.postloan.engine.foureyes;

import java.lang.reflect.Field;
import java.util.logging.Logger;

import org.camunda.bpm.engine.impl.cmd.AbstractAddIdentityLinkCmd;
import org.camunda.bpm.engine.impl.cmd.DeleteIdentityLinkCmd;
import org.camunda.bpm.engine.impl.cmd.SetTaskOwnerCmd;
import org.camunda.bpm.engine.impl.interceptor.Command;
import org.camunda.bpm.engine.impl.interceptor.CommandInterceptor;
import org.camunda.bpm.engine.task.IdentityLinkType;

/**
 * Who may hold a task is the model's business: a person who is not a supervisor may not add or
 * remove a task's candidates, nor set its owner (which a resolved delegation returns the task
 * to). Links of type assignee pass: they are a claim or an assignment, which
 * {@link TaskOwnershipListener} judges. Runs inside the command context, before the command.
 */
public class IdentityLinkGuard extends CommandInterceptor {

  private static final Logger LOG = Logger.getLogger(IdentityLinkGuard.class.getName());

  private final Controls controls;

  public IdentityLinkGuard(Controls controls) {
    this.controls = controls;
  }

  @Override
  public <T> T execute(Command<T> command) {
    boolean linkCommand = command instanceof AbstractAddIdentityLinkCmd || command instanceof DeleteIdentityLinkCmd;
    if ((linkCommand || command instanceof SetTaskOwnerCmd) && controls.personActing() && !controls.isSupervisor()) {
      String type = linkCommand ? linkType(command) : IdentityLinkType.OWNER;
      if (!IdentityLinkType.ASSIGNEE.equals(type)) {
        String user = Controls.currentUser();
        String message = String.format(
            "Task ownership: user '%s' may not change who may hold a task (identity link of type %s); "
                + "only a supervisor may", user, type);
        LOG.info(message);
        throw new TaskOwnershipException(message, user);
      }
    }
    return next.execute(command);
  }

  private static String linkType(Object command) {
    for (Class<?> type = command.getClass(); type != null; type = type.getSuperclass()) {
      try {
        Field field = type.getDeclaredField("type");
        field.setAccessible(true);
        Object value = field.get(command);
        return value == null ? null : value.toString();
      } catch (NoSuchFieldException e) {
        // look in the superclass
      } catch (IllegalAccessException | RuntimeException e) {
        return null;
      }
    }
    return null;
  }
}
