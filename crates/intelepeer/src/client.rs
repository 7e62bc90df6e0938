//! The HTTP client: authentication, retries, rate limit, timeouts, tracing and
//! the inventory listing stream.
//!
//! # Retries and safety
//!
//! Reads (search, listing, authenticate) are retried on 429 (after the
//! `Retry-After` the vendor asked for), 5xx, timeouts and connection failures,
//! with exponential backoff and jitter, up to [`ClientConfig::max_attempts`].
//!
//! Mutations (reserve, purchase, change package, disconnect) are retried **only**
//! when the vendor provably did not act: a 429, a 503, or a connection that
//! failed before the request was sent. After a timeout, a dropped connection or
//! any other 5xx the request may have reached the vendor, and a second purchase
//! would buy twice: the error is returned, and the operator's write-ahead intent
//! (client-chosen reservation ID, reference ID) is resolved from the inventory.
//!
//! No other 4xx is ever retried. A 401 is followed by exactly one new
//! authentication (password credentials only) and one new attempt.
//!
//! # Bounded answers
//!
//! No answer is buffered beyond [`ClientConfig::max_body_bytes`] (1 MiB by
//! default): a `Content-Length` over the cap fails at once, and a body is read
//! chunk by chunk and abandoned at the cap, with [`Error::BodyTooLarge`] — a
//! huge answer is never taken for a valid (e.g. empty) listing. Of an error
//! answer only the first 64 KiB are read, enough to classify it; its message
//! is one line. A listing reads at most
//! [`crate::pages::max_pages_for`]`(`[`ClientConfig::max_account_numbers`]`, pageSize)`
//! pages of at most `pageSize + 1` records. What one listing keeps is
//! therefore bounded, but only by pages × cap in the worst case (about 1 GiB
//! at the defaults, for a vendor that fills every page with fresh records of
//! huge labels or media); records the size of the reference's richest one
//! come to about 115 MB of answers at the page bound (100,000 numbers).
//!
//! # Authentication
//!
//! The token is cached per client (one client per account) and renewed
//! [`ClientConfig::token_refresh_margin`] before its 24-hour expiry. Renewal is
//! single-flight: when ten requests meet an expired session together, one
//! authenticates and the others reuse its token. A refused password is not tried
//! again by the requests that were waiting for it.

use std::collections::VecDeque;
use std::error::Error as StdError;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::Stream;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::{CallRecord, ClientConfig, Endpoint, validate_base_url};
use crate::error::{BodyExtent, Error, TransportStage, excerpt, one_line};
use crate::models::{
    ChangePackageRequest, DisconnectRequest, InventoryNumber, InventoryPage, ListInventory, Order,
    PurchaseRequest, Reservation, ReserveRequest, SearchPage, SearchPool, parse_reservations,
};
use crate::pages::{InventorySnapshot, Pager};
use crate::retry::Backoff;
use crate::secret::{Credentials, Secret};

/// A typed client for one IntelePeer account. Cheap to clone (an `Arc` inside):
/// clones share the token, the rate limit and the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    cfg: ClientConfig,
    backoff: Backoff,
    auth: Mutex<AuthState>,
    /// Held while authenticating: the single flight.
    flight: tokio::sync::Mutex<()>,
    limiter: RateLimiter,
}

#[derive(Default)]
struct AuthState {
    token: Option<CachedToken>,
    /// Authentication attempts made (successful or not).
    attempts: u64,
    /// Successful authentications; also the token's generation.
    authentications: u64,
    /// Whether the last attempt was refused with 401.
    last_refused: bool,
}

struct CachedToken {
    token: Secret,
    obtained: Instant,
    generation: u64,
}

/// What one HTTP exchange produced before decoding.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

/// A body as far as it was read.
enum Body {
    /// All of it, within the cap.
    Whole(Vec<u8>),
    /// It is larger than the cap: what was read (nothing when its
    /// `Content-Length` said so) and the length it declared.
    Prefix {
        prefix: Vec<u8>,
        declared: Option<u64>,
    },
}

/// How much of an error answer's body is read: enough for the vendor's
/// `{"code","error"}` JSON and a summary of anything else.
const ERROR_BODY_PREFIX: u64 = 64 * 1024;

