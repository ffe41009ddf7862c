package org.postloan.engine.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class CredentialCacheTest {

  private final AtomicLong now = new AtomicLong(1_000_000);
  private final AtomicInteger checks = new AtomicInteger();
  private final CredentialCache cache = new CredentialCache(60_000, 3, now::get);

  private boolean check(String user, String password) {
    checks.incrementAndGet();
    return ("pw-" + user).equals(password);
  }

  private boolean auth(String user, String password) {
    return cache.authenticate(user, password, this::check);
  }

  @Test
  void aVerifiedPasswordIsNotCheckedAgainWithinTheTtl() {
    assertTrue(auth("ann", "pw-ann"));
    assertTrue(auth("ann", "pw-ann"));
    assertTrue(auth("ann", "pw-ann"));
    assertEquals(1, checks.get());
  }

  @Test
  void aWrongPasswordIsAlwaysCheckedAndNeverCached() {
    assertTrue(auth("ann", "pw-ann"));
    for (int i = 0; i < 5; i++) {
      assertFalse(auth("ann", "wrong"));
    }
    assertEquals(6, checks.get());
    assertEquals(0, cache.size(), "a failure evicts the user (it may have locked them)");
  }

  @Test
  void aCachedPasswordDoesNotLetAnotherPasswordOrUserIn() {
    assertTrue(auth("ann", "pw-ann"));
    assertFalse(auth("ann", "pw-ann "));
    assertFalse(auth("bob", "pw-ann"));
    assertFalse(auth("ann", null));
    assertFalse(auth(null, "pw-ann"));
  }

  @Test
  void entriesExpireAfterTheTtl() {
    assertTrue(auth("ann", "pw-ann"));
    now.addAndGet(59_999);
    assertTrue(auth("ann", "pw-ann"));
    assertEquals(1, checks.get());
    now.addAndGet(2);
    assertTrue(auth("ann", "pw-ann"));
    assertEquals(2, checks.get());
  }

  @Test
  void theCacheIsBounded() {
    for (String user : new String[] {"a", "b", "c", "d", "e"}) {
      assertTrue(auth(user, "pw-" + user));
    }
    assertEquals(3, cache.size());
  }

  @Test
  void invalidationForcesACheck() {
    assertTrue(auth("ann", "pw-ann"));
    assertTrue(auth("bob", "pw-bob"));
    cache.invalidateUser("ann");
    assertEquals(1, cache.size());
    assertTrue(auth("ann", "pw-ann"));
    assertEquals(3, checks.get());
    cache.invalidateAll();
    assertEquals(0, cache.size());
  }

  @Test
  void aCheckOverlappingAnInvalidationIsNotCached() {
    assertTrue(cache.authenticate("ann", "pw-ann", (u, p) -> {
      cache.invalidateAll(); // e.g. the password changed while the old one was being checked
      return true;
    }));
    assertEquals(0, cache.size());
  }

  @Test
  void theCacheHoldsNoPassword() {
    assertTrue(cache.authenticate("ann", "s3cret", (u, p) -> "s3cret".equals(p)));
    // the key is the user id and a salted digest: no field of the cache holds the password
    for (java.lang.reflect.Field field : CredentialCache.class.getDeclaredFields()) {
      field.setAccessible(true);
      try {
        Object value = java.lang.reflect.Modifier.isStatic(field.getModifiers()) ? null : field.get(cache);
        if (value != null) {
          assertFalse(String.valueOf(value).contains("s3cret"), field.getName());
        }
      } catch (IllegalAccessException e) {
        throw new AssertionError(e);
      }
    }
    assertEquals(1, cache.size());
  }

  @Test
  void ttlZeroSwitchesTheCacheOff() {
    CredentialCache off = new CredentialCache(0, 10, now::get);
    assertTrue(off.authenticate("ann", "pw-ann", this::check));
    assertTrue(off.authenticate("ann", "pw-ann", this::check));
    assertEquals(2, checks.get());
  }
}
