//! Rate limits per client address: a token bucket per address, so that one address cannot spray
//! password guesses across many accounts. This comes on top of the lock-out of a single account
//! after failed logins (`pdv_core::auth::LockoutRule`), which stops guessing one account's
//! password but not trying a few passwords on every account.
//!
//! [`KeyedLimiter`] is the reusable part: buckets keyed by anything hashable, with bounded memory
//! and time passed in, so that tests need no sleeping. Logins use it through [`LoginAttempt`];
//! the subject portal's one-time codes (not built yet) are meant to get a limiter of their own
//! from the same type. [`client_address`] finds the address behind trusted reverse proxies.
//!
//! A login attempt takes a token when it starts and gives it back unless the password check
//! failed: successful logins and malformed requests cost nothing, so an office behind one NAT
//! address can log in all at once, while at most `burst` attempts from an address can be in
//! flight at any moment.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pdv_service::Vault;

use crate::problem::ApiError;

/// How many failed logins an address may make; the settings for `POST /api/v1/auth/login`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginRateLimit {
    /// Failed attempts per minute an address may sustain.
    pub per_address_per_minute: u32,
    /// Failed attempts an address may make at once before the per-minute rate applies.
    pub burst: u32,
}

impl Default for LoginRateLimit {
    /// Ten failed attempts at once, then one every six seconds: far beyond a person mistyping a
    /// password, far below what guessing across accounts needs.
    fn default() -> LoginRateLimit {
        LoginRateLimit {
            per_address_per_minute: 10,
            burst: 10,
        }
    }
}

impl LoginRateLimit {
    /// Checks the numbers before a server starts with them; a message in Russian names the
    /// setting at fault. A zero would lock an address out forever, and there is no "off".
    pub fn validate(&self) -> Result<(), String> {
        if self.per_address_per_minute == 0 {
            return Err(
                "per_address_per_minute: нужно не меньше 1 попытки в минуту с одного адреса".into(),
            );
        }
        if self.burst == 0 {
            return Err("burst: нужно не меньше 1 попытки подряд с одного адреса".into());
        }
        Ok(())
    }
}

/// The settings of this module, for the server's settings and its configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub login: LoginRateLimit,
    /// Peers whose `X-Forwarded-For` header is believed; see [`client_address`].
    pub trusted_proxies: Vec<ProxyNetwork>,
}

impl Default for RateLimitSettings {
    /// Trusts the loopback addresses only: the shipped nginx example runs on the same host and
    /// appends the client's address to `X-Forwarded-For`. A peer on the loopback is either that
    /// proxy or already on the server. Proxies elsewhere (another host, a container network)
    /// must be listed.
    fn default() -> RateLimitSettings {
        RateLimitSettings {
            login: LoginRateLimit::default(),
            trusted_proxies: vec![
                ProxyNetwork::from_str("127.0.0.0/8").expect("a valid network"),
                ProxyNetwork::from_str("::1").expect("a valid address"),
            ],
        }
    }
}

/// An address or a network (`10.0.0.0/8`, `fd00::/8`, `192.0.2.1`) of trusted reverse proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNetwork {
    address: IpAddr,
    prefix: u8,
}

