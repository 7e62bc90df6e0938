//! Vendor logins a set may act with: a Secret's credentials, *proven* by the
//! vendor before any set using them joins an account.
//!
//! A set's `spec.accountRef` names a Secret in the set's own namespace, holding
//! `username` + `password` or a static `token`. What the Secret *declares* (a
//! user name) proves nothing: a tenant can write anyone's user name with a
//! wrong password. So a Secret's credentials join the account of their
//! [`VendorIdentity`] only after they authenticated with the vendor
//! themselves ([`Logins::prove`]: `POST /authenticate` for a password, an
//! authorized one-record `GET /my/tf` for a token), and only while they keep
//! doing so: a proof lasts [`PROOF_TTL`] and is revoked ([`Logins::revoke`])
//! when the vendor refuses the login's session and re-authentication fails.
//!
//! Logins are keyed by a fingerprint of the credential values: Secrets holding
//! the same credentials share one proof and one client; a changed Secret is a
//! new login, proven afresh. A refused login is not tried again for
//! [`REFUSAL_QUIET`] (however many sets use it), so a wrong password does not
//! hammer the vendor.
//!
//! Secret values never appear in errors, logs or `Debug` output — only key
//! names do. The API base URL is the operator's setting: nothing in a Secret
//! can change it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use intelepeer::Credentials;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

/// The Secret key holding the API user name.
pub const KEY_USERNAME: &str = "username";
/// The Secret key holding the password.
pub const KEY_PASSWORD: &str = "password";
/// The Secret key holding a static session token.
pub const KEY_TOKEN: &str = "token";

/// How long a successful proof stands before the credentials are proven
/// again (half the vendor's 24-hour token life: a proof never outlives the
/// session that made it by much).
pub const PROOF_TTL: Duration = Duration::from_secs(12 * 60 * 60);

/// How long a login the vendor refused is not tried again. Sets using it are
/// Stalled meanwhile; a changed Secret is a new login and is tried at once.
pub const REFUSAL_QUIET: Duration = Duration::from_secs(30);

/// Who IntelePeer sees behind a login: the user name of password
/// credentials, or a SHA-256 fingerprint of a static token. The operator has
/// one base URL, so one identity is one vendor account. Displays without
/// secret material.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VendorIdentity {
    /// Password credentials of this user.
    User(String),
    /// A static token with this fingerprint.
    Token([u8; 32]),
}

impl fmt::Display for VendorIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VendorIdentity::User(user) => write!(f, "user {user}"),
            // Eight hex digits of a SHA-256 of the token: enough to tell tokens
            // apart in a log, nothing an attacker could use.
            VendorIdentity::Token(fp) => write!(
                f,
                "token {:02x}{:02x}{:02x}{:02x}",
                fp[0], fp[1], fp[2], fp[3]
            ),
        }
    }
}

impl fmt::Debug for VendorIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VendorIdentity({self})")
    }
}

/// A SHA-256 over a Secret's credential values (length-prefixed key/value
/// pairs): equal exactly when the credentials are. Never printed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fingerprint(..)")
    }
}

/// The Secret a set names: `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretRef {
    /// The set's (and the Secret's) namespace.
    pub namespace: String,
    /// The Secret's name.
    pub name: String,
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A Secret's credentials, read and fingerprinted but not yet proven.
#[derive(Debug, Clone)]
pub struct SecretLogin {
    /// Where they were read.
    pub secret: SecretRef,
    /// The credentials' fingerprint.
    pub fingerprint: Fingerprint,
    /// Who they claim to be.
    pub identity: VendorIdentity,
    /// The credentials.
    pub credentials: Credentials,
}

