//! Login rate limits: failed attempts are counted per client address and
//! per account name (GCRA, by `governor`); once a key runs out, logins from
//! it are refused with 429 and `Retry-After` until its budget refills.
//! Successful logins cost nothing. An account that ran out slows down only
//! the clients that themselves failed on it lately: a client with no recent
//! failure for that account still has its password checked, so others'
//! wrong guesses cannot lock a user out. The price: a guesser spread over
//! many addresses gets about one try per address per window on a
//! limited account (and each address's own budget still applies).

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys tracked at most per limiter; past it, old keys are forgotten.
const MAX_KEYS: usize = 100_000;

/// How long a client's failure on an account makes the account's limit
/// apply to that client (the limiters' window).
const RECENT_FAILURE: Duration = Duration::from_secs(60);

/// Failed-login limits.
pub struct LoginLimits {
    by_ip: DefaultKeyedRateLimiter<IpAddr>,
    by_account: DefaultKeyedRateLimiter<String>,
    /// Keys that ran out, and until when they are refused.
    blocked: Mutex<Blocked>,
}

/// What is refused, and who failed on which account lately.
#[derive(Default)]
struct Blocked {
    /// Client addresses that ran out, until when.
    ips: HashMap<IpAddr, Instant>,
    /// Accounts that ran out, until when (for the clients in `failed`).
    accounts: HashMap<String, Instant>,
    /// The last failure of a client on an account.
    failed: HashMap<(String, IpAddr), Instant>,
}

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl LoginLimits {
    /// `per_ip` and `per_account` failures per minute (bursts of the same size).
    pub fn new(per_ip: u32, per_account: u32) -> Self {
        Self {
            by_ip: RateLimiter::keyed(quota(per_ip)),
            by_account: RateLimiter::keyed(quota(per_account)),
            blocked: Mutex::new(Blocked::default()),
        }
    }

    /// How long this client must still wait, if it is blocked: its address
    /// ran out, or the account ran out and this client failed on it lately.
    pub fn retry_after(&self, ip: IpAddr, account: Option<&str>) -> Option<Duration> {
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        blocked.ips.retain(|_, until| *until > now);
        blocked.accounts.retain(|_, until| *until > now);
        let by_ip = blocked.ips.get(&ip).copied();
        let by_account = account.and_then(|a| {
            let a = a.to_lowercase();
            let until = *blocked.accounts.get(&a)?;
            let last = *blocked.failed.get(&(a, ip))?;
            (now.duration_since(last) < RECENT_FAILURE).then_some(until)
        });
        by_ip
            .into_iter()
            .chain(by_account)
            .map(|until| until - now)
            .max()
    }

    /// Counts a failed attempt; the key that runs out is blocked until its
    /// budget allows another attempt.
    pub fn failed(&self, ip: IpAddr, account: Option<&str>) {
        let clock = DefaultClock::default();
        let now = Instant::now();
        let until = |wait: Duration| now + wait.max(Duration::from_secs(1));
        let ip_out = self
            .by_ip
            .check_key(&ip)
            .err()
            .map(|n| until(n.wait_time_from(clock.now())));
        let account = account.map(str::to_lowercase);
        let account_out = account.as_ref().and_then(|a| {
            self.by_account
                .check_key(a)
                .err()
                .map(|n| until(n.wait_time_from(clock.now())))
        });
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        if blocked.ips.len() > MAX_KEYS {
            blocked.ips.clear();
        }
        if blocked.accounts.len() > MAX_KEYS {
            blocked.accounts.clear();
        }
        if blocked.failed.len() > MAX_KEYS {
            blocked
                .failed
                .retain(|_, last| now.duration_since(*last) < RECENT_FAILURE);
            if blocked.failed.len() > MAX_KEYS {
                blocked.failed.clear();
            }
        }
        if let Some(until) = ip_out {
            blocked.ips.insert(ip, until);
        }
        if let Some(a) = account {
            if let Some(until) = account_out {
                blocked.accounts.insert(a.clone(), until);
            }
            blocked.failed.insert((a, ip), now);
        }
        drop(blocked);
        if self.by_ip.len() > MAX_KEYS {
            self.by_ip.retain_recent();
        }
        if self.by_account.len() > MAX_KEYS {
            self.by_account.retain_recent();
        }
    }
}

