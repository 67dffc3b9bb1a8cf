//! Running the server for real: the client's address behind a reverse proxy,
//! per-address rate limits, one log line per request, Prometheus metrics,
//! HSTS, and the liveness and readiness probes.
//!
//! Every request passes [`observe`] (a layer over the whole router):
//!
//! 1. the client address: the TCP peer, or — when the peer is one of the
//!    configured `trusted_proxies` — the right-most `X-Forwarded-For` hop that
//!    is not itself a trusted proxy (a client cannot forge its way past the
//!    proxy, which appends the address it saw). Handlers and the audit trail
//!    see the same address ([`ClientIp`]);
//! 2. the rate limit of that address (a token bucket for logins, another for
//!    everything else but the probes, metrics and static files): over it, a
//!    429 problem+json with `Retry-After`;
//! 3. the handler, then a request id (`X-Request-Id`), HSTS when configured,
//!    the metrics, and one log line: method, the matched route *template*
//!    (`/api/v1/patients/{id}`, never the concrete path or the query string,
//!    which carry identifiers and search text), status, latency, request id.
//!
//! Nothing here is shared between processes: each server counts its own
//! metrics and rate limits (see docs/DEPLOYMENT.md).

use crate::app::AppState;
use crate::problem::Problem;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// Per-client-address request rates; `0` turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Login attempts (`POST /api/v1/session`, `POST /login`, and password
    /// changes, which check the current password) per minute, sustained.
    pub login_per_minute: u32,
    /// Login attempts allowed at once before the rate applies.
    pub login_burst: u32,
    /// Other requests (API and pages) per second, sustained.
    pub api_per_second: u32,
    /// Other requests allowed at once before the rate applies.
    pub api_burst: u32,
}

impl RateLimits {
    /// No limits (in-process tests and benchmarks; `limbpath serve` has its own defaults).
    pub const OFF: RateLimits = RateLimits { login_per_minute: 0, login_burst: 0, api_per_second: 0, api_burst: 0 };
    /// What `limbpath serve` applies unless configured otherwise: a person
    /// logging in never meets the login limit, a password-guessing script
    /// does (on top of the per-username lockout); the API limit is far above
    /// what a clinic's browser or integration sends from one address.
    pub const RECOMMENDED: RateLimits =
        RateLimits { login_per_minute: 10, login_burst: 10, api_per_second: 50, api_burst: 200 };
}

/// A trusted proxy: one address (`10.0.0.2`, as `/32` or `/128`) or a CIDR
/// range of them (`10.0.0.0/8`, `fd00::/8`). Written as `address/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Why a trusted-proxy entry is not an address or a CIDR range; the message names the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpNetError {
    #[error("{0:?} is not an IP address or a CIDR range (10.0.0.0/8, fd00::/8)")]
    Garbage(String),
    #[error("{entry:?}: prefix length {prefix} is more than {max} for an IPv{version} address")]
    PrefixTooLong { entry: String, prefix: String, max: u8, version: u8 },
    #[error("{entry:?} has bits set past its prefix; the range is {network}")]
    HostBits { entry: String, network: String },
}

impl IpNet {
    /// The range's first address and its prefix length.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<IpNet> {
        (prefix <= max_prefix(addr)).then_some(IpNet { addr, prefix })
    }

    /// Whether `ip` is in the range. An IPv4 client seen by a server
    /// listening on IPv6 arrives as `::ffff:a.b.c.d`; it matches IPv4 ranges.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.contains_exactly(ip) || self.contains_exactly(ip.to_canonical())
    }

    fn contains_exactly(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = mask4(self.prefix);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = mask6(self.prefix);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// The address with the bits past the prefix cleared.
    fn network(addr: IpAddr, prefix: u8) -> IpAddr {
        match addr {
            IpAddr::V4(a) => IpAddr::V4((u32::from(a) & mask4(prefix)).into()),
            IpAddr::V6(a) => IpAddr::V6((u128::from(a) & mask6(prefix)).into()),
        }
    }
}