crate::error::labelled_error! {
/// Why a set cannot act with its Secret's credentials.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The Secret named by `accountRef` does not exist.
    #[error("secret {secret} not found")]
    SecretNotFound {
        /// The Secret.
        secret: SecretRef,
    },
    /// The Secret lacks a key the credentials need.
    #[error("secret {secret} has no key '{key}'")]
    SecretMissingKey {
        /// The Secret.
        secret: SecretRef,
        /// The missing key.
        key: &'static str,
    },
    /// The Secret is present but unusable (empty value, not UTF-8, ambiguous).
    #[error("secret {secret} is not usable: {reason}")]
    SecretInvalid {
        /// The Secret.
        secret: SecretRef,
        /// What is wrong, without the Secret's values.
        reason: String,
    },
    /// The Secret could not be read from the Kubernetes API.
    #[error("Kubernetes API call failed while reading secret {secret}")]
    SecretUnreadable {
        /// The Secret.
        secret: SecretRef,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// The vendor refused the credentials (401): they do not prove any account.
    #[error("IntelePeer refused the credentials in secret {secret} ({identity})")]
    Refused {
        /// The Secret.
        secret: SecretRef,
        /// Who they claimed to be.
        identity: VendorIdentity,
        /// The vendor's answer.
        #[source]
        source: Arc<intelepeer::Error>,
    },
    /// The credentials could not be checked: the vendor did not answer, or
    /// answered something other than yes or no.
    #[error("the credentials in secret {secret} could not be checked with IntelePeer")]
    Unchecked {
        /// The Secret.
        secret: SecretRef,
        /// The cause.
        #[source]
        source: Arc<intelepeer::Error>,
    },
    /// No vendor client could be built for the credentials.
    #[error("cannot create the IntelePeer client for secret {secret}")]
    Client {
        /// The Secret.
        secret: SecretRef,
        /// The cause.
        #[source]
        source: intelepeer::Error,
    },
}
}

impl LoginError {
    /// Whether a person must act (the Secret is wrong or refused), as opposed
    /// to the vendor or the API being unreachable for a while.
    pub fn needs_a_person(&self) -> bool {
        !matches!(
            self,
            LoginError::SecretUnreadable { .. } | LoginError::Unchecked { .. }
        )
    }

    /// The vendor's error behind this one, if any.
    pub fn vendor_source(&self) -> Option<&intelepeer::Error> {
        match self {
            LoginError::Refused { source, .. } | LoginError::Unchecked { source, .. } => {
                Some(source)
            }
            LoginError::Client { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Reads the credentials out of an account Secret's data. Trailing newlines
/// are dropped from every value (`kubectl create secret --from-file` keeps
/// them); keys other than the three credential keys are ignored.
pub fn credentials_from_data(
    secret: &SecretRef,
    data: &BTreeMap<String, ByteString>,
) -> Result<SecretLogin, LoginError> {
    let invalid = |reason: String| LoginError::SecretInvalid {
        secret: secret.clone(),
        reason,
    };
    let value = |key: &'static str| -> Result<Option<&str>, LoginError> {
        let Some(bytes) = data.get(key) else {
            return Ok(None);
        };
        let text = std::str::from_utf8(&bytes.0)
            .map_err(|_| invalid(format!("key '{key}' is not UTF-8 text")))?
            .trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            return Err(invalid(format!("key '{key}' is empty")));
        }
        Ok(Some(text))
    };
    let missing = |key: &'static str| LoginError::SecretMissingKey {
        secret: secret.clone(),
        key,
    };
    let mut hasher = Sha256::new();
    let mut feed = |key: &str, v: &str| {
        // Length-prefixed, so ("ab","c") and ("a","bc") differ.
        for part in [key, v] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
    };
    let (credentials, identity) = match (
        value(KEY_USERNAME)?,
        value(KEY_PASSWORD)?,
        value(KEY_TOKEN)?,
    ) {
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            return Err(invalid(format!(
                "it has both '{KEY_TOKEN}' and '{KEY_USERNAME}'/'{KEY_PASSWORD}'; keep either '{KEY_USERNAME}' and '{KEY_PASSWORD}', or '{KEY_TOKEN}'"
            )));
        }
        (Some(u), Some(p), None) => {
            feed(KEY_USERNAME, u);
            feed(KEY_PASSWORD, p);
            (
                Credentials::password(u, p),
                VendorIdentity::User(u.to_owned()),
            )
        }
        (Some(_), None, None) => return Err(missing(KEY_PASSWORD)),
        (None, Some(_), None) => return Err(missing(KEY_USERNAME)),
        (None, None, Some(t)) => {
            feed(KEY_TOKEN, t);
            let token_fp: [u8; 32] = Sha256::digest(t.as_bytes()).into();
            (Credentials::token(t), VendorIdentity::Token(token_fp))
        }
        (None, None, None) => {
            return Err(invalid(format!(
                "it needs keys '{KEY_USERNAME}' and '{KEY_PASSWORD}', or '{KEY_TOKEN}'"
            )));
        }
    };
    Ok(SecretLogin {
        secret: secret.clone(),
        fingerprint: Fingerprint(hasher.finalize().into()),
        identity,
        credentials,
    })
}

