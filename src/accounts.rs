//! Vendor accounts: a set's `spec.accountRef` names a Secret in the set's own
//! namespace; this module turns it into IntelePeer credentials and keeps one
//! vendor client per account.
//!
//! The Secret holds `username` + `password` (the client authenticates and
//! caches the session token) or a static `token`. Secret values never appear
//! in errors, logs or `Debug` output — only key names do. The API base URL is
//! the operator's setting; nothing in a Secret can change it.
//!
//! An account is identified by [`AccountKey`]: the Secret's namespace and name
//! plus a SHA-256 fingerprint of the credential values, so rotated credentials
//! get a fresh client (and a fresh inventory) without a restart.
//!
//! Several Secrets (in several namespaces) may hold the same IntelePeer login.
//! What the vendor sees is the [`VendorIdentity`] (the user name, or the
//! static token's fingerprint) against the operator's one base URL: sets whose
//! Secrets share an identity share one inventory, and ownership of numbers is
//! decided across all of them (DESIGN.md §3.1).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use intelepeer::Credentials;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use sha2::{Digest, Sha256};

use crate::error::Error;

/// The Secret key holding the API user name.
pub const KEY_USERNAME: &str = "username";
/// The Secret key holding the password.
pub const KEY_PASSWORD: &str = "password";
/// The Secret key holding a static session token.
pub const KEY_TOKEN: &str = "token";

/// Who IntelePeer sees behind a Secret: the user name of password
/// credentials, or a SHA-256 fingerprint of a static token. Two Secrets with
/// the same identity reach the same vendor account (the operator has one base
/// URL), whatever their namespaces. Displays without secret material.
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

/// Identifies a vendor account as the operator sees it: `namespace/secret`
/// plus a fingerprint of the credentials. Displays as `namespace/secret`
/// (the fingerprint is never printed: it is derived from the password).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountKey {
    namespace: String,
    secret: String,
    fingerprint: [u8; 32],
    identity: VendorIdentity,
}

impl AccountKey {
    /// A key for the Secret `namespace/secret` whose credential values hash to
    /// `fingerprint`; its identity is the fingerprint itself (use
    /// [`AccountKey::with_identity`] to name the login).
    pub fn new(
        namespace: impl Into<String>,
        secret: impl Into<String>,
        fingerprint: [u8; 32],
    ) -> Self {
        Self {
            namespace: namespace.into(),
            secret: secret.into(),
            fingerprint,
            identity: VendorIdentity::Token(fingerprint),
        }
    }

    /// The same key with the vendor identity `identity`.
    pub fn with_identity(mut self, identity: VendorIdentity) -> Self {
        self.identity = identity;
        self
    }

    /// Who the vendor sees behind this Secret.
    pub fn identity(&self) -> &VendorIdentity {
        &self.identity
    }

    /// The Secret's (and the sets') namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The Secret's name.
    pub fn secret_name(&self) -> &str {
        &self.secret
    }

    /// Whether two keys name the same Secret (whatever its credentials).
    pub fn same_secret(&self, other: &AccountKey) -> bool {
        self.namespace == other.namespace && self.secret == other.secret
    }
}

impl fmt::Display for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.secret)
    }
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountKey({}/{})", self.namespace, self.secret)
    }
}

/// An account ready to use: its key and its vendor client.
#[derive(Debug, Clone)]
pub struct Account<C> {
    /// Which account.
    pub key: AccountKey,
    /// Its vendor client (shared by every set of the account).
    pub client: C,
}

