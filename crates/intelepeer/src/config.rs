//! The client's configuration, the base URL rule, and the per-call record handed
//! to an observer (for metrics).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::pages::MAX_ACCOUNT_NUMBERS;
use crate::secret::Credentials;

/// The vendor's production base URL.
pub const DEFAULT_BASE_URL: &str = "https://customer.intelepeer.com";

/// The default cap on a response body: 1 MiB (1,048,576 bytes).
///
/// How it is sized: the reference's richest inventory record (`+18003255821`
/// with an SMS route and, here, a voice route as well: every media field
/// filled) is 1,125 bytes pretty-printed at the depth it sits in a page. A
/// 100-record page carries 101 of them (the `pageSize + 1` extra record):
/// about 114 KB. 1 MiB is about 9× that, room for long labels and larger media
/// configurations than the reference shows; the simulator's 101-record pages
/// are about 40 KB. Every other answer (search, reservation, order, error) is
/// smaller than a listing page. A test rebuilds that page and checks the
/// ratio stays at least 8×.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;

/// The vendor endpoints, as labels for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /_rest/v4/authenticate`.
    Authenticate,
    /// `GET /_rest/v4/carrier/tf`.
    SearchPool,
    /// `GET /_rest/v4/my/tf`.
    ListInventory,
    /// `POST /_rest/v4/carrier/tf/reservations`.
    Reserve,
    /// `POST /_rest/v4/my/tf/orders`.
    Purchase,
    /// `POST /_rest/v4/my/tf/package`.
    ChangePackage,
    /// `POST /_rest/v4/my/tf/disconnect`.
    Disconnect,
}

impl Endpoint {
    /// The HTTP method.
    pub fn method(self) -> &'static str {
        match self {
            Self::SearchPool | Self::ListInventory => "GET",
            _ => "POST",
        }
    }

    /// The path below the base URL.
    pub fn path(self) -> &'static str {
        match self {
            Self::Authenticate => "/_rest/v4/authenticate",
            Self::SearchPool => "/_rest/v4/carrier/tf",
            Self::ListInventory => "/_rest/v4/my/tf",
            Self::Reserve => "/_rest/v4/carrier/tf/reservations",
            Self::Purchase => "/_rest/v4/my/tf/orders",
            Self::ChangePackage => "/_rest/v4/my/tf/package",
            Self::Disconnect => "/_rest/v4/my/tf/disconnect",
        }
    }

    /// A stable label for metrics, e.g. `purchase`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Authenticate => "authenticate",
            Self::SearchPool => "search_pool",
            Self::ListInventory => "list_inventory",
            Self::Reserve => "reserve",
            Self::Purchase => "purchase",
            Self::ChangePackage => "change_package",
            Self::Disconnect => "disconnect",
        }
    }

    /// Whether the call changes the account (and so must not be repeated unless
    /// the vendor provably refused it).
    pub fn is_mutation(self) -> bool {
        matches!(
            self,
            Self::Reserve | Self::Purchase | Self::ChangePackage | Self::Disconnect
        )
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One HTTP exchange with the vendor (one attempt), for an observer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// Which endpoint.
    pub endpoint: Endpoint,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: u32,
    /// The HTTP status, if an answer came.
    pub status: Option<u16>,
    /// The error's [`Error::metric_label`], if the attempt failed.
    pub error: Option<&'static str>,
    /// How long the exchange took (waiting for the rate limit excluded).
    pub duration: Duration,
}

/// A callback told about every HTTP exchange (e.g. to count vendor calls by
/// endpoint and status). It must be cheap and must not block.
pub type Observer = Arc<dyn Fn(&CallRecord) + Send + Sync>;