/// Reads the credentials of the Secret `secret`. Only a set's own namespace
/// is ever passed here: a set cannot name another namespace's Secret. One
/// `get` of one Secret: the operator never lists or watches Secrets.
pub async fn read_secret(
    kube: &kube::Client,
    secret: &SecretRef,
) -> Result<SecretLogin, LoginError> {
    let api: Api<Secret> = Api::namespaced(kube.clone(), &secret.namespace);
    let object = api
        .get_opt(&secret.name)
        .await
        .map_err(|source| LoginError::SecretUnreadable {
            secret: secret.clone(),
            source,
        })?
        .ok_or_else(|| LoginError::SecretNotFound {
            secret: secret.clone(),
        })?;
    let empty = BTreeMap::new();
    credentials_from_data(secret, object.data.as_ref().unwrap_or(&empty))
}

/// What a login must be able to do to be proven (the vendor client;
/// tests use fakes).
pub trait Prover: Clone + Send + Sync + 'static {
    /// Asks the vendor whether the credentials are good: `Ok` when they
    /// authenticated (or a token was accepted).
    fn prove(
        &self,
        credentials: &Credentials,
    ) -> impl std::future::Future<Output = Result<(), intelepeer::Error>> + Send;
}

impl Prover for intelepeer::Client {
    async fn prove(&self, credentials: &Credentials) -> Result<(), intelepeer::Error> {
        match credentials {
            // A token is never exchanged: one authorized, one-record listing
            // shows the vendor accepts it.
            Credentials::Token(_) => self
                .list_inventory_page(&intelepeer::ListInventory::all().page_size(1))
                .await
                .map(|_| ()),
            _ => self.authenticate().await,
        }
    }
}

/// A proven login: who it is and the client that acts with it.
#[derive(Debug, Clone)]
pub struct Proven<C> {
    /// The vendor identity the credentials proved.
    pub identity: VendorIdentity,
    /// The credentials' fingerprint.
    pub fingerprint: Fingerprint,
    /// The login's client (shared by every set using these credentials).
    pub client: C,
}

#[derive(Debug)]
enum State {
    Unproven,
    Proven(Instant),
    Refused(Instant, Arc<intelepeer::Error>),
}

struct Entry<C> {
    identity: VendorIdentity,
    client: C,
    /// Held across the vendor call: concurrent provers of one login wait for
    /// one answer.
    state: tokio::sync::Mutex<State>,
}

/// Builds a vendor client for a login.
pub type ClientFactory<C> = Arc<dyn Fn(Credentials) -> Result<C, intelepeer::Error> + Send + Sync>;

/// Every login seen, by fingerprint: its client and its proof. Cheap to clone.
pub struct Logins<C> {
    factory: ClientFactory<C>,
    entries: Arc<Mutex<HashMap<Fingerprint, Arc<Entry<C>>>>>,
}

impl<C> Clone for Logins<C> {
    fn clone(&self) -> Self {
        Self {
            factory: self.factory.clone(),
            entries: self.entries.clone(),
        }
    }
}

impl<C> fmt::Debug for Logins<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.entries.lock().map_or(0, |e| e.len());
        f.debug_struct("Logins")
            .field("logins", &n)
            .finish_non_exhaustive()
    }
}

impl<C: Prover> Logins<C> {
    /// No logins yet; clients are built with `factory`.
    pub fn new(
        factory: impl Fn(Credentials) -> Result<C, intelepeer::Error> + Send + Sync + 'static,
    ) -> Self {
        Self {
            factory: Arc::new(factory),
            entries: Arc::default(),
        }
    }