/// Reads the credentials out of an account Secret's data.
///
/// `namespace`/`name` are only used in error messages. Trailing newlines are
/// dropped from every value (`kubectl create secret --from-file` keeps them).
pub fn credentials_from_data(
    namespace: &str,
    name: &str,
    data: &BTreeMap<String, ByteString>,
) -> Result<(AccountKey, Credentials), Error> {
    let invalid = |reason: String| Error::SecretInvalid {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        reason,
    };
    let value = |key: &'static str| -> Result<Option<&str>, Error> {
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
    let missing = |key: &'static str| Error::SecretMissingKey {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        key,
    };

    let username = value(KEY_USERNAME)?;
    let password = value(KEY_PASSWORD)?;
    let token = value(KEY_TOKEN)?;
    let mut hasher = Sha256::new();
    let mut feed = |key: &str, v: &str| {
        // Length-prefixed, so ("ab","c") and ("a","bc") differ.
        for part in [key, v] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
    };
    let mut token_hasher = Sha256::new();
    let credentials = match (username, password, token) {
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            return Err(invalid(format!(
                "it has both '{KEY_TOKEN}' and '{KEY_USERNAME}'/'{KEY_PASSWORD}'; keep either '{KEY_USERNAME}' and '{KEY_PASSWORD}', or '{KEY_TOKEN}'"
            )));
        }
        (Some(u), Some(p), None) => {
            feed(KEY_USERNAME, u);
            feed(KEY_PASSWORD, p);
            Credentials::password(u, p)
        }
        (Some(_), None, None) => return Err(missing(KEY_PASSWORD)),
        (None, Some(_), None) => return Err(missing(KEY_USERNAME)),
        (None, None, Some(t)) => {
            feed(KEY_TOKEN, t);
            token_hasher.update(t.as_bytes());
            Credentials::token(t)
        }
        (None, None, None) => {
            return Err(invalid(format!(
                "it needs keys '{KEY_USERNAME}' and '{KEY_PASSWORD}', or '{KEY_TOKEN}'"
            )));
        }
    };
    let fingerprint: [u8; 32] = hasher.finalize().into();
    let identity = match &credentials {
        Credentials::Password { username, .. } => VendorIdentity::User(username.clone()),
        _ => VendorIdentity::Token(token_hasher.finalize().into()),
    };
    Ok((
        AccountKey::new(namespace, name, fingerprint).with_identity(identity),
        credentials,
    ))
}

/// Reads the credentials out of an account Secret object.
pub fn credentials_from_secret(
    namespace: &str,
    name: &str,
    secret: &Secret,
) -> Result<(AccountKey, Credentials), Error> {
    let empty = BTreeMap::new();
    credentials_from_data(namespace, name, secret.data.as_ref().unwrap_or(&empty))
}

/// Fetches the Secret `namespace/name` and reads its credentials. Only the
/// set's own namespace is ever passed here: a set cannot name another
/// namespace's Secret.
pub async fn read_credentials(
    kube: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<(AccountKey, Credentials), Error> {
    let api: Api<Secret> = Api::namespaced(kube.clone(), namespace);
    let secret = api
        .get_opt(name)
        .await
        .map_err(|e| Error::kube(format!("reading secret {namespace}/{name}"), e))?
        .ok_or_else(|| Error::SecretNotFound {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })?;
    credentials_from_secret(namespace, name, &secret)
}

/// Builds a vendor client for an account.
pub type ClientFactory<C> = Arc<dyn Fn(&AccountKey, Credentials) -> Result<C, Error> + Send + Sync>;

/// What [`AccountCache::get_or_create`] found.
#[derive(Debug, Clone)]
pub struct Resolved<C> {
    /// The account and its (possibly new) client.
    pub account: Account<C>,
    /// The previous key of the same Secret, when its credentials changed: its
    /// inventory and metrics series can be dropped.
    pub replaced: Option<AccountKey>,
}

/// The live clients, keyed by (namespace, secret name).
type Clients<C> = HashMap<(String, String), Account<C>>;

/// One vendor client per account, created on first use and replaced when the
/// Secret's credentials change. Cheap to clone.
pub struct AccountCache<C> {
    factory: ClientFactory<C>,
    // Keyed by (namespace, secret): a Secret has at most one live client.
    clients: Arc<Mutex<Clients<C>>>,
}

impl<C> Clone for AccountCache<C> {
    fn clone(&self) -> Self {
        Self {
            factory: self.factory.clone(),
            clients: self.clients.clone(),
        }
    }
}

impl<C> fmt::Debug for AccountCache<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountCache")
            .field("accounts", &self.len())
            .finish_non_exhaustive()
    }
}

