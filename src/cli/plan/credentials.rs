//! Where `plan` finds IntelePeer credentials, in this order:
//!
//! 1. `--secret-file FILE`: the Secret manifest a user would apply (`data`
//!    base64-encoded and/or `stringData`; keys `username` + `password`, or
//!    `token`). It serves every set.
//! 2. The environment: `INTELEPEER_USERNAME` + `INTELEPEER_PASSWORD`, or
//!    `INTELEPEER_TOKEN`. They serve every set.
//! 3. A `Secret` among the manifests, named by the set's `accountRef` in the
//!    set's namespace — exactly what the operator would read.
//!
//! Explicit settings win over documents found in the manifests (a repository
//! may carry an encrypted Secret that only the cluster can read). The rules
//! for the keys are the operator's own ([`credentials_from_data`]); values
//! never appear in messages.

use std::collections::BTreeMap;
use std::path::Path;

use intelepeer::Credentials;
use k8s_openapi::ByteString;
use serde_json::Value;

use super::manifests::{LoadedSecret, Manifests, yaml_documents};
use crate::logins::{
    KEY_PASSWORD, KEY_TOKEN, KEY_USERNAME, SecretLogin, SecretRef, VendorIdentity,
    credentials_from_data,
};

/// Environment variable: the user name for `POST /authenticate`.
pub const ENV_USERNAME: &str = "INTELEPEER_USERNAME";
/// Environment variable: the password for `POST /authenticate`.
pub const ENV_PASSWORD: &str = "INTELEPEER_PASSWORD";
/// Environment variable: a static session token.
pub const ENV_TOKEN: &str = "INTELEPEER_TOKEN";

/// Credentials for one vendor account, and where they came from.
#[derive(Debug, Clone)]
pub struct AccountCredentials {
    /// Identifies the account, as the operator groups sets: the login's
    /// vendor identity (sets with equal identities share one inventory).
    pub key: VendorIdentity,
    /// Where the credentials came from, for a person (never the values).
    pub source: String,
    /// The credentials.
    pub credentials: Credentials,
}

impl AccountCredentials {
    fn of(login: SecretLogin, source: String) -> Self {
        Self {
            key: login.identity,
            source,
            credentials: login.credentials,
        }
    }
}

/// Reads `--secret-file`: a file holding exactly one `v1` `Secret`.
pub fn from_secret_file(path: &Path) -> Result<AccountCredentials, String> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--secret-file {shown}: cannot read: {e}"))?;
    let documents = yaml_documents(&text).map_err(|e| format!("--secret-file {shown}: {e}"))?;
    let mut manifests = Manifests::default();
    for document in documents {
        if document.get("kind").and_then(Value::as_str) == Some("Secret") {
            let metadata = document.get("metadata");
            let field = |key: &str| {
                metadata
                    .and_then(|m| m.get(key))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            let namespace = field("namespace");
            manifests.secrets.push(LoadedSecret {
                file: shown.clone(),
                namespace: if namespace.is_empty() {
                    super::manifests::DEFAULT_NAMESPACE.to_owned()
                } else {
                    namespace
                },
                name: field("name"),
                document,
            });
        }
    }
    match manifests.secrets.as_slice() {
        [secret] => {
            let mut account = from_secret(secret)?;
            account.source = format!("--secret-file {shown}");
            Ok(account)
        }
        [] => Err(format!(
            "--secret-file {shown}: no Secret in the file (expected kind: Secret with keys \
             '{KEY_USERNAME}' and '{KEY_PASSWORD}', or '{KEY_TOKEN}')"
        )),
        more => Err(format!(
            "--secret-file {shown}: {} Secrets in the file; keep exactly one",
            more.len()
        )),
    }
}

/// Reads a Secret document: `data` (base64) overlaid by `stringData`, as the
/// API server merges them.
pub fn from_secret(secret: &LoadedSecret) -> Result<AccountCredentials, String> {
    let place = format!(
        "{}: secret {}/{}",
        secret.file, secret.namespace, secret.name
    );
    let mut data: BTreeMap<String, ByteString> = BTreeMap::new();
    match secret.document.get("data") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                let decoded = match value {
                    Value::Null => continue,
                    Value::String(_) => serde_json::from_value::<ByteString>(value.clone()).ok(),
                    _ => None,
                };
                let decoded = decoded
                    .ok_or_else(|| format!("{place}: data.{key} is not base64-encoded text"))?;
                data.insert(key.clone(), decoded);
            }
        }
        Some(_) => {
            return Err(format!(
                "{place}: data must be a map of keys to base64 text"
            ));
        }
    }
    match secret.document.get("stringData") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                let text = match value {
                    Value::Null => continue,
                    Value::String(s) => s.clone(),
                    // YAML turns an unquoted 1234 into a number; the API server
                    // would refuse it, a preview need not.
                    Value::Number(n) => n.to_string(),
                    _ => return Err(format!("{place}: stringData.{key} is not text")),
                };
                data.insert(key.clone(), ByteString(text.into_bytes()));
            }
        }
        Some(_) => return Err(format!("{place}: stringData must be a map of keys to text")),
    }
    let at = SecretRef {
        namespace: secret.namespace.clone(),
        name: secret.name.clone(),
    };
    let login = credentials_from_data(&at, &data).map_err(|e| format!("{}: {e}", secret.file))?;
    Ok(AccountCredentials::of(
        login,
        format!(
            "secret {}/{} ({})",
            secret.namespace, secret.name, secret.file
        ),
    ))
}