/// The first `prefix` bits set (`checked_shl`: a shift by the full width, for `/0`, is no mask at all).
fn mask4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

impl From<IpAddr> for IpNet {
    fn from(addr: IpAddr) -> IpNet {
        IpNet { addr, prefix: max_prefix(addr) }
    }
}

impl std::str::FromStr for IpNet {
    type Err = IpNetError;

    fn from_str(entry: &str) -> Result<IpNet, IpNetError> {
        let garbage = || IpNetError::Garbage(entry.to_owned());
        let (addr, prefix) = match entry.split_once('/') {
            None => return entry.parse::<IpAddr>().map(IpNet::from).map_err(|_| garbage()),
            Some((addr, prefix)) => (addr.parse::<IpAddr>().map_err(|_| garbage())?, prefix),
        };
        // Digits only: `u8::from_str` would also take "+8".
        if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(garbage());
        }
        let max = max_prefix(addr);
        let too_long = || IpNetError::PrefixTooLong {
            entry: entry.to_owned(),
            prefix: prefix.to_owned(),
            max,
            version: if addr.is_ipv4() { 4 } else { 6 },
        };
        let prefix = prefix.parse::<u8>().map_err(|_| too_long())?;
        if prefix > max {
            return Err(too_long());
        }
        // `10.1.2.3/8` is more likely a typo than a wish to trust all of 10/8: say which range it is.
        let network = IpNet::network(addr, prefix);
        if network != addr {
            return Err(IpNetError::HostBits { entry: entry.to_owned(), network: format!("{network}/{prefix}") });
        }
        Ok(IpNet { addr, prefix })
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl<'de> serde::Deserialize<'de> for IpNet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<IpNet, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The client address the server believes (after `X-Forwarded-For` from a
/// trusted proxy); set by [`observe`] for handlers and the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The client behind the peer: the peer itself unless it is a trusted proxy;
/// then `X-Forwarded-For` from the right, skipping trusted proxies. An
/// unreadable hop stops the walk at the last trusted address.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let mut last = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if is_trusted(ip) => last = ip,
            Ok(ip) => return Some(ip),
            Err(_) => return Some(last),
        }
    }
    Some(last)
}

/// A token bucket per client address.
#[derive(Debug)]
pub struct Limiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Addresses remembered before full buckets are forgotten.
const MAX_TRACKED: usize = 50_000;