/// Everything the client needs. Build with [`ClientConfig::new`] and adjust
/// fields; defaults suit production.
#[derive(Clone)]
pub struct ClientConfig {
    /// The API base URL; `https` required except for loopback hosts.
    pub base_url: String,
    /// Who the client is.
    pub credentials: Credentials,
    /// Whole-request timeout (default 30 s).
    pub timeout: Duration,
    /// Connection timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Attempts per call, the first included (default 4; at least 1).
    pub max_attempts: u32,
    /// Delay before the first retry, before jitter (default 250 ms).
    pub initial_backoff: Duration,
    /// Cap on any retry delay (default 30 s); a `Retry-After` longer than this is
    /// not waited for: the error is returned.
    pub max_delay: Duration,
    /// Requests per second to this account (default 10; 0 disables the limit).
    pub rate_limit_per_sec: f64,
    /// Requests that may go at once before the rate applies (default 10).
    pub rate_limit_burst: u32,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// How long a session token lives (24 h at IntelePeer).
    pub token_lifetime: Duration,
    /// How long before expiry the client authenticates again (default 1 h).
    pub token_refresh_margin: Duration,
    /// The largest answer body read, in bytes (default
    /// [`DEFAULT_MAX_BODY_BYTES`]); applies to every endpoint. A success answer
    /// beyond it fails with [`Error::BodyTooLarge`] without being buffered
    /// (its `Content-Length` is checked first, then the body is read chunk by
    /// chunk and abandoned at the cap); of an error answer only the first
    /// 64 KiB (or this cap, if smaller) are read, enough to classify it.
    pub max_body_bytes: u64,
    /// The largest account this client lists, in numbers (default
    /// [`MAX_ACCOUNT_NUMBERS`], 100,000). A listing may read
    /// [`crate::pages::max_pages_for`] pages — ⌈this / pageSize⌉ plus
    /// [`crate::pages::PAGE_SLACK`], 1,010 at the defaults — and fails with
    /// [`Error::Paging`] beyond, never returning a partial listing.
    pub max_account_numbers: u64,
    /// Told about every HTTP exchange.
    pub observer: Option<Observer>,
}

impl ClientConfig {
    /// A configuration with production defaults.
    pub fn new(base_url: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            base_url: base_url.into(),
            credentials,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_attempts: 4,
            initial_backoff: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            rate_limit_per_sec: 10.0,
            rate_limit_burst: 10,
            user_agent: concat!("tollfree-operator-intelepeer/", env!("CARGO_PKG_VERSION"))
                .to_owned(),
            token_lifetime: Duration::from_secs(24 * 3600),
            token_refresh_margin: Duration::from_secs(3600),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_account_numbers: MAX_ACCOUNT_NUMBERS,
            observer: None,
        }
    }

    /// Sets the observer.
    pub fn observer(mut self, observer: impl Fn(&CallRecord) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_delay", &self.max_delay)
            .field("rate_limit_per_sec", &self.rate_limit_per_sec)
            .field("rate_limit_burst", &self.rate_limit_burst)
            .field("user_agent", &self.user_agent)
            .field("token_lifetime", &self.token_lifetime)
            .field("token_refresh_margin", &self.token_refresh_margin)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_account_numbers", &self.max_account_numbers)
            .field(
                "observer",
                &self.observer.as_ref().map(|_| "Fn(&CallRecord)"),
            )
            .finish()
    }
}

