package org.postloan.engine.foureyes;

/**
 * Marks the plugin's own writes of protected variables (the performer it records on completion)
 * so that the protection lets exactly those through, whoever the command's user is.
 */
final class TrustedWrites {

  private static final ThreadLocal<Integer> DEPTH = ThreadLocal.withInitial(() -> 0);

  private TrustedWrites() {
  }

  static void run(Runnable write) {
    DEPTH.set(DEPTH.get() + 1);
    try {
      write.run();
    } finally {
      int depth = DEPTH.get() - 1;
      if (depth == 0) {
        DEPTH.remove();
      } else {
        DEPTH.set(depth);
      }
    }
  }

  static boolean active() {
    return DEPTH.get() > 0;
  }
}
