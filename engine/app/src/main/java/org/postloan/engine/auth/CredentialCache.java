package org.postloan.engine.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Verified-credentials cache in front of the engine's password check (HTTP basic authentication of
 * the REST API hashes the presented password on every request otherwise).
 *
 * <ul>
 *   <li>Only successes are cached; a failed check is never cached (and evicts the user).</li>
 *   <li>The key is the user id and SHA-256(per-process random salt, user id, password): the
 *       password itself is never held, and a digest is useless outside this process.</li>
 *   <li>Entries live {@code ttlMillis} (default 60 s); at most {@code maxEntries} (LRU).</li>
 *   <li>{@link #invalidateAll()} (any identity write: user saved or deleted, unlocked, memberships)
 *       and {@link #invalidateUser(String)} (a failed check, which may have locked the user) bump a
 *       generation: a check that started before an invalidation is not cached.</li>
 * </ul>
 */
public final class CredentialCache {

  public static final long DEFAULT_TTL_MILLIS = 60_000;
  public static final int DEFAULT_MAX_ENTRIES = 1_000;

  /** The one instance of the process (the REST provider is created by reflection). */
  private static volatile CredentialCache shared = new CredentialCache(DEFAULT_TTL_MILLIS, DEFAULT_MAX_ENTRIES, System::currentTimeMillis);

  public static CredentialCache shared() {
    return shared;
  }

  public static void configureShared(long ttlMillis, int maxEntries) {
    shared = new CredentialCache(ttlMillis, maxEntries, System::currentTimeMillis);
  }

  /** The password check behind the cache (the engine's IdentityService.checkPassword). */
  @FunctionalInterface
  public interface PasswordCheck {
    boolean check(String userId, String password);
  }

  private final long ttlMillis;
  private final int maxEntries;
  private final LongSupplier clock;
  private final byte[] salt = new byte[32];
  private final AtomicLong generation = new AtomicLong();
  private final LinkedHashMap<String, Long> entries;

  public CredentialCache(long ttlMillis, int maxEntries, LongSupplier clock) {
    this.ttlMillis = ttlMillis;
    this.maxEntries = Math.max(0, maxEntries);
    this.clock = clock;
    new SecureRandom().nextBytes(salt);
    this.entries = new LinkedHashMap<>(16, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
        return size() > CredentialCache.this.maxEntries;
      }
    };
  }

  public boolean enabled() {
    return ttlMillis > 0 && maxEntries > 0;
  }

  /** True when the password is right: from the cache if verified within the TTL, else checked. */
  public boolean authenticate(String userId, String password, PasswordCheck check) {
    if (userId == null || password == null) {
      return false;
    }
    if (!enabled()) {
      return check.check(userId, password);
    }
    String key = key(userId, password);
    long now = clock.getAsLong();
    synchronized (entries) {
      Long expires = entries.get(key);
      if (expires != null) {
        if (expires > now) {
          return true;
        }
        entries.remove(key);
      }
    }
    long before = generation.get();
    boolean ok = check.check(userId, password);
    if (!ok) {
      invalidateUser(userId);
      return false;
    }
    synchronized (entries) {
      if (generation.get() == before) {
        entries.put(key, now + ttlMillis);
      }
    }
    return true;
  }

  public void invalidateUser(String userId) {
    String prefix = userId + '\u0000';
    synchronized (entries) {
      generation.incrementAndGet();
      for (Iterator<String> keys = entries.keySet().iterator(); keys.hasNext();) {
        if (keys.next().startsWith(prefix)) {
          keys.remove();
        }
      }
    }
  }

  public void invalidateAll() {
    synchronized (entries) {
      generation.incrementAndGet();
      entries.clear();
    }
  }

  public int size() {
    synchronized (entries) {
      return entries.size();
    }
  }

  private String key(String userId, String password) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      digest.update(salt);
      digest.update(userId.getBytes(StandardCharsets.UTF_8));
      digest.update((byte) 0);
      digest.update(password.getBytes(StandardCharsets.UTF_8));
      return userId + '\u0000' + HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }
}
