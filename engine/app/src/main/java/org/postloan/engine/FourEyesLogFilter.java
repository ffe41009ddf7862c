package org.postloan.engine;

import org.postloan.engine.foureyes.EngineControlException;
import org.slf4j.Marker;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;

/**
 * A refusal of the controls (four eyes, protected variable, task ownership) is an expected
 * business outcome (HTTP 403), already logged in one INFO line by the plugin. The engine, however, logs the wrapped listener exception with ERROR level and a
 * long stack trace ("ENGINE-16004 Exception while closing command context"); this filter drops
 * exactly those events. Every other error passes.
 */
public class FourEyesLogFilter extends TurboFilter {

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (level == null || !level.isGreaterOrEqual(Level.WARN) || logger == null
        || !logger.getName().startsWith("org.camunda.bpm.engine")) {
      return FilterReply.NEUTRAL;
    }
    if (isFourEyes(t)) {
      return FilterReply.DENY;
    }
    if (params != null) {
      for (Object param : params) {
        if (param instanceof Throwable && isFourEyes((Throwable) param)) {
          return FilterReply.DENY;
        }
      }
    }
    return FilterReply.NEUTRAL;
  }

  private static boolean isFourEyes(Throwable t) {
    for (int depth = 0; t != null && depth < 20; depth++, t = t.getCause()) {
      if (t instanceof EngineControlException) {
        return true;
      }
    }
    return false;
  }
}