impl<C> AccountCache<C> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Clients<C>> {
        // Poisoning only means another thread panicked mid-insert; the map is intact.
        self.clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many accounts have a client.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no account has a client yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<C: Clone> AccountCache<C> {
    /// An empty cache building clients with `factory`.
    pub fn new(
        factory: impl Fn(&AccountKey, Credentials) -> Result<C, Error> + Send + Sync + 'static,
    ) -> Self {
        Self {
            factory: Arc::new(factory),
            clients: Arc::default(),
        }
    }

    /// The client for `key`, created from `credentials` if the Secret has none
    /// yet or its credentials changed.
    pub fn get_or_create(
        &self,
        key: AccountKey,
        credentials: Credentials,
    ) -> Result<Resolved<C>, Error> {
        let slot = (key.namespace.clone(), key.secret.clone());
        if let Some(existing) = self.lock().get(&slot)
            && existing.key == key
        {
            return Ok(Resolved {
                account: existing.clone(),
                replaced: None,
            });
        }
        // Built outside the lock: a factory may be slow. Two racing callers
        // may both build one; the first insert wins and the other is dropped.
        let client = (self.factory)(&key, credentials)?;
        let mut clients = self.lock();
        if let Some(existing) = clients.get(&slot)
            && existing.key == key
        {
            return Ok(Resolved {
                account: existing.clone(),
                replaced: None,
            });
        }
        let account = Account { key, client };
        let replaced = clients.insert(slot, account.clone()).map(|old| old.key);
        if let Some(old) = &replaced {
            tracing::info!(account = %old, "account credentials changed; using a new vendor client");
        }
        Ok(Resolved { account, replaced })
    }

    /// Reads the Secret `namespace/name` and returns its account's client.
    pub async fn resolve(
        &self,
        kube: &kube::Client,
        namespace: &str,
        name: &str,
    ) -> Result<Resolved<C>, Error> {
        let (key, credentials) = read_credentials(kube, namespace, name).await?;
        self.get_or_create(key, credentials)
    }

    /// The key of the Secret `namespace/name` as last resolved, if it was.
    pub fn cached_key(&self, namespace: &str, name: &str) -> Option<AccountKey> {
        self.lock()
            .get(&(namespace.to_owned(), name.to_owned()))
            .map(|a| a.key.clone())
    }

    /// Drops the client of a Secret (e.g. it was deleted). Returns its key.
    pub fn remove(&self, namespace: &str, name: &str) -> Option<AccountKey> {
        self.lock()
            .remove(&(namespace.to_owned(), name.to_owned()))
            .map(|a| a.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, ByteString> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
            .collect()
    }

    fn read(pairs: &[(&str, &str)]) -> Result<(AccountKey, Credentials), Error> {
        credentials_from_data("telecom", "intelepeer-account", &data(pairs))
    }

    #[test]
    fn username_and_password_make_password_credentials() {
        let (key, creds) = read(&[("username", "demo"), ("password", "hunter2\n")]).expect("ok");
        assert_eq!(key.to_string(), "telecom/intelepeer-account");
        match creds {
            Credentials::Password { username, password } => {
                assert_eq!(username, "demo");
                assert_eq!(password.expose(), "hunter2", "trailing newline dropped");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_token_makes_token_credentials() {
        let (_, creds) = read(&[("token", "tok-abc")]).expect("ok");
        assert!(matches!(creds, Credentials::Token(t) if t.expose() == "tok-abc"));
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
        let e = credentials_from_data("telecom", "x", &bad).expect_err("not utf-8");
        assert!(e.to_string().contains("key 'token' is not UTF-8"), "{e}");
    }

    #[test]
    fn a_missing_secret_object_has_no_data_error() {
        let secret = Secret::default();
        let e = credentials_from_secret("telecom", "x", &secret).expect_err("no data");
        assert!(
            e.to_string().starts_with("secret telecom/x is not usable"),
            "{e}"
        );
        let e = Error::SecretNotFound {
            namespace: "telecom".into(),
            name: "x".into(),
        };
        assert_eq!(e.to_string(), "secret telecom/x not found");
    }

    #[test]
    fn debug_output_never_shows_secret_values() {
        let (key, creds) = read(&[("username", "demo"), ("password", "hunter2")]).expect("ok");
        let text = format!("{key:?} {key} {creds:?} {creds:#?}");
        assert!(!text.contains("hunter2"), "{text}");
        let (key, creds) = read(&[("token", "tok-abc")]).expect("ok");
        let text = format!("{key:?} {creds:?}");
        assert!(!text.contains("tok-abc"), "{text}");
    }

    #[test]
    fn fingerprint_follows_the_credentials_only() {
        let (a, _) = read(&[("username", "demo"), ("password", "one")]).expect("ok");
        let (b, _) = read(&[("username", "demo"), ("password", "one"), ("note", "x")]).expect("ok");
        let (c, _) = read(&[("username", "demo"), ("password", "two")]).expect("ok");
        assert_eq!(a, b, "unrelated keys do not change the account");
        assert_ne!(a, c, "a new password is a new client");
        assert!(a.same_secret(&c));
        assert_eq!(a.to_string(), c.to_string());
    }

    #[test]
    fn the_identity_is_the_login_not_the_secret() {
        let (a, _) = read(&[("username", "demo"), ("password", "one")]).expect("ok");
        let (b, _) = credentials_from_data(
            "billing",
            "other-name",
            &data(&[("username", "demo"), ("password", "two")]),
        )
        .expect("ok");
        assert_ne!(a, b);
        assert_eq!(a.identity(), b.identity(), "same user, same vendor account");
        assert_eq!(a.identity().to_string(), "user demo");
        let (c, _) = read(&[("username", "other"), ("password", "one")]).expect("ok");
        assert_ne!(a.identity(), c.identity());

        let (t1, _) = read(&[("token", "tok-abc")]).expect("ok");
        let (t2, _) =
            credentials_from_data("billing", "x", &data(&[("token", "tok-abc\n")])).expect("ok");
        let (t3, _) = read(&[("token", "tok-xyz")]).expect("ok");
        assert_eq!(t1.identity(), t2.identity());
        assert_ne!(t1.identity(), t3.identity());
        let shown = format!("{} {:?}", t1.identity(), t1.identity());
        assert!(!shown.contains("tok-abc"), "{shown}");
    }

    #[test]
    fn one_client_per_account_replaced_when_credentials_change() {
        let built = Arc::new(AtomicUsize::new(0));
        let counter = built.clone();
        let cache: AccountCache<usize> =
            AccountCache::new(move |_key, _creds| Ok(counter.fetch_add(1, Ordering::SeqCst)));
        let (k1, c1) = read(&[("username", "demo"), ("password", "one")]).expect("ok");
        let first = cache.get_or_create(k1.clone(), c1.clone()).expect("ok");
        let again = cache.get_or_create(k1.clone(), c1).expect("ok");
        assert_eq!(first.account.client, again.account.client);
        assert!(first.replaced.is_none() && again.replaced.is_none());
        assert_eq!(built.load(Ordering::SeqCst), 1);

        let (k2, c2) = read(&[("username", "demo"), ("password", "two")]).expect("ok");
        let rotated = cache.get_or_create(k2, c2).expect("ok");
        assert_ne!(rotated.account.client, first.account.client);
        assert_eq!(rotated.replaced, Some(k1));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn factory_errors_are_returned_and_nothing_is_cached() {
        let cache: AccountCache<()> = AccountCache::new(|key, _| {
            Err(Error::SecretInvalid {
                namespace: key.namespace().to_owned(),
                name: key.secret_name().to_owned(),
                reason: "test".into(),
            })
        });
        let (k, c) = read(&[("token", "t")]).expect("ok");
        assert!(cache.get_or_create(k, c).is_err());
        assert!(cache.is_empty());
    }
}