/// Checks a base URL (the README's command line) and returns it without a trailing slash:
/// `https` is required, plain `http` is allowed only for loopback hosts
/// (127.0.0.0/8, ::1, localhost); no user info, query or fragment.
pub fn validate_base_url(raw: &str) -> Result<String, Error> {
    let raw = raw.trim();
    let shown = if raw.contains('@') {
        "(URL with user info, not shown)"
    } else {
        raw
    };
    let url = reqwest::Url::parse(raw)
        .map_err(|e| Error::Config(format!("base URL {shown:?} is not a valid URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(
            "the base URL must not contain a user name or password; credentials come from the account Secret"
                .to_owned(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "base URL {shown:?} must not have a query or fragment"
        )));
    }
    let host = url
        .host_str()
        .ok_or_else(|| Error::Config(format!("base URL {shown:?} has no host")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(Error::Config(format!(
                "base URL {shown:?} uses plain http; https is required except for loopback hosts (127.0.0.0/8, ::1, localhost)"
            )));
        }
        other => {
            return Err(Error::Config(format!(
                "base URL {shown:?} has scheme {other:?}; use https (or http for a loopback host)"
            )));
        }
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_accepted_and_normalized() {
        assert_eq!(
            validate_base_url("https://customer.intelepeer.com/").expect("ok"),
            "https://customer.intelepeer.com"
        );
        assert_eq!(
            validate_base_url(DEFAULT_BASE_URL).expect("ok"),
            DEFAULT_BASE_URL
        );
    }

    #[test]
    fn http_is_accepted_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8089",
            "http://127.3.4.5",
            "http://[::1]:8089/",
            "http://localhost:8089",
            "http://LOCALHOST",
        ] {
            assert!(validate_base_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://customer.intelepeer.com",
            "http://10.0.0.1",
            "http://128.0.0.1",
            "http://[::2]",
            "http://localhost.example.com",
            "http://0.0.0.0",
        ] {
            let e = validate_base_url(bad).expect_err(bad);
            assert!(e.to_string().contains("https is required"), "{bad}: {e}");
        }
    }

    #[test]
    fn other_schemes_user_info_and_queries_are_refused() {
        assert!(validate_base_url("ftp://127.0.0.1").is_err());
        assert!(validate_base_url("not a url").is_err());
        assert!(validate_base_url("https://h/?x=1").is_err());
        let e = validate_base_url("https://user:hunter2@host").expect_err("user info");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = validate_base_url("https://user:hunter2@").expect_err("bad");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    /// The reference's record with every media field filled (SMS and voice).
    fn richest_reference_record() -> serde_json::Value {
        let sip = |config: serde_json::Value| serde_json::json!({"provider": "IntelePeer", "service": "SIP", "ns": "intelepeer.sip", "config": config});
        serde_json::json!({
            "accountID": 1004318,
            "endpoint": "+18003255821",
            "hasCpaas": true,
            "label": "Automated Messaging",
            "packageID": 30744,
            "type": "LONG",
            "geo": {"country": "US", "stateProvince": null},
            "media": {
                "sms": {"rx": sip(serde_json::json!({"webhook": "cpaas://api.intelepeer.com"})), "tx": [sip(serde_json::json!({}))]},
                "voice": {"rx": sip(serde_json::json!({})), "tx": [sip(serde_json::json!({}))]},
            },
        })
    }

    #[test]
    fn the_default_body_cap_holds_a_full_page_of_rich_records_eight_times_over() {
        let page = serde_json::json!({
            "endpoints": vec![richest_reference_record(); 101],
            "hasMore": true,
        });
        let pretty = serde_json::to_vec_pretty(&page).expect("serializes").len() as u64;
        assert!(pretty > 100_000, "{pretty}");
        assert!(
            pretty * 8 <= DEFAULT_MAX_BODY_BYTES,
            "a 101-record page is {pretty} bytes"
        );
        let config = ClientConfig::new("http://127.0.0.1:1", Credentials::token("t"));
        assert_eq!(config.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(config.max_account_numbers, 100_000);
        assert_eq!(
            crate::pages::max_pages_for(config.max_account_numbers, 100),
            1_010
        );
    }

    #[test]
    fn endpoints_know_their_method_path_and_kind() {
        assert_eq!(Endpoint::Disconnect.path(), "/_rest/v4/my/tf/disconnect");
        assert_eq!(Endpoint::ListInventory.method(), "GET");
        assert!(Endpoint::Purchase.is_mutation());
        assert!(!Endpoint::SearchPool.is_mutation());
        assert!(!Endpoint::Authenticate.is_mutation());
    }
}