/// Things open at once per key (sockets per user, connections per client
/// address), capped per key and optionally in total.
pub struct Counts<K> {
    per_key: Mutex<(HashMap<K, usize>, usize)>,
    max_per_key: usize,
    max_total: usize,
}

/// One counted thing; the counts go down when it drops.
pub struct CountGuard<K: std::hash::Hash + Eq + Copy> {
    counts: std::sync::Arc<Counts<K>>,
    key: K,
}

impl<K: std::hash::Hash + Eq + Copy> Counts<K> {
    /// Counts capped at `max_per_key` per key and `max_total` in all.
    pub fn new(max_per_key: usize, max_total: usize) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            per_key: Mutex::new((HashMap::new(), 0)),
            max_per_key,
            max_total,
        })
    }

    /// Takes a place for one more of `key`; `None` at either cap.
    pub fn acquire(self: &std::sync::Arc<Self>, key: K) -> Option<CountGuard<K>> {
        self.take(key, true)
    }

    /// Like [`acquire`](Self::acquire), but only the total cap applies.
    pub fn acquire_within_total(self: &std::sync::Arc<Self>, key: K) -> Option<CountGuard<K>> {
        self.take(key, false)
    }

    fn take(self: &std::sync::Arc<Self>, key: K, per_key_cap: bool) -> Option<CountGuard<K>> {
        let mut guard = self.per_key.lock().unwrap_or_else(|e| e.into_inner());
        let (map, total) = &mut *guard;
        if *total >= self.max_total {
            return None;
        }
        let n = map.entry(key).or_insert(0);
        if per_key_cap && *n >= self.max_per_key {
            return None;
        }
        *n += 1;
        *total += 1;
        Some(CountGuard {
            counts: self.clone(),
            key,
        })
    }

    /// Open now, in all.
    pub fn total(&self) -> usize {
        self.per_key.lock().unwrap_or_else(|e| e.into_inner()).1
    }
}

impl<K: std::hash::Hash + Eq + Copy> Drop for CountGuard<K> {
    fn drop(&mut self) {
        let mut guard = self
            .counts
            .per_key
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let (map, total) = &mut *guard;
        *total = total.saturating_sub(1);
        if let Some(n) = map.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_blocked_after_its_budget_of_failures_but_others_are_not() {
        let limits = LoginLimits::new(3, 100);
        let me: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..3 {
            assert!(limits.retry_after(me, Some("erin")).is_none());
            limits.failed(me, Some("erin"));
        }
        limits.failed(me, Some("erin"));
        let wait = limits.retry_after(me, Some("erin")).expect("blocked");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(60));
        assert!(
            limits.retry_after(other, Some("erin")).is_none(),
            "another client can still log in as erin"
        );
    }

    #[test]
    fn an_account_that_ran_out_slows_only_the_clients_that_failed_on_it() {
        let limits = LoginLimits::new(1000, 2);
        for i in 0..3u8 {
            limits.failed([10, 0, 1, i].into(), Some("Erin"));
        }
        assert!(
            limits
                .retry_after([10, 0, 1, 2].into(), Some("erin"))
                .is_some(),
            "a guesser that failed is slowed down"
        );
        assert!(
            limits
                .retry_after([10, 9, 9, 9].into(), Some("erin"))
                .is_none(),
            "a client with no failure on erin still gets its password checked"
        );
        assert!(limits
            .retry_after([10, 0, 1, 2].into(), Some("other"))
            .is_none());
        // A fresh address gets one try, then is slowed down too.
        limits.failed([10, 9, 9, 9].into(), Some("erin"));
        assert!(limits
            .retry_after([10, 9, 9, 9].into(), Some("erin"))
            .is_some());
    }
}