    fn entry(&self, login: &SecretLogin) -> Result<Arc<Entry<C>>, LoginError> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = entries.get(&login.fingerprint) {
            return Ok(e.clone());
        }
        let client =
            (self.factory)(login.credentials.clone()).map_err(|source| LoginError::Client {
                secret: login.secret.clone(),
                source,
            })?;
        let entry = Arc::new(Entry {
            identity: login.identity.clone(),
            client,
            state: tokio::sync::Mutex::new(State::Unproven),
        });
        entries.insert(login.fingerprint, entry.clone());
        Ok(entry)
    }

    /// The login's client once the vendor accepted its credentials: proven
    /// now, or within [`PROOF_TTL`] and not revoked since. Concurrent callers
    /// of one login share one vendor call; a refused login answers from its
    /// refusal for [`REFUSAL_QUIET`].
    pub async fn prove(&self, login: &SecretLogin) -> Result<Proven<C>, LoginError> {
        let entry = self.entry(login)?;
        let mut state = entry.state.lock().await;
        let proven = |entry: &Entry<C>| Proven {
            identity: entry.identity.clone(),
            fingerprint: login.fingerprint,
            client: entry.client.clone(),
        };
        match &*state {
            State::Proven(at) if at.elapsed() < PROOF_TTL => return Ok(proven(&entry)),
            State::Refused(at, source) if at.elapsed() < REFUSAL_QUIET => {
                return Err(LoginError::Refused {
                    secret: login.secret.clone(),
                    identity: login.identity.clone(),
                    source: source.clone(),
                });
            }
            _ => {}
        }
        match entry.client.prove(&login.credentials).await {
            Ok(()) => {
                *state = State::Proven(Instant::now());
                tracing::info!(identity = %login.identity, secret = %login.secret, "credentials proven with IntelePeer");
                Ok(proven(&entry))
            }
            Err(e) if e.is_auth_failure() => {
                let source = Arc::new(e);
                *state = State::Refused(Instant::now(), source.clone());
                Err(LoginError::Refused {
                    secret: login.secret.clone(),
                    identity: login.identity.clone(),
                    source,
                })
            }
            // Not a verdict (an earlier proof within its TTL answered above,
            // without a call): the state stays as it was.
            Err(e) => Err(LoginError::Unchecked {
                secret: login.secret.clone(),
                source: Arc::new(e),
            }),
        }
    }

    /// Whether the login with this fingerprint is proven now.
    pub async fn is_proven(&self, fingerprint: &Fingerprint) -> bool {
        let entry = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(fingerprint)
            .cloned();
        match entry {
            Some(e) => {
                matches!(&*e.state.lock().await, State::Proven(at) if at.elapsed() < PROOF_TTL)
            }
            None => false,
        }
    }

    /// The vendor refused the login's session and re-authentication failed
    /// (`error`): its proof is gone, and the next [`Logins::prove`] answers
    /// from this refusal for [`REFUSAL_QUIET`].
    pub async fn revoke(&self, fingerprint: &Fingerprint, error: intelepeer::Error) {
        let entry = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(fingerprint)
            .cloned();
        if let Some(e) = entry {
            tracing::warn!(identity = %e.identity, error = %error, "IntelePeer refused a login that was proven; its sets leave the account");
            *e.state.lock().await = State::Refused(Instant::now(), Arc::new(error));
        }
    }

    /// Drops the logins no member set acts with any more — a rotated
    /// Secret's old credentials, a deleted set's — with their clients and
    /// proofs, so that the logins held stay as many as the credentials in use.
    ///
    /// Kept although unused: a login being proven right now, and one whose
    /// verdict is younger than [`REFUSAL_QUIET`]. A refusal must outlive its
    /// quiet time (a Secret with a wrong password is not a member, and
    /// dropping its refusal would let every routing ask the vendor again), and
    /// a fresh proof must outlive the moment between the router's proof and
    /// its join. Returns how many logins were dropped.
    pub fn sweep(&self, used: &std::collections::BTreeSet<Fingerprint>) -> usize {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let before = entries.len();
        entries.retain(|fp, entry| {
            if used.contains(fp) {
                return true;
            }
            match entry.state.try_lock() {
                // Someone is asking the vendor about it.
                Err(_) => true,
                Ok(state) => match &*state {
                    State::Unproven => false,
                    State::Proven(at) | State::Refused(at, _) => at.elapsed() < REFUSAL_QUIET,
                },
            }
        });
        before - entries.len()
    }

    /// How many logins are held.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no login is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn secret() -> SecretRef {
        SecretRef {
            namespace: "telecom".into(),
            name: "intelepeer-account".into(),
        }
    }

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, ByteString> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
            .collect()
    }

    fn read(pairs: &[(&str, &str)]) -> Result<SecretLogin, LoginError> {
        credentials_from_data(&secret(), &data(pairs))
    }

    #[test]
    fn username_and_password_make_password_credentials() {
        let login = read(&[("username", "demo"), ("password", "hunter2\n")]).expect("ok");
        assert_eq!(login.identity.to_string(), "user demo");
        match login.credentials {
            Credentials::Password { username, password } => {
                assert_eq!(username, "demo");
                assert_eq!(password.expose(), "hunter2", "trailing newline dropped");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_token_makes_token_credentials() {
        let login = read(&[("token", "tok-abc")]).expect("ok");
        assert!(matches!(login.credentials, Credentials::Token(t) if t.expose() == "tok-abc"));
        assert!(login.identity.to_string().starts_with("token "));
    }

    #[test]
    fn missing_password_names_the_secret_and_key() {
        let e = read(&[("username", "demo")]).expect_err("no password");
        assert_eq!(
            e.to_string(),
            "secret telecom/intelepeer-account has no key 'password'"
        );
        let e = read(&[("password", "hunter2")]).expect_err("no username");
        assert_eq!(
            e.to_string(),
            "secret telecom/intelepeer-account has no key 'username'"
        );
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn empty_and_ambiguous_secrets_are_refused_without_showing_values() {
        let e = read(&[]).expect_err("empty");
        assert_eq!(
            e.to_string(),
            "secret telecom/intelepeer-account is not usable: it needs keys 'username' and 'password', or 'token'"
        );
        let e = read(&[("username", "demo"), ("password", "")]).expect_err("blank");
        assert!(e.to_string().contains("key 'password' is empty"), "{e}");
        let e = read(&[
            ("username", "demo"),
            ("password", "hunter2"),
            ("token", "tok-abc"),
        ])
        .expect_err("both");
        let text = e.to_string();
        assert!(text.contains("both 'token'"), "{text}");
        assert!(
            !text.contains("hunter2") && !text.contains("tok-abc"),
            "{text}"
        );
        let bad = BTreeMap::from([("token".to_owned(), ByteString(vec![0xff, 0xfe]))]);
        let e = credentials_from_data(&secret(), &bad).expect_err("not utf-8");
        assert!(e.to_string().contains("key 'token' is not UTF-8"), "{e}");
    }

    #[test]
    fn debug_output_never_shows_secret_values() {
        let login = read(&[("username", "demo"), ("password", "hunter2")]).expect("ok");
        let text = format!("{login:?} {login:#?}");
        assert!(!text.contains("hunter2"), "{text}");
        let login = read(&[("token", "tok-abc")]).expect("ok");
        let text = format!("{login:?} {}", login.identity);
        assert!(!text.contains("tok-abc"), "{text}");
    }

    #[test]
    fn the_fingerprint_follows_the_credentials_only() {
        let a = read(&[("username", "demo"), ("password", "one")]).expect("ok");
        let b = read(&[("username", "demo"), ("password", "one"), ("note", "x")]).expect("ok");
        let c = read(&[("username", "demo"), ("password", "two")]).expect("ok");
        assert_eq!(a.fingerprint, b.fingerprint, "unrelated keys do not matter");
        assert_ne!(
            a.fingerprint, c.fingerprint,
            "a new password is a new login"
        );
        assert_eq!(a.identity, c.identity, "the same claimed identity");
    }

    /// A vendor that accepts one password and counts proofs.
    #[derive(Clone, Default, Debug)]
    struct Fake {
        calls: Arc<AtomicUsize>,
        down: Arc<std::sync::atomic::AtomicBool>,
    }

    impl Prover for Fake {
        async fn prove(&self, credentials: &Credentials) -> Result<(), intelepeer::Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self.down.load(Ordering::SeqCst) {
                return Err(intelepeer::Error::Server {
                    status: 503,
                    message: "down".into(),
                });
            }
            match credentials {
                Credentials::Password { password, .. } if password.expose() == "right" => Ok(()),
                _ => Err(intelepeer::Error::Unauthorized),
            }
        }
    }

    fn logins(fake: &Fake) -> Logins<Fake> {
        let fake = fake.clone();
        Logins::new(move |_| Ok(fake.clone()))
    }

    #[tokio::test(start_paused = true)]
    async fn a_login_joins_only_after_the_vendor_accepted_its_own_credentials() {
        let fake = Fake::default();
        let logins = logins(&fake);
        let wrong = read(&[("username", "bob"), ("password", "wrong")]).expect("ok");
        let e = logins.prove(&wrong).await.expect_err("refused");
        assert!(matches!(e, LoginError::Refused { .. }), "{e}");
        assert!(e.needs_a_person());
        let right = read(&[("username", "bob"), ("password", "right")]).expect("ok");
        let proven = logins.prove(&right).await.expect("proven");
        assert_eq!(proven.identity.to_string(), "user bob");
        assert!(logins.is_proven(&right.fingerprint).await);
        assert!(
            !logins.is_proven(&wrong.fingerprint).await,
            "the same user name with another password proves nothing"
        );
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_proofs_of_one_login_share_one_vendor_call_and_refusals_are_quiet() {
        let fake = Fake::default();
        let logins = logins(&fake);
        let right = read(&[("username", "bob"), ("password", "right")]).expect("ok");
        let all = futures::future::join_all((0..20).map(|_| logins.prove(&right))).await;
        assert!(all.iter().all(Result::is_ok));
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1);

        let wrong = read(&[("username", "bob"), ("password", "wrong")]).expect("ok");
        for _ in 0..5 {
            assert!(logins.prove(&wrong).await.is_err());
        }
        assert_eq!(
            fake.calls.load(Ordering::SeqCst),
            2,
            "refusal answered from memory"
        );
        tokio::time::advance(REFUSAL_QUIET).await;
        assert!(logins.prove(&wrong).await.is_err());
        assert_eq!(
            fake.calls.load(Ordering::SeqCst),
            3,
            "tried again after the quiet time"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_vendor_keeps_a_standing_proof_but_proves_nothing_new() {
        let fake = Fake::default();
        let logins = logins(&fake);
        let right = read(&[("username", "bob"), ("password", "right")]).expect("ok");
        logins.prove(&right).await.expect("proven");
        fake.down.store(true, Ordering::SeqCst);
        tokio::time::advance(PROOF_TTL - Duration::from_secs(1)).await;
        assert!(logins.prove(&right).await.is_ok(), "cached");
        tokio::time::advance(Duration::from_secs(2)).await;
        let e = logins
            .prove(&right)
            .await
            .expect_err("expired, vendor down");
        assert!(matches!(e, LoginError::Unchecked { .. }), "{e}");
        assert!(!e.needs_a_person());
    }

    #[tokio::test(start_paused = true)]
    async fn a_sweep_drops_unused_logins_once_their_verdict_is_older_than_the_quiet_time() {
        let fake = Fake::default();
        let logins = logins(&fake);
        let old = read(&[("username", "bob"), ("password", "right")]).expect("ok");
        let wrong = read(&[("username", "bob"), ("password", "wrong")]).expect("ok");
        logins.prove(&old).await.expect("proven");
        assert!(logins.prove(&wrong).await.is_err());
        let nobody = BTreeSet::new();
        assert_eq!(
            logins.sweep(&nobody),
            0,
            "a fresh proof and a fresh refusal stay (the router joins right after a proof)"
        );
        assert_eq!(logins.len(), 2);

        tokio::time::advance(REFUSAL_QUIET).await;
        let rotated = BTreeSet::from([wrong.fingerprint]);
        assert_eq!(logins.sweep(&rotated), 1, "the unused proof goes");
        assert!(!logins.is_proven(&old.fingerprint).await);
        assert_eq!(logins.len(), 1, "the login a set still uses stays");

        assert_eq!(logins.sweep(&nobody), 1);
        assert!(logins.is_empty());
        let calls = fake.calls.load(Ordering::SeqCst);
        logins.prove(&old).await.expect("proven afresh");
        assert_eq!(
            fake.calls.load(Ordering::SeqCst),
            calls + 1,
            "a swept login is asked again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_sweep_keeps_a_login_being_proven() {
        let fake = Fake::default();
        let logins = logins(&fake);
        let right = read(&[("username", "bob"), ("password", "right")]).expect("ok");
        let proving = {
            let logins = logins.clone();
            let right = right.clone();
            tokio::spawn(async move { logins.prove(&right).await.map(|_| ()) })
        };
        // The proof is under way (the fake answers after 50 ms).
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(logins.sweep(&BTreeSet::new()), 0);
        proving.await.expect("joined").expect("proven");
        assert!(logins.is_proven(&right.fingerprint).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_revoked_login_is_refused_until_proven_again() {
        let fake = Fake::default();
        let logins = logins(&fake);
        let right = read(&[("username", "bob"), ("password", "right")]).expect("ok");
        logins.prove(&right).await.expect("proven");
        logins
            .revoke(&right.fingerprint, intelepeer::Error::Unauthorized)
            .await;
        assert!(!logins.is_proven(&right.fingerprint).await);
        assert!(
            logins.prove(&right).await.is_err(),
            "quiet after the refusal"
        );
        tokio::time::advance(REFUSAL_QUIET).await;
        assert!(logins.prove(&right).await.is_ok(), "proven again");
    }
}