impl Limiter {
    pub fn new(per_second: f64, burst: u32) -> Limiter {
        Limiter { per_second, burst: f64::from(burst.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Take a token for `ip` at `now`, or say how long until one is available.
    pub fn take(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets.entry(ip).or_insert((self.burst, now));
        let available = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if available >= 1.0 {
            *tokens = available - 1.0;
            Ok(())
        } else {
            *tokens = available;
            Err(Duration::from_secs_f64((1.0 - available) / self.per_second))
        }
    }
}

/// Histogram bounds of request latency, in seconds.
const LATENCY_BUCKETS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; LATENCY_BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Counters {
    /// (route template, method, status) → requests.
    requests: BTreeMap<(String, &'static str, u16), u64>,
    /// (route template, method) → latency.
    latency: BTreeMap<(String, &'static str), Histogram>,
    /// bucket → requests refused.
    rate_limited: BTreeMap<&'static str, u64>,
}

/// What this process measures, and its rate limiters.
#[derive(Debug)]
pub struct Ops {
    counters: Mutex<Counters>,
    in_flight: AtomicI64,
    started: Instant,
    login: Limiter,
    api: Limiter,
}

impl Ops {
    pub fn new(limits: RateLimits) -> Ops {
        Ops {
            counters: Mutex::new(Counters::default()),
            in_flight: AtomicI64::new(0),
            started: Instant::now(),
            login: Limiter::new(f64::from(limits.login_per_minute) / 60.0, limits.login_burst),
            api: Limiter::new(f64::from(limits.api_per_second), limits.api_burst),
        }
    }

    fn record(&self, route: &str, method: &'static str, status: u16, latency: Duration) {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *c.requests.entry((route.to_owned(), method, status)).or_default() += 1;
        let h = c.latency.entry((route.to_owned(), method)).or_default();
        let s = latency.as_secs_f64();
        for (n, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if s <= *bound {
                h.counts[n] += 1;
            }
        }
        h.sum += s;
        h.count += 1;
    }

    fn limited(&self, bucket: &'static str) {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *c.rate_limited.entry(bucket).or_default() += 1;
    }
}

/// Counts a request in flight until dropped (also when the client goes away).
struct InFlight<'a>(&'a AtomicI64);

impl<'a> InFlight<'a> {
    fn enter(n: &'a AtomicI64) -> InFlight<'a> {
        n.fetch_add(1, Ordering::Relaxed);
        InFlight(n)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A method as a metric label (a fixed set, so clients cannot add labels).
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Routes that are never rate-limited and logged at debug level only.
fn is_probe(route: &str) -> bool {
    matches!(route, "/healthz" | "/readyz" | "/metrics") || route.starts_with("/static/")
}

/// Requests that check a password: logins, and password changes (which check
/// the current one), so guessing through either meets the login limit.
fn is_login(method: &Method, route: &str) -> bool {
    (method == Method::POST && matches!(route, "/api/v1/session" | "/login" | "/account/password"))
        || (method == Method::PUT && route == "/api/v1/session/password")
}

/// 16 hex digits from the OS random source.
fn request_id() -> String {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return "0000000000000000".to_owned();
    }
    b.iter().fold(String::with_capacity(16), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// The layer every request passes (see the module documentation).
pub async fn observe(State(state): State<std::sync::Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let method = req.method().clone();
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip());
    let client = client_ip(peer, req.headers(), &state.config.trusted_proxies);
    if let Some(ip) = client {
        req.extensions_mut().insert(ClientIp(ip));
    }
    let id = request_id();
    let ops = &state.ops;
    let limit = match client {
        Some(ip) if is_login(&method, &route) => ops.login.take(ip, start).map_err(|w| ("login", w)),
        Some(ip) if !is_probe(&route) => ops.api.take(ip, start).map_err(|w| ("api", w)),
        _ => Ok(()),
    };
    let mut response = match limit {
        Ok(()) => {
            let _in_flight = InFlight::enter(&ops.in_flight);
            next.run(req).await
        }
        Err((bucket, wait)) => {
            ops.limited(bucket);
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let secs = secs.max(1);
            let what = if bucket == "login" { "login attempts" } else { "requests" };
            let mut r = Problem::too_many_requests(format!("too many {what} from this address; try again in {secs} s"))
                .into_response();
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            r
        }
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert("x-request-id", v);
    }
    if state.config.hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    let latency = start.elapsed();
    let status = response.status().as_u16();
    let m = method_label(&method);
    ops.record(&route, m, status, latency);
    let latency_ms = latency.as_secs_f64() * 1000.0;
    // Only the route template: never the concrete path or the query string.
    if is_probe(&route) {
        tracing::debug!(target: "limbpath::http", request_id = %id, method = m, route = %route, status, latency_ms, "request");
    } else if status >= 500 {
        tracing::warn!(target: "limbpath::http", request_id = %id, method = m, route = %route, status, latency_ms, "request");
    } else {
        tracing::info!(target: "limbpath::http", request_id = %id, method = m, route = %route, status, latency_ms, "request");
    }
    response
}

/// `Strict-Transport-Security` when the deployment is served over TLS: one
/// year, subdomains included (no `preload`: that is the operator's decision).
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// `GET /healthz`: the process answers (liveness; no database round trip).
pub async fn healthz() -> &'static str {
    "ok"
}

/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// `GET /readyz`: the database answers a round trip (readiness). 503
/// problem+json when it does not, within a few seconds.
pub async fn readyz(State(state): State<std::sync::Arc<AppState>>) -> Response {
    match tokio::time::timeout(READY_TIMEOUT, state.store.health()).await {
        Ok(Ok(())) => "ready".into_response(),
        Ok(Err(e)) => {
            tracing::warn!(target: "limbpath::ready", error = %e, "readiness check failed");
            Problem::unavailable("the database is unreachable").into_response()
        }
        Err(_) => {
            tracing::warn!(target: "limbpath::ready", "readiness check timed out");
            Problem::unavailable("the database did not answer in time").into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text. Served to a scraper on the same host
/// (loopback peer, no forwarding headers — a reverse proxy on the same host
/// adds them) or to one presenting the configured metrics token as a bearer
/// token; anyone else gets 403. The figures hold no patient data, but route
/// usage, error rates and pool sizes help an attacker time and tune an attack,
/// so they are not public.
pub async fn metrics(State(state): State<std::sync::Arc<AppState>>, req: Request) -> Response {
    // The TCP peer itself, not the address believed from X-Forwarded-For.
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip());
    if !may_read_metrics(peer, req.headers(), state.config.metrics_token.as_deref()) {
        return Problem::forbidden(
            "metrics are served to the same host (not through a proxy) or with the metrics token as a bearer token",
        )
        .into_response();
    }
    let mut r = render(&state).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Who may read `/metrics` (see [`metrics`]).
pub fn may_read_metrics(peer: Option<IpAddr>, headers: &HeaderMap, token: Option<&str>) -> bool {
    if let (Some(expected), Some(sent)) = (token, crate::http::bearer(headers))
        && crate::web::constant_time_eq(expected.as_bytes(), sent.as_bytes())
    {
        return true;
    }
    let forwarded = ["x-forwarded-for", "forwarded", "x-real-ip"].iter().any(|h| headers.contains_key(*h));
    peer.is_some_and(|p| p.is_loopback()) && !forwarded
}

/// A label value with `\`, `"` and newlines escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The Prometheus text exposition (format 0.0.4) of this process's figures.
pub fn render(state: &AppState) -> String {
    let mut out = String::new();
    let ops = &state.ops;
    header(&mut out, "limbpath_build_info", "gauge", "The running version.");
    let _ = writeln!(out, "limbpath_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
    header(&mut out, "limbpath_uptime_seconds", "gauge", "Seconds since the server started.");
    let _ = writeln!(out, "limbpath_uptime_seconds {:.3}", ops.started.elapsed().as_secs_f64());
    header(&mut out, "limbpath_http_requests_in_flight", "gauge", "Requests being answered now.");
    let _ = writeln!(out, "limbpath_http_requests_in_flight {}", ops.in_flight.load(Ordering::Relaxed));
    {
        let c = ops.counters.lock().unwrap_or_else(|p| p.into_inner());
        header(
            &mut out,
            "limbpath_http_requests_total",
            "counter",
            "Requests answered, by route template, method and status.",
        );
        for ((route, method, status), n) in &c.requests {
            let _ = writeln!(
                out,
                "limbpath_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                label(route)
            );
        }
        header(
            &mut out,
            "limbpath_http_request_duration_seconds",
            "histogram",
            "Time to answer a request, by route template and method.",
        );
        for ((route, method), h) in &c.latency {
            let l = format!("route=\"{}\",method=\"{method}\"", label(route));
            for (bound, n) in LATENCY_BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(out, "limbpath_http_request_duration_seconds_bucket{{{l},le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "limbpath_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "limbpath_http_request_duration_seconds_sum{{{l}}} {}", h.sum);
            let _ = writeln!(out, "limbpath_http_request_duration_seconds_count{{{l}}} {}", h.count);
        }
        header(&mut out, "limbpath_http_rate_limited_total", "counter", "Requests refused by a rate limit, by bucket.");
        for bucket in ["login", "api"] {
            let n = c.rate_limited.get(bucket).copied().unwrap_or(0);
            let _ = writeln!(out, "limbpath_http_rate_limited_total{{bucket=\"{bucket}\"}} {n}");
        }
    }
    let engine = state.store.engine();
    let pools = state.store.pool_stats();
    header(&mut out, "limbpath_db_pool_connections", "gauge", "Open database connections, by engine and pool.");
    for (pool, size, _) in &pools {
        let _ = writeln!(out, "limbpath_db_pool_connections{{engine=\"{engine}\",pool=\"{pool}\"}} {size}");
    }
    header(&mut out, "limbpath_db_pool_idle_connections", "gauge", "Idle database connections, by engine and pool.");
    for (pool, _, idle) in &pools {
        let _ = writeln!(out, "limbpath_db_pool_idle_connections{{engine=\"{engine}\",pool=\"{pool}\"}} {idle}");
    }
    header(
        &mut out,
        "limbpath_audit_backlog",
        "gauge",
        "Audit entries queued for the group-commit writer, not yet in a transaction.",
    );
    let _ = writeln!(out, "limbpath_audit_backlog {}", state.audit.backlog());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.2");
        let trusted = [IpNet::from(proxy)];
        // a direct client cannot claim another address
        assert_eq!(client_ip(Some(ip("203.0.113.9")), &xff("198.51.100.1"), &trusted), Some(ip("203.0.113.9")));
        // through the proxy: the hop the proxy appended, not what the client wrote before it
        let forged = xff("198.51.100.1, 203.0.113.9");
        assert_eq!(client_ip(Some(proxy), &forged, &trusted), Some(ip("203.0.113.9")));
        // chained trusted proxies are skipped
        let chain = xff("203.0.113.9, 10.0.0.2");
        assert_eq!(client_ip(Some(proxy), &chain, &trusted), Some(ip("203.0.113.9")));
        // garbage stops at the last trusted hop; no header means the proxy itself
        assert_eq!(client_ip(Some(proxy), &xff("not-an-ip"), &trusted), Some(proxy));
        assert_eq!(client_ip(Some(proxy), &HeaderMap::new(), &trusted), Some(proxy));
        assert_eq!(client_ip(None, &forged, &trusted), None);
    }

    #[test]
    fn forwarded_for_is_believed_from_a_trusted_range() {
        let trusted: Vec<IpNet> = ["10.0.0.0/8", "fd00::/8"].iter().map(|n| n.parse().unwrap()).collect();
        // two proxies inside the range, the client outside it
        let chain = xff("198.51.100.1, 203.0.113.9, 10.200.0.1");
        assert_eq!(client_ip(Some(ip("10.0.0.2")), &chain, &trusted), Some(ip("203.0.113.9")));
        assert_eq!(client_ip(Some(ip("fd12::7")), &chain, &trusted), Some(ip("203.0.113.9")));
        // an IPv4 proxy seen by a server listening on IPv6
        assert_eq!(client_ip(Some(ip("::ffff:10.1.1.1")), &chain, &trusted), Some(ip("203.0.113.9")));
        // a peer outside every range is the client, whatever it claims
        assert_eq!(client_ip(Some(ip("11.0.0.1")), &chain, &trusted), Some(ip("11.0.0.1")));
        assert_eq!(client_ip(Some(ip("fe00::1")), &chain, &trusted), Some(ip("fe00::1")));
    }

    #[test]
    fn trusted_proxy_entries_parse_as_addresses_or_ranges() {
        let net = |s: &str| s.parse::<IpNet>();
        assert_eq!(net("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(net("fd00::/8").unwrap().to_string(), "fd00::/8");
        // a bare address is a range of one
        assert_eq!(net("10.0.0.2").unwrap(), IpNet::new(ip("10.0.0.2"), 32).unwrap());
        assert_eq!(net("::1").unwrap().to_string(), "::1/128");
        assert_eq!(net("0.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
        assert_eq!(net("::/0").unwrap().to_string(), "::/0");
        assert_eq!(net("192.0.2.7/32").unwrap(), net("192.0.2.7").unwrap());
        // bad prefix lengths
        assert!(matches!(net("10.0.0.0/33"), Err(IpNetError::PrefixTooLong { max: 32, .. })));
        assert!(matches!(net("fd00::/129"), Err(IpNetError::PrefixTooLong { max: 128, .. })));
        assert!(matches!(net("10.0.0.0/300"), Err(IpNetError::PrefixTooLong { .. })));
        for bad in ["10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8/8", "10.0.0.0/eight", "10.0.0.0/0008"] {
            assert!(matches!(net(bad), Err(IpNetError::Garbage(_))), "{bad}");
        }
        // garbage
        for bad in ["", "localhost", "10.0.0.300", "10.0.0/8", "/8", "fd00::/8 ", "10.0.0.0 /8"] {
            assert!(matches!(net(bad), Err(IpNetError::Garbage(_))), "{bad:?}");
        }
        // bits past the prefix: named, with the range meant
        let e = net("10.1.2.3/8").unwrap_err();
        assert_eq!(e.to_string(), "\"10.1.2.3/8\" has bits set past its prefix; the range is 10.0.0.0/8");
        assert!(net("10.0.0.0/33").unwrap_err().to_string().contains("\"10.0.0.0/33\""));
        assert!(IpNet::new(ip("10.0.0.0"), 33).is_none());
    }

    #[test]
    fn ranges_match_by_prefix() {
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        let ten = net("10.0.0.0/8");
        assert!(ten.contains(ip("10.0.0.0")) && ten.contains(ip("10.255.255.255")));
        assert!(!ten.contains(ip("11.0.0.0")) && !ten.contains(ip("9.255.255.255")));
        assert!(!ten.contains(ip("::a00:1")), "IPv6 is never in an IPv4 range (except mapped)");
        assert!(ten.contains(ip("::ffff:10.9.8.7")));
        let odd = net("172.16.0.0/12");
        assert!(odd.contains(ip("172.31.255.255")) && !odd.contains(ip("172.32.0.0")));
        let one = net("192.0.2.7");
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.6")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.9")) && !net("0.0.0.0/0").contains(ip("2001:db8::1")));
        let ula = net("fd00::/8");
        assert!(ula.contains(ip("fd12:3456::1")) && !ula.contains(ip("fc00::1")) && !ula.contains(ip("fe80::1")));
        let v6 = net("2001:db8:abcd::/48");
        assert!(v6.contains(ip("2001:db8:abcd:ffff::1")) && !v6.contains(ip("2001:db8:abce::1")));
        assert!(net("::/0").contains(ip("::1")));
        assert!(net("::1").contains(ip("::1")) && !net("::1").contains(ip("::2")));
    }

    #[test]
    fn token_bucket_allows_a_burst_then_the_rate() {
        let l = Limiter::new(2.0, 3);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            assert!(l.take(a, t0).is_ok());
        }
        let wait = l.take(a, t0).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500), "{wait:?}");
        // another address has its own bucket
        assert!(l.take(ip("192.0.2.2"), t0).is_ok());
        // half a second later, one token at 2 per second
        let t1 = t0 + Duration::from_millis(500);
        assert!(l.take(a, t1).is_ok());
        assert!(l.take(a, t1).is_err());
        // off
        assert!((0..1000).all(|_| Limiter::new(0.0, 0).take(a, t0).is_ok()));
    }

    #[test]
    fn metrics_are_for_the_same_host_or_the_token() {
        let local = Some(ip("127.0.0.1"));
        assert!(may_read_metrics(local, &HeaderMap::new(), None));
        assert!(!may_read_metrics(local, &xff("203.0.113.9"), None), "through a proxy on the same host");
        assert!(!may_read_metrics(Some(ip("10.1.2.3")), &HeaderMap::new(), None));
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer s3cret-scrape-token"));
        assert!(may_read_metrics(Some(ip("10.1.2.3")), &h, Some("s3cret-scrape-token")));
        assert!(!may_read_metrics(Some(ip("10.1.2.3")), &h, Some("another-token")));
        assert!(!may_read_metrics(Some(ip("10.1.2.3")), &h, None));
        // the token counts as a bearer token only, never as a cookie
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("limbpath_session=s3cret-scrape-token"));
        assert!(!may_read_metrics(Some(ip("10.1.2.3")), &h, Some("s3cret-scrape-token")));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