/// The most a body buffer reserves before data arrives, so that a large
/// declared `Content-Length` under the cap costs nothing until it is sent.
const INITIAL_BODY_CAPACITY: usize = 256 * 1024;

impl Client {
    /// Builds a client; fails if the base URL breaks the rule of
    /// [`validate_base_url`] or the HTTP stack cannot start.
    pub fn new(mut config: ClientConfig) -> Result<Self, Error> {
        let base = validate_base_url(&config.base_url)?;
        config.max_attempts = config.max_attempts.max(1);
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            // A redirect could carry the token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let limiter = RateLimiter::new(config.rate_limit_per_sec, config.rate_limit_burst);
        let backoff = Backoff {
            initial: config.initial_backoff,
            max: config.max_delay,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                cfg: config,
                backoff,
                auth: Mutex::new(AuthState::default()),
                flight: tokio::sync::Mutex::new(()),
                limiter,
            }),
        })
    }

    /// The validated base URL (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// How many times this client has authenticated successfully.
    pub fn authentications(&self) -> u64 {
        self.auth_state().authentications
    }

    /// Authenticates now (with password credentials), e.g. to check credentials
    /// at start-up. With a static token this does nothing.
    pub async fn authenticate(&self) -> Result<(), Error> {
        match &self.inner.cfg.credentials {
            Credentials::Token(_) => Ok(()),
            Credentials::Password { .. } => self.renew_token(Renew::Always).await.map(|_| ()),
        }
    }

    /// `GET /_rest/v4/carrier/tf`: searches the pool of purchasable numbers.
    pub async fn search_pool(&self, query: &SearchPool) -> Result<SearchPage, Error> {
        let answer = self
            .call(Endpoint::SearchPool, query.query_pairs(), None)
            .await?;
        decode_json(&answer)
    }

    /// `GET /_rest/v4/my/tf`: one page of the inventory, as the vendor sent it.
    /// Prefer [`Client::inventory`] or [`Client::list_all`], which handle paging.
    pub async fn list_inventory_page(&self, query: &ListInventory) -> Result<InventoryPage, Error> {
        let answer = self
            .call(Endpoint::ListInventory, query.query_pairs(), None)
            .await?;
        decode_json(&answer)
    }

    /// The whole inventory matching `query`, as a stream of numbers, each number
    /// once (see [`crate::pages`] for the paging rules). `query.page` is ignored.
    /// The stream ends after its first error.
    ///
    /// The stream yields each understood number when first seen and cannot
    /// take it back, and it does not report anomalies: it suits display and
    /// export. A decision that treats absence as meaning must use
    /// [`Client::list_all`] and its [`InventorySnapshot::is_complete`].
    pub fn inventory(
        &self,
        query: ListInventory,
    ) -> impl Stream<Item = Result<InventoryNumber, Error>> + Send + 'static {
        let state = ListState {
            client: self.clone(),
            pager: self.pager(&query),
            query,
            buffer: VecDeque::new(),
            failed: false,
        };
        futures::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(n) = st.buffer.pop_front() {
                    return Some((Ok(n), st));
                }
                if st.failed {
                    return None;
                }
                let page_no = st.pager.next_page()?;
                match st.client.next_page(&mut st.pager, &st.query, page_no).await {
                    Ok(out) => st.buffer.extend(out.fresh),
                    Err(e) => {
                        st.failed = true;
                        return Some((Err(e), st));
                    }
                }
            }
        })
    }

    /// The whole inventory matching `query` (the full listing, or one filtered
    /// by `packageID[]`, `like`, `label`, `hasCpaas` — the same rules apply to
    /// the subset), read in one pass, with the verdict on how far it can be
    /// trusted: only when [`InventorySnapshot::is_complete`] may the absence of
    /// a number mean it is not in the account (or not in the filtered subset).
    ///
    /// Fails rather than return a partial listing: on any failed page, a page
    /// that repeats itself, a page of more than `pageSize + 1` records, more
    /// pages than [`ClientConfig::max_account_numbers`] allows, or a body over
    /// [`ClientConfig::max_body_bytes`].
    pub async fn list_all(&self, query: ListInventory) -> Result<InventorySnapshot, Error> {
        self.list_all_keeping(query, |record| record).await
    }

    /// [`Client::list_all`], keeping of each record what `keep` returns as
    /// the pages arrive (e.g. only the fields a caller uses: a listing at
    /// the page bound then never holds every record whole).
    pub async fn list_all_keeping(
        &self,
        query: ListInventory,
        mut keep: impl FnMut(InventoryNumber) -> InventoryNumber + Send,
    ) -> Result<InventorySnapshot, Error> {
        let mut pager = self.pager(&query);
        let mut numbers = Vec::new();
        while let Some(page_no) = pager.next_page() {
            let out = self.next_page(&mut pager, &query, page_no).await?;
            numbers.extend(out.fresh.into_iter().map(&mut keep));
        }
        let snapshot = pager
            .finish(numbers)
            .map_err(|source| Error::Paging { source })?;
        if !snapshot.is_complete() {
            tracing::debug!(
                anomalies = snapshot.anomaly_total(),
                pages = snapshot.pages,
                "the inventory listing has anomalies; it is not complete"
            );
        }
        Ok(snapshot)
    }

    fn pager(&self, query: &ListInventory) -> Pager {
        Pager::for_account_size(
            query.effective_page_size(),
            self.inner.cfg.max_account_numbers,
        )
    }

    async fn next_page(
        &self,
        pager: &mut Pager,
        query: &ListInventory,
        page_no: u32,
    ) -> Result<crate::pages::PageOutcome, Error> {
        let q = query.clone().page(page_no);
        let page = self.list_inventory_page(&q).await?;
        pager
            .accept(page)
            .map_err(|source| Error::Paging { source })
    }

    /// `POST /_rest/v4/carrier/tf/reservations`: reserves numbers. Not retried
    /// after a timeout or a dropped connection (see the module documentation).
    pub async fn reserve(&self, request: &ReserveRequest) -> Result<Vec<Reservation>, Error> {
        let answer = self
            .call(Endpoint::Reserve, Vec::new(), Some(to_body(request)?))
            .await?;
        parse_reservations(&answer.body).map_err(|e| decode_error(&answer, &e))
    }

    /// `POST /_rest/v4/my/tf/orders`: purchases numbers (billed). Not retried
    /// after a timeout or a dropped connection.
    pub async fn purchase(&self, request: &PurchaseRequest) -> Result<Order, Error> {
        let answer = self
            .call(Endpoint::Purchase, Vec::new(), Some(to_body(request)?))
            .await?;
        decode_json(&answer)
    }

    /// `POST /_rest/v4/my/tf/package`: moves numbers to another package. Not
    /// retried after a timeout or a dropped connection.
    pub async fn change_package(&self, request: &ChangePackageRequest) -> Result<Order, Error> {
        let answer = self
            .call(Endpoint::ChangePackage, Vec::new(), Some(to_body(request)?))
            .await?;
        decode_json(&answer)
    }

    /// `POST /_rest/v4/my/tf/disconnect`: gives numbers back (answers 202). Not
    /// retried after a timeout or a dropped connection.
    pub async fn disconnect(&self, request: &DisconnectRequest) -> Result<Order, Error> {
        let answer = self
            .call(Endpoint::Disconnect, Vec::new(), Some(to_body(request)?))
            .await?;
        decode_json(&answer)
    }

    // -- the request pipeline -------------------------------------------------

    /// Sends an authenticated request with retries and one re-authentication.
    async fn call(
        &self,
        endpoint: Endpoint,
        query: Vec<(&'static str, String)>,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, Error> {
        let mut attempt = 0u32;
        let mut counted = 0u32;
        let mut reauthenticated = false;
        loop {
            let (token, generation) = self.token().await?;
            attempt += 1;
            counted += 1;
            let result = self
                .exchange(endpoint, &query, body.as_deref(), Some(&token), attempt)
                .await;
            let err = match result {
                Ok(answer) => return Ok(answer),
                Err(e) => e,
            };
            if err.is_auth_failure() && !reauthenticated && self.can_reauthenticate() {
                // The session was refused: the request was not acted on. One new
                // authentication (shared with concurrent requests), one new try,
                // not counted against the retry budget.
                reauthenticated = true;
                counted -= 1;
                tracing::debug!(endpoint = endpoint.label(), error = %err, "session refused; authenticating again");
                self.renew_token(Renew::Replacing(generation)).await?;
                continue;
            }
            match self.retry_delay(endpoint, &err, counted) {
                Some(delay) => {
                    tracing::warn!(
                        endpoint = endpoint.label(),
                        attempt,
                        error = %err,
                        delay_ms = delay.as_millis() as u64,
                        "IntelePeer call failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                None => return Err(err),
            }
        }
    }

    /// How long to wait before retrying, or `None` to give up.
    fn retry_delay(&self, endpoint: Endpoint, err: &Error, attempts: u32) -> Option<Duration> {
        let retryable = if endpoint.is_mutation() {
            err.is_retryable_for_mutation()
        } else {
            err.is_retryable()
        };
        if !retryable || attempts >= self.inner.cfg.max_attempts {
            return None;
        }
        match err {
            Error::RateLimited {
                retry_after: Some(after),
            } => self.inner.backoff.honour_retry_after(*after),
            _ => Some(self.inner.backoff.delay(attempts, fastrand::f64())),
        }
    }

    /// One HTTP exchange: rate limit, send, read, classify, trace, observe.
    async fn exchange(
        &self,
        endpoint: Endpoint,
        query: &[(&'static str, String)],
        body: Option<&[u8]>,
        token: Option<&Secret>,
        attempt: u32,
    ) -> Result<Answer, Error> {
        self.inner.limiter.acquire().await;
        let span = tracing::debug_span!(
            "intelepeer_request",
            method = endpoint.method(),
            path = endpoint.path(),
            attempt
        );
        let started = Instant::now();
        let result = self
            .send(endpoint, query, body, token)
            .instrument(span.clone())
            .await;
        let duration = started.elapsed();
        let result = result.map_err(|e| self.redact(e));
        let (status, error) = match &result {
            Ok(a) => (Some(a.status), None),
            Err(e) => (e.status(), Some(e.metric_label())),
        };
        span.in_scope(|| match &result {
            Ok(a) => tracing::debug!(
                status = a.status,
                duration_ms = duration.as_millis() as u64,
                "IntelePeer answered"
            ),
            Err(e) => tracing::debug!(
                status,
                error = e.metric_label(),
                duration_ms = duration.as_millis() as u64,
                "IntelePeer call failed: {e}"
            ),
        });
        if let Some(observer) = &self.inner.cfg.observer {
            observer(&CallRecord {
                endpoint,
                attempt,
                status,
                error,
                duration,
            });
        }
        result
    }

    async fn send(
        &self,
        endpoint: Endpoint,
        query: &[(&'static str, String)],
        body: Option<&[u8]>,
        token: Option<&Secret>,
    ) -> Result<Answer, Error> {
        let url = format!("{}{}", self.inner.base, endpoint.path());
        let method = if endpoint.method() == "GET" {
            reqwest::Method::GET
        } else {
            reqwest::Method::POST
        };
        let mut req = self
            .inner
            .http
            .request(method, url)
            .header(ACCEPT, "application/json");
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(token.expose()).map_err(|_| {
                Error::Config("the token contains characters not allowed in a header".to_owned())
            })?;
            value.set_sensitive(true);
            req = req.header(AUTHORIZATION, value);
        }
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let resp = req.send().await.map_err(|e| self.transport_error(e))?;
        let status = resp.status().as_u16();
        let retry_after = parse_retry_after(resp.headers());
        let limit = self.inner.cfg.max_body_bytes;
        if (200..300).contains(&status) {
            match self.read_body(resp, limit).await? {
                Body::Whole(body) => Ok(Answer { status, body }),
                Body::Prefix { declared, .. } => Err(Error::BodyTooLarge {
                    status,
                    limit,
                    declared,
                }),
            }
        } else {
            // Enough of an error body to classify it; never more.
            let (body, extent) = match self.read_body(resp, limit.min(ERROR_BODY_PREFIX)).await? {
                Body::Whole(body) => (body, BodyExtent::Whole),
                Body::Prefix { prefix, declared } => (prefix, BodyExtent::Prefix { declared }),
            };
            Err(Error::from_answer(status, &body, extent, retry_after))
        }
    }

    /// Reads a body of at most `limit` bytes, chunk by chunk. A body that
    /// declares a larger `Content-Length` is not read at all; one that turns
    /// out larger is abandoned at the first chunk past the cap. Either way the
    /// response is dropped, which closes its connection.
    async fn read_body(&self, mut resp: reqwest::Response, limit: u64) -> Result<Body, Error> {
        let declared = resp.content_length();
        if declared.is_some_and(|n| n > limit) {
            return Ok(Body::Prefix {
                prefix: Vec::new(),
                declared,
            });
        }
        let cap = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut body = Vec::with_capacity(
            declared
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0)
                .min(cap)
                .min(INITIAL_BODY_CAPACITY),
        );
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(e))? {
            if body.len() + chunk.len() > cap {
                let room = cap - body.len();
                body.extend_from_slice(&chunk[..room]);
                return Ok(Body::Prefix {
                    prefix: body,
                    declared,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Body::Whole(body))
    }

    fn transport_error(&self, e: reqwest::Error) -> Error {
        let e = e.without_url();
        if e.is_connect() {
            Error::Transport {
                stage: TransportStage::Connect,
                message: one_line(&error_chain(&e), 200),
                source: Some(Box::new(e)),
            }
        } else if e.is_timeout() {
            Error::Timeout {
                after: self.inner.cfg.timeout,
            }
        } else {
            Error::Transport {
                stage: TransportStage::Send,
                message: one_line(&error_chain(&e), 200),
                source: Some(Box::new(e)),
            }
        }
    }

    /// Scrubs the password and the current token from an error's text.
    fn redact(&self, mut e: Error) -> Error {
        match &self.inner.cfg.credentials {
            Credentials::Password { password, .. } => e = e.redact(password.expose()),
            Credentials::Token(t) => e = e.redact(t.expose()),
        }
        let token = self
            .auth_state()
            .token
            .as_ref()
            .map(|t| t.token.expose().to_owned());
        match token {
            Some(t) => e.redact(&t),
            None => e,
        }
    }

    // -- authentication -------------------------------------------------------

    fn auth_state(&self) -> MutexGuard<'_, AuthState> {
        // The state is a few fields updated atomically; a panic elsewhere cannot
        // leave it half-written, so a poisoned lock is still usable.
        self.inner
            .auth
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn can_reauthenticate(&self) -> bool {
        matches!(self.inner.cfg.credentials, Credentials::Password { .. })
    }

    fn refresh_after(&self) -> Duration {
        let cfg = &self.inner.cfg;
        cfg.token_lifetime.saturating_sub(cfg.token_refresh_margin)
    }

    /// The token to send and its generation (0 for a static token).
    async fn token(&self) -> Result<(Secret, u64), Error> {
        if let Credentials::Token(t) = &self.inner.cfg.credentials {
            return Ok((t.clone(), 0));
        }
        {
            let st = self.auth_state();
            if let Some(t) = &st.token
                && t.obtained.elapsed() < self.refresh_after()
            {
                return Ok((t.token.clone(), t.generation));
            }
        }
        self.renew_token(Renew::IfStale).await
    }

    /// Single-flight authentication.
    async fn renew_token(&self, renew: Renew) -> Result<(Secret, u64), Error> {
        let attempts_before = self.auth_state().attempts;
        let _flight = self.inner.flight.lock().await;
        {
            let st = self.auth_state();
            if let Some(t) = &st.token {
                let fresh = t.obtained.elapsed() < self.refresh_after();
                let usable = match renew {
                    Renew::IfStale => fresh,
                    Renew::Replacing(refused) => fresh && t.generation != refused,
                    Renew::Always => false,
                };
                if usable {
                    return Ok((t.token.clone(), t.generation));
                }
            }
            if st.attempts != attempts_before && st.last_refused {
                // Another request authenticated while we waited, and the vendor
                // refused the credentials: do not ask again.
                return Err(Error::Unauthorized);
            }
        }
        let result = self.authenticate_once().await;
        let mut st = self.auth_state();
        st.attempts += 1;
        match result {
            Ok(token) => {
                st.authentications += 1;
                st.last_refused = false;
                let generation = st.authentications;
                st.token = Some(CachedToken {
                    token: token.clone(),
                    obtained: Instant::now(),
                    generation,
                });
                tracing::debug!(generation, "authenticated with IntelePeer");
                Ok((token, generation))
            }
            Err(e) => {
                st.last_refused = e.is_auth_failure();
                if st.last_refused {
                    st.token = None;
                }
                Err(e)
            }
        }
    }

    /// `POST /_rest/v4/authenticate`, with the read retry policy.
    async fn authenticate_once(&self) -> Result<Secret, Error> {
        let Credentials::Password { username, password } = &self.inner.cfg.credentials else {
            return Err(Error::Config(
                "authentication needs username and password credentials".to_owned(),
            ));
        };
        #[derive(serde::Serialize)]
        struct Body<'a> {
            username: &'a str,
            password: &'a str,
        }
        let body = serde_json::to_vec(&Body {
            username,
            password: password.expose(),
        })
        .map_err(|e| Error::Config(format!("cannot encode the authentication body: {e}")))?;
        let mut attempt = 0;
        let answer = loop {
            attempt += 1;
            match self
                .exchange(Endpoint::Authenticate, &[], Some(&body), None, attempt)
                .await
            {
                Ok(answer) => break answer,
                Err(e) => match self.retry_delay(Endpoint::Authenticate, &e, attempt) {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => return Err(e),
                },
            }
        };
        #[derive(Deserialize)]
        struct TokenBody {
            token: String,
        }
        // Never quote this body in an error: it holds the token.
        match serde_json::from_slice::<TokenBody>(&answer.body) {
            Ok(t) if !t.token.trim().is_empty() => Ok(Secret::new(t.token.trim())),
            _ => Err(Error::Decode {
                status: answer.status,
                message: "the authentication answer has no token".to_owned(),
                excerpt: "(withheld: it may contain a token)".to_owned(),
            }),
        }
    }
}

#[derive(Clone, Copy)]
enum Renew {
    /// Reuse a fresh token if there is one.
    IfStale,
    /// The vendor refused the token of this generation: replace it unless
    /// another request already did.
    Replacing(u64),
    /// Authenticate regardless.
    Always,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.auth_state();
        f.debug_struct("Client")
            .field("base_url", &self.inner.base)
            .field("credentials", &self.inner.cfg.credentials)
            .field("token", &st.token.as_ref().map(|t| &t.token))
            .field("authentications", &st.authentications)
            .field("max_attempts", &self.inner.cfg.max_attempts)
            .field("timeout", &self.inner.cfg.timeout)
            .finish_non_exhaustive()
    }
}

struct ListState {
    client: Client,
    pager: Pager,
    query: ListInventory,
    buffer: VecDeque<InventoryNumber>,
    failed: bool,
}

fn to_body<T: serde::Serialize>(request: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(request)
        .map_err(|e| Error::Config(format!("cannot encode the request body: {e}")))
}

fn decode_json<T: DeserializeOwned>(answer: &Answer) -> Result<T, Error> {
    serde_json::from_slice(&answer.body).map_err(|e| decode_error(answer, &e))
}

fn decode_error(answer: &Answer, e: &serde_json::Error) -> Error {
    Error::Decode {
        status: answer.status,
        message: one_line(&e.to_string(), 160),
        excerpt: excerpt(&answer.body),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: backoff applies).
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// A token bucket: `burst` requests at once, then `per_sec` a second. Each
/// caller reserves the next slot under a short lock and sleeps outside it, so
/// waiters are served in order.
struct RateLimiter {
    per_sec: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    fn new(per_sec: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            per_sec: if per_sec.is_finite() { per_sec } else { 0.0 },
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    async fn acquire(&self) {
        if self.per_sec <= 0.0 {
            return;
        }
        let wait = {
            let mut st = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            let (tokens, last) = *st;
            let refilled =
                (tokens + now.duration_since(last).as_secs_f64() * self.per_sec).min(self.burst);
            let left = refilled - 1.0;
            *st = (left, now);
            if left >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-left / self.per_sec)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rate_limiter_spaces_requests_after_the_burst() {
        let limiter = RateLimiter::new(20.0, 2);
        let started = std::time::Instant::now();
        for _ in 0..12 {
            limiter.acquire().await;
        }
        // Two go at once, ten more at 20/s: at least 0.5 s.
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(480), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    }

    #[tokio::test]
    async fn a_disabled_rate_limit_never_waits() {
        let limiter = RateLimiter::new(0.0, 1);
        let started = std::time::Instant::now();
        for _ in 0..1000 {
            limiter.acquire().await;
        }
        assert!(started.elapsed() < Duration::from_millis(200));
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static(" 3 "));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(parse_retry_after(&h), None);
    }

    fn client(creds: Credentials) -> Client {
        Client::new(ClientConfig::new("http://127.0.0.1:9", creds)).expect("client")
    }

    #[test]
    fn debug_output_never_shows_the_password_or_token() {
        let c = client(Credentials::password("demo", "pa55-SECRET"));
        {
            let mut st = c.auth_state();
            st.token = Some(CachedToken {
                token: Secret::new("tok-SECRET"),
                obtained: Instant::now(),
                generation: 1,
            });
        }
        let dbg = format!("{c:?} {c:#?} {:?}", c.inner.cfg);
        assert!(
            !dbg.contains("pa55-SECRET") && !dbg.contains("tok-SECRET"),
            "{dbg}"
        );
        assert!(dbg.contains("***"), "{dbg}");
        let c = client(Credentials::token("tok-STATIC"));
        assert!(!format!("{c:?}").contains("tok-STATIC"));
    }

    #[test]
    fn errors_built_by_the_client_are_scrubbed_of_secrets() {
        let c = client(Credentials::password("demo", "pa55-SECRET"));
        {
            let mut st = c.auth_state();
            st.token = Some(CachedToken {
                token: Secret::new("tok-SECRET"),
                obtained: Instant::now(),
                generation: 1,
            });
        }
        let raw = [
            Error::from_response(500, b"{\"error\":\"pa55-SECRET tok-SECRET\"}", None),
            Error::from_response(409, b"{\"error\":\"tok-SECRET\"}", None),
            Error::from_response(422, b"{\"error\":\"pa55-SECRET\"}", None),
            Error::from_response(402, b"tok-SECRET", None),
            Error::from_response(418, b"tok-SECRET", None),
            Error::Decode {
                status: 200,
                message: "pa55-SECRET".into(),
                excerpt: "tok-SECRET".into(),
            },
            Error::Transport {
                stage: TransportStage::Send,
                message: "tok-SECRET".into(),
                source: Some("pa55-SECRET".into()),
            },
        ];
        for e in raw {
            let e = c.redact(e);
            let mut text = e.to_string();
            let mut src = StdError::source(&e);
            while let Some(s) = src {
                text.push_str(&s.to_string());
                src = s.source();
            }
            assert!(
                !text.contains("pa55-SECRET") && !text.contains("tok-SECRET"),
                "{text}"
            );
        }
    }

    #[test]
    fn plain_http_to_a_remote_host_is_refused_at_construction() {
        let err = Client::new(ClientConfig::new(
            "http://customer.intelepeer.com",
            Credentials::token("t"),
        ))
        .expect_err("must refuse");
        assert_eq!(err.metric_label(), "config");
    }

    #[test]
    fn query_strings_encode_plus_and_array_parameters() {
        let http = reqwest::Client::new();
        let req = http
            .get("http://127.0.0.1/_rest/v4/carrier/tf")
            .query(&SearchPool::like("+1800"))
            .build()
            .expect("request");
        assert_eq!(req.url().query(), Some("like=%2B1800"));
        let q = ListInventory::all()
            .package(crate::PackageId::new(78314).expect("pkg"))
            .package(crate::PackageId::new(24188).expect("pkg"));
        let req = http
            .get("http://127.0.0.1/_rest/v4/my/tf")
            .query(&q)
            .build()
            .expect("request");
        assert_eq!(
            req.url().query(),
            Some("packageID%5B%5D=78314&packageID%5B%5D=24188&pageSize=100")
        );
    }
}