/// The credentials a command was given for every account, first found wins:
/// `--secret-file`, else the environment ([`from_env`]). `Ok(None)`: neither.
pub fn given(
    secret_file: Option<&Path>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<AccountCredentials>, String> {
    match secret_file {
        Some(path) => from_secret_file(path).map(Some),
        None => from_env(var),
    }
}

/// Reads the environment through `var` (empty values count as unset).
/// `Ok(None)`: none of the variables is set.
pub fn from_env(
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<AccountCredentials>, String> {
    let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let (username, password, token) = (get(ENV_USERNAME), get(ENV_PASSWORD), get(ENV_TOKEN));
    let mut data = BTreeMap::new();
    match (&username, &password, &token) {
        (None, None, None) => return Ok(None),
        (_, _, Some(t)) if username.is_none() && password.is_none() => {
            data.insert(KEY_TOKEN.to_owned(), ByteString(t.clone().into_bytes()));
        }
        (_, _, Some(_)) => {
            return Err(format!(
                "{ENV_TOKEN} is set together with {ENV_USERNAME}/{ENV_PASSWORD}; set either \
                 {ENV_USERNAME} and {ENV_PASSWORD}, or {ENV_TOKEN}"
            ));
        }
        (Some(u), Some(p), None) => {
            data.insert(KEY_USERNAME.to_owned(), ByteString(u.clone().into_bytes()));
            data.insert(KEY_PASSWORD.to_owned(), ByteString(p.clone().into_bytes()));
        }
        (Some(_), None, None) => {
            return Err(format!("{ENV_USERNAME} is set but {ENV_PASSWORD} is not"));
        }
        (None, Some(_), None) => {
            return Err(format!("{ENV_PASSWORD} is set but {ENV_USERNAME} is not"));
        }
    }
    let at = SecretRef {
        namespace: String::new(),
        name: "environment".to_owned(),
    };
    let login = credentials_from_data(&at, &data)
        .map_err(|e| format!("credentials from the environment: {e}"))?;
    let source = if token.is_some() {
        format!("environment ({ENV_TOKEN})")
    } else {
        format!("environment ({ENV_USERNAME})")
    };
    Ok(Some(AccountCredentials::of(login, source)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(document: Value) -> LoadedSecret {
        LoadedSecret {
            file: "s.yaml".into(),
            namespace: "telecom".into(),
            name: "acct".into(),
            document,
        }
    }

    #[test]
    fn data_is_base64_and_string_data_overrides_it() {
        let s = secret(serde_json::json!({
            "data": {"username": "ZGVtbw==", "password": "bm9wZQ=="},
            "stringData": {"password": "demo"}
        }));
        let account = from_secret(&s).expect("credentials");
        match account.credentials {
            Credentials::Password { username, password } => {
                assert_eq!(username, "demo");
                assert_eq!(password.expose(), "demo");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_base64_names_the_key_not_the_value() {
        let s = secret(serde_json::json!({"data": {"token": "not base64!"}}));
        let e = from_secret(&s).expect_err("bad");
        assert!(e.contains("data.token"), "{e}");
        assert!(!e.contains("not base64!"), "{e}");
    }

    #[test]
    fn missing_keys_are_named() {
        let s = secret(serde_json::json!({"stringData": {"username": "demo"}}));
        let e = from_secret(&s).expect_err("no password");
        assert!(e.contains("no key 'password'"), "{e}");
    }

    #[test]
    fn environment_needs_a_complete_pair_or_a_token() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert!(from_env(env(&[])).expect("ok").is_none());
        assert!(from_env(env(&[(ENV_TOKEN, "t")])).expect("ok").is_some());
        assert!(
            from_env(env(&[(ENV_USERNAME, "u"), (ENV_PASSWORD, "p")]))
                .expect("ok")
                .is_some()
        );
        let e = from_env(env(&[(ENV_USERNAME, "u")])).expect_err("no password");
        assert!(e.contains(ENV_PASSWORD), "{e}");
        let e = from_env(env(&[(ENV_USERNAME, "u"), (ENV_TOKEN, "t")])).expect_err("both");
        assert!(e.contains("either"), "{e}");
    }
}