impl ProxyNetwork {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let bits = usize::from(bits);
    let (whole, rest) = (bits / 8, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

impl FromStr for ProxyNetwork {
    type Err = String;

    fn from_str(s: &str) -> Result<ProxyNetwork, String> {
        let (address, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let address =
            canonical(address.trim().parse::<IpAddr>().map_err(|_| {
                format!("«{s}» — не IP-адрес и не сеть вида 10.0.0.0/8 или fd00::/8")
            })?);
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("«{s}»: длина префикса — число от 0 до {max}"))?,
        };
        Ok(ProxyNetwork { address, prefix })
    }
}

/// IPv4 addresses that arrive mapped into IPv6 (`::ffff:192.0.2.1`) are the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// The address a request comes from: its peer, or, when the peer is a trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not one. The header is read from the right,
/// because each proxy appends the address it saw and only the entries our own proxies added can
/// be believed; whatever a client put there itself sits to their left. An entry that is not an
/// address stops the walk at the last address known good.
pub fn client_address(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted_proxies: &[ProxyNetwork],
) -> IpAddr {
    let trusted = |ip: IpAddr| trusted_proxies.iter().any(|n| n.contains(ip));
    let mut client = canonical(peer);
    if !trusted(client) {
        return client;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.into_iter().rev() {
        let Ok(ip) = entry.parse::<IpAddr>() else {
            break;
        };
        client = canonical(ip);
        if !trusted(client) {
            break;
        }
    }
    client
}

/// The key a client address is limited under. An IPv6 client usually holds a whole /64 and can
/// pick any address in it, so IPv6 addresses are limited by their /64 network.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// The answer of a [`KeyedLimiter`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// A token was taken.
    Allowed,
    /// No token left.
    Refused {
        /// When the next token will be there.
        retry_after: Duration,
        /// Whether this is the first refusal since the key last got a token: callers record a
        /// run of refusals once, not each one.
        first: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// When the bucket will be full again (the "theoretical arrival time" of the generic cell
    /// rate algorithm): each token taken moves it one interval later, time catches up with it.
    /// Kept as an instant rather than a token count so that all arithmetic is exact.
    full_at: Instant,
    /// Whether the last request was refused, to report a run of refusals once.
    refused: bool,
}

#[derive(Debug)]
struct Buckets<K> {
    map: HashMap<K, Bucket>,
    last_sweep: Option<Instant>,
}

/// Token buckets keyed by `K`: each key may take `burst` tokens at once and gets `per_minute`
/// back every minute. At most `max_keys` keys are remembered: keys whose bucket has filled up
/// again are forgotten (they would start full anyway), and when that is not enough the fullest
/// tenth is dropped, so memory stays bounded under any traffic.
///
/// One mutex guards the map: the limited requests (logins, one-time codes) cost an Argon2 hash
/// or a message each, so the lock is never the bottleneck.
#[derive(Debug)]
pub struct KeyedLimiter<K> {
    /// The time one token takes to come back.
    interval: Duration,
    /// How far ahead of now `full_at` may be while a token is still left: `burst - 1` intervals.
    tolerance: Duration,
    max_keys: usize,
    buckets: Mutex<Buckets<K>>,
}

/// How often buckets that have filled up are swept out when no eviction forced it earlier.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter of `burst` tokens per key refilled at `per_minute`; zeros are raised to 1 (see
    /// [`LoginRateLimit::validate`]), and `max_keys` to at least 1.
    pub fn new(per_minute: u32, burst: u32, max_keys: usize) -> KeyedLimiter<K> {
        let interval = Duration::from_secs(60) / per_minute.max(1);
        KeyedLimiter {
            interval,
            tolerance: interval * (burst.max(1) - 1),
            max_keys: max_keys.max(1),
            buckets: Mutex::new(Buckets {
                map: HashMap::new(),
                last_sweep: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buckets<K>> {
        // Every update leaves a bucket consistent, so a panic elsewhere cannot poison the data.
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a token for `key` at `now`.
    pub fn acquire(&self, key: &K, now: Instant) -> Decision {
        let mut buckets = self.lock();
        if buckets
            .last_sweep
            .is_none_or(|at| now.saturating_duration_since(at) >= SWEEP_EVERY)
        {
            sweep(&mut buckets.map, now);
            buckets.last_sweep = Some(now);
        }
        if !buckets.map.contains_key(key) && buckets.map.len() >= self.max_keys {
            self.make_room(&mut buckets.map, now);
        }
        let bucket = buckets.map.entry(key.clone()).or_insert(Bucket {
            full_at: now,
            refused: false,
        });
        let full_at = bucket.full_at.max(now);
        let ahead = full_at.duration_since(now);
        if ahead <= self.tolerance {
            bucket.full_at = full_at + self.interval;
            bucket.refused = false;
            Decision::Allowed
        } else {
            let first = !bucket.refused;
            bucket.refused = true;
            Decision::Refused {
                retry_after: ahead - self.tolerance,
                first,
            }
        }
    }

    /// Gives back a token taken for `key` whose attempt turned out not to count.
    pub fn refund(&self, key: &K, now: Instant) {
        let mut buckets = self.lock();
        if let Some(bucket) = buckets.map.get_mut(key) {
            bucket.full_at = bucket
                .full_at
                .checked_sub(self.interval)
                .map_or(now, |earlier| earlier.max(now));
        }
    }

    /// Makes the next refusal of `key` count as the first of its run again, for a caller that
    /// could not record this one.
    pub fn forget_refusal(&self, key: &K) {
        if let Some(bucket) = self.lock().map.get_mut(key) {
            bucket.refused = false;
        }
    }

    /// How many keys are remembered.
    pub fn tracked(&self) -> usize {
        self.lock().map.len()
    }

    /// Frees room for a new key: first the full buckets, then, if every key is still busy
    /// (traffic from more addresses than `max_keys`), the fullest tenth. Dropping a busy key
    /// gives that address a fresh bucket; with this many addresses at once the per-address limit
    /// is not what stops an attacker anyway, and the account lock-out still is.
    fn make_room(&self, map: &mut HashMap<K, Bucket>, now: Instant) {
        sweep(map, now);
        if map.len() < self.max_keys {
            return;
        }
        let mut by_fullness: Vec<(Instant, K)> =
            map.iter().map(|(k, b)| (b.full_at, k.clone())).collect();
        by_fullness.sort_unstable_by_key(|(full_at, _)| *full_at);
        let drop = (self.max_keys / 10).max(1);
        for (_, key) in by_fullness.into_iter().take(drop) {
            map.remove(&key);
        }
    }
}

/// Forgets keys whose bucket has filled up again: they would start full anyway.
fn sweep<K>(map: &mut HashMap<K, Bucket>, now: Instant) {
    map.retain(|_, b| b.full_at > now);
}

/// How many client addresses the login limiter remembers at most (about 100 bytes each).
const MAX_TRACKED_ADDRESSES: usize = 100_000;

/// The login limiter of a running server, shared through the router's extensions.
#[derive(Debug)]
pub(crate) struct LoginLimiter {
    buckets: KeyedLimiter<IpAddr>,
    trusted_proxies: Vec<ProxyNetwork>,
}

impl LoginLimiter {
    pub(crate) fn new(settings: &RateLimitSettings) -> LoginLimiter {
        LoginLimiter {
            buckets: KeyedLimiter::new(
                settings.login.per_address_per_minute,
                settings.login.burst,
                MAX_TRACKED_ADDRESSES,
            ),
            trusted_proxies: settings.trusted_proxies.clone(),
        }
    }
}

/// A login attempt admitted by the per-address limit. It holds its token: dropping it gives the
/// token back, and [`LoginAttempt::failed`] keeps it spent.
#[derive(Debug)]
pub(crate) struct LoginAttempt {
    limiter: Arc<LoginLimiter>,
    key: IpAddr,
    spent: bool,
}

impl LoginAttempt {
    /// The password check failed: this attempt counts against the address.
    pub(crate) fn failed(mut self) {
        self.spent = true;
    }
}

impl Drop for LoginAttempt {
    fn drop(&mut self) {
        if !self.spent {
            self.limiter.buckets.refund(&self.key, Instant::now());
        }
    }
}

/// A 429 answer: problem+json with the code `too_many_requests` and `Retry-After` in whole
/// seconds, rounded up so that a client that waits that long finds a token.
fn too_many_requests(retry_after: Duration) -> Response {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        format!(
            "слишком много неудачных попыток входа с вашего адреса; повторите через {seconds} с"
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

impl FromRequestParts<Arc<Vault>> for LoginAttempt {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        vault: &Arc<Vault>,
    ) -> Result<LoginAttempt, Response> {
        let Some(limiter) = parts.extensions.get::<Arc<LoginLimiter>>().cloned() else {
            // Only a router built without `crate::router_with` gets here: a bug, refused.
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "no_rate_limiter",
                "ограничение частоты входа не настроено; запрос отклонён",
            )
            .into_response());
        };
        // `crate::serve` always records the peer; a router served some other way without it
        // puts every client under one key, which limits too much rather than too little.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |c| c.0.ip());
        let key = limit_key(client_address(
            peer,
            &parts.headers,
            &limiter.trusted_proxies,
        ));
        match limiter.buckets.acquire(&key, Instant::now()) {
            Decision::Allowed => Ok(LoginAttempt {
                limiter,
                key,
                spent: false,
            }),
            Decision::Refused { retry_after, first } => {
                if first {
                    let route = parts
                        .extensions
                        .get::<MatchedPath>()
                        .map_or("", MatchedPath::as_str);
                    let endpoint = format!("{} {route}", parts.method);
                    if let Err(e) = vault.audit_rate_limited(&endpoint).await {
                        // Nothing was recorded: let the next refusal try again.
                        limiter.buckets.forget_refusal(&key);
                        return Err(ApiError::from(e).into_response());
                    }
                }
                Err(too_many_requests(retry_after))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn refused(d: Decision) -> (Duration, bool) {
        match d {
            Decision::Refused { retry_after, first } => (retry_after, first),
            Decision::Allowed => panic!("expected a refusal"),
        }
    }

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = KeyedLimiter::new(10, 3, 100);
        let t0 = Instant::now();
        let key = ip("192.0.2.1");
        for _ in 0..3 {
            assert_eq!(limiter.acquire(&key, t0), Decision::Allowed);
        }
        let (wait, first) = refused(limiter.acquire(&key, t0));
        assert!(first);
        assert_eq!(wait, Duration::from_secs(6), "10 a minute is one every 6 s");
        let (wait, first) = refused(limiter.acquire(&key, t0 + Duration::from_secs(2)));
        assert!(!first, "one run of refusals is reported once");
        assert_eq!(wait, Duration::from_secs(4));
        // Other addresses are not affected.
        assert_eq!(limiter.acquire(&ip("192.0.2.2"), t0), Decision::Allowed);
        // Six seconds later there is one token, and only one.
        let t6 = t0 + Duration::from_secs(6);
        assert_eq!(limiter.acquire(&key, t6), Decision::Allowed);
        let (_, first) = refused(limiter.acquire(&key, t6));
        assert!(first, "a new run after a token was granted");
        // After a full refill period the whole burst is back.
        let later = t6 + Duration::from_secs(18);
        for _ in 0..3 {
            assert_eq!(limiter.acquire(&key, later), Decision::Allowed);
        }
        assert!(matches!(
            limiter.acquire(&key, later),
            Decision::Refused { .. }
        ));
    }

    #[test]
    fn other_settings_other_limits() {
        let t0 = Instant::now();
        let key = ip("198.51.100.7");
        let strict = KeyedLimiter::new(1, 1, 10);
        assert_eq!(strict.acquire(&key, t0), Decision::Allowed);
        let (wait, _) = refused(strict.acquire(&key, t0));
        assert_eq!(wait, Duration::from_secs(60));
        let generous = KeyedLimiter::new(600, 50, 10);
        for _ in 0..50 {
            assert_eq!(generous.acquire(&key, t0), Decision::Allowed);
        }
        let (wait, _) = refused(generous.acquire(&key, t0));
        assert_eq!(wait, Duration::from_millis(100));
        // Zeros would lock out forever; they are raised to 1.
        let zero = KeyedLimiter::new(0, 0, 0);
        assert_eq!(zero.acquire(&key, t0), Decision::Allowed);
        assert!(matches!(zero.acquire(&key, t0), Decision::Refused { .. }));
        assert!(
            LoginRateLimit {
                per_address_per_minute: 0,
                burst: 5
            }
            .validate()
            .unwrap_err()
            .contains("per_address_per_minute")
        );
        assert!(
            LoginRateLimit {
                per_address_per_minute: 5,
                burst: 0
            }
            .validate()
            .unwrap_err()
            .contains("burst")
        );
        assert_eq!(LoginRateLimit::default().validate(), Ok(()));
    }

    #[test]
    fn refunds_give_tokens_back_up_to_the_burst() {
        let limiter = KeyedLimiter::new(1, 2, 10);
        let t0 = Instant::now();
        let key = ip("192.0.2.1");
        for _ in 0..10 {
            assert_eq!(limiter.acquire(&key, t0), Decision::Allowed);
            limiter.refund(&key, t0);
        }
        limiter.refund(&key, t0);
        limiter.refund(&key, t0);
        assert_eq!(limiter.acquire(&key, t0), Decision::Allowed);
        assert_eq!(limiter.acquire(&key, t0), Decision::Allowed);
        assert!(
            matches!(limiter.acquire(&key, t0), Decision::Refused { .. }),
            "refunds never raise a bucket above its burst"
        );
    }

    #[test]
    fn forgetting_a_refusal_reports_the_next_one_again() {
        let limiter = KeyedLimiter::new(1, 1, 10);
        let t0 = Instant::now();
        let key = ip("192.0.2.1");
        limiter.acquire(&key, t0);
        assert!(refused(limiter.acquire(&key, t0)).1);
        limiter.forget_refusal(&key);
        assert!(refused(limiter.acquire(&key, t0)).1);
        assert!(!refused(limiter.acquire(&key, t0)).1);
    }

    #[test]
    fn memory_stays_bounded() {
        let limiter = KeyedLimiter::new(10, 2, 100);
        let t0 = Instant::now();
        for i in 0..1000u32 {
            let key = IpAddr::from(i.to_be_bytes());
            limiter.acquire(&key, t0);
            limiter.acquire(&key, t0);
            assert!(
                limiter.tracked() <= 100,
                "{} keys after {i}",
                limiter.tracked()
            );
        }
        // The newest key is remembered, so its empty bucket still refuses.
        let last = IpAddr::from(999u32.to_be_bytes());
        assert!(matches!(
            limiter.acquire(&last, t0),
            Decision::Refused { .. }
        ));
        // Once buckets have refilled, a sweep forgets them all.
        let later = t0 + Duration::from_secs(3600);
        limiter.acquire(&ip("203.0.113.1"), later);
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn networks_parse_and_match() {
        let net: ProxyNetwork = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")), "IPv4-mapped IPv6");
        let odd: ProxyNetwork = "172.16.0.0/12".parse().unwrap();
        assert!(odd.contains(ip("172.31.255.255")));
        assert!(!odd.contains(ip("172.32.0.0")));
        let one: ProxyNetwork = "192.0.2.10".parse().unwrap();
        assert!(one.contains(ip("192.0.2.10")) && !one.contains(ip("192.0.2.11")));
        let v6: ProxyNetwork = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all: ProxyNetwork = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.5")));
        for bad in ["nginx", "10.0.0.0/33", "::/129", "10.0.0.0/x", ""] {
            let err = bad.parse::<ProxyNetwork>().unwrap_err();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn the_client_is_found_behind_trusted_proxies_only() {
        let trusted = RateLimitSettings::default().trusted_proxies;
        let loopback = ip("127.0.0.1");
        // A direct client: its own header is ignored.
        assert_eq!(
            client_address(ip("203.0.113.5"), &forwarded(&["198.51.100.1"]), &trusted),
            ip("203.0.113.5")
        );
        // Behind the local proxy: the address it appended.
        assert_eq!(
            client_address(loopback, &forwarded(&["203.0.113.5"]), &trusted),
            ip("203.0.113.5")
        );
        // A client cannot hide behind a forged entry: the proxy's entry is the rightmost.
        assert_eq!(
            client_address(loopback, &forwarded(&["1.2.3.4, 203.0.113.5"]), &trusted),
            ip("203.0.113.5")
        );
        // Several trusted hops, over several header lines.
        let chain: Vec<ProxyNetwork> =
            vec!["127.0.0.1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            client_address(loopback, &forwarded(&["203.0.113.5", "10.0.0.2"]), &chain),
            ip("203.0.113.5")
        );
        // Garbage stops the walk at the last good address.
        assert_eq!(
            client_address(loopback, &forwarded(&["203.0.113.5, garbage"]), &trusted),
            loopback
        );
        // No header: the proxy itself.
        assert_eq!(
            client_address(loopback, &HeaderMap::new(), &trusted),
            loopback
        );
        // Nothing trusted: always the peer.
        assert_eq!(
            client_address(loopback, &forwarded(&["203.0.113.5"]), &[]),
            loopback
        );
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_network() {
        assert_eq!(
            limit_key(ip("2001:db8:1:2:aaaa::1")),
            limit_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:2::1")),
            limit_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(limit_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let r = too_many_requests(Duration::from_millis(5_200));
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "6");
        assert_eq!(
            too_many_requests(Duration::ZERO).headers()[header::RETRY_AFTER],
            "1"
        );
    }
}
