//! Connecting the command-line tools (`plan`, `approve`) to a cluster, the
//! way `kubectl` finds one: `--kubeconfig FILE`, else `KUBECONFIG`, else
//! `~/.kube/config`, else the pod's service account (in-cluster);
//! `--context NAME` picks a kubeconfig context.
//!
//! [`connect`] tells "no cluster configured" (`Ok(None)`: `plan` then plans
//! the manifests alone and says so) from "a cluster is configured but
//! unusable" (an error: a pipeline whose kubeconfig broke must fail, not
//! silently preview without the live sets).

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// How long one request to the API server may take before the command
/// fails (these tools read a few objects; the operator has no such limit).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the cluster is, as `kubectl` takes it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClusterArgs {
    /// The kubeconfig file (default: KUBECONFIG, else ~/.kube/config, else
    /// the pod's service account when run in a cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// A client and what it points at, for messages.
#[derive(Clone)]
pub struct Cluster {
    /// The client.
    pub client: kube::Client,
    /// The API server's URL.
    pub server: String,
    /// The kubeconfig context, if the configuration came from a kubeconfig.
    pub context: Option<String>,
    /// The context's namespace (`default` when it names none).
    pub default_namespace: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.server)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// `context NAME (https://...)`, or the server alone.
    pub fn describe(&self) -> String {
        match &self.context {
            Some(context) => format!("context {context} ({})", self.server),
            None => format!("in-cluster ({})", self.server),
        }
    }
}

/// Why no usable cluster configuration could be loaded. Displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The kubeconfig file (explicit or found) cannot be read or used.
    #[error("cannot use the kubeconfig {path}: {reason}")]
    Kubeconfig {
        /// The file (or `KUBECONFIG`'s value).
        path: String,
        /// The loader's error with its causes.
        reason: String,
    },
    /// Running in a pod, but its service account cannot be used.
    #[error("cannot use the in-cluster service account: {0}")]
    InCluster(String),
    /// `--context` without any kubeconfig.
    #[error("--context {0}: no kubeconfig found (pass --kubeconfig FILE or set KUBECONFIG)")]
    ContextWithoutKubeconfig(String),
    /// The client could not be built from the configuration.
    #[error("cannot build a Kubernetes client: {0}")]
    Client(String),
}

/// Where a configuration would come from, without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A kubeconfig file: `--kubeconfig`, `KUBECONFIG` or `~/.kube/config`.
    Kubeconfig(Option<PathBuf>),
    /// The pod's service account.
    InCluster,
}

/// Finds where the configuration comes from, as `kubectl` would; `None`
/// when nothing is configured. `env` reads the environment (a parameter for
/// tests).
pub fn find(args: &ClusterArgs, env: &impl Fn(&str) -> Option<String>) -> Option<Source> {
    if let Some(path) = &args.kubeconfig {
        return Some(Source::Kubeconfig(Some(path.clone())));
    }
    if env("KUBECONFIG").is_some_and(|v| !v.trim().is_empty()) {
        // kube merges the files KUBECONFIG lists.
        return Some(Source::Kubeconfig(None));
    }
    if let Some(home) = env("HOME").filter(|h| !h.is_empty()) {
        let default = Path::new(&home).join(".kube").join("config");
        if default.is_file() {
            return Some(Source::Kubeconfig(Some(default)));
        }
    }
    if env("KUBERNETES_SERVICE_HOST").is_some_and(|v| !v.is_empty()) {
        return Some(Source::InCluster);
    }
    None
}

/// Connects as `kubectl` would; `Ok(None)` when no cluster is configured.
/// Nothing is requested from the server yet.
pub async fn connect(
    args: &ClusterArgs,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Cluster>, ClusterError> {
    let Some(source) = find(args, env) else {
        return match &args.context {
            Some(context) => Err(ClusterError::ContextWithoutKubeconfig(context.clone())),
            None => Ok(None),
        };
    };
    let options = KubeConfigOptions {
        context: args.context.clone(),
        ..KubeConfigOptions::default()
    };
    let (mut config, context) = match source {
        Source::Kubeconfig(path) => {
            let shown = path.as_ref().map_or_else(
                || format!("KUBECONFIG={}", env("KUBECONFIG").unwrap_or_default()),
                |p| p.display().to_string(),
            );
            let failed = |e: &(dyn std::error::Error + 'static)| ClusterError::Kubeconfig {
                path: shown.clone(),
                reason: crate::error::report(e),
            };
            let kubeconfig = match &path {
                Some(p) => Kubeconfig::read_from(p),
                None => Kubeconfig::read(),
            }
            .map_err(|e| failed(&e))?;
            let context = args
                .context
                .clone()
                .or_else(|| kubeconfig.current_context.clone());
            let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| failed(&e))?;
            (config, context)
        }
        Source::InCluster => {
            if let Some(context) = &args.context {
                return Err(ClusterError::ContextWithoutKubeconfig(context.clone()));
            }
            let config = kube::Config::incluster()
                .map_err(|e| ClusterError::InCluster(crate::error::report(&e)))?;
            (config, None)
        }
    };
    config.read_timeout = Some(REQUEST_TIMEOUT);
    config.write_timeout = Some(REQUEST_TIMEOUT);
    let server = config.cluster_url.to_string();
    let default_namespace = config.default_namespace.clone();
    let client = kube::Client::try_from(config)
        .map_err(|e| ClusterError::Client(crate::error::report(&e)))?;
    Ok(Some(Cluster {
        client,
        server,
        context,
        default_namespace,
    }))
}

/// A Kubernetes API error as one line for a person: the status code and
/// the server's message.
pub fn api_error(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.code),
        other => crate::error::report(other),
    }
}

/// The HTTP status of an API error, if the server answered.
pub fn api_status(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn nothing_configured_is_no_cluster() {
        let none = ClusterArgs::default();
        assert_eq!(find(&none, &env(&[("HOME", "/nonexistent-home")])), None);
        assert_eq!(find(&none, &env(&[("KUBECONFIG", " ")])), None);
    }

    #[test]
    fn the_flag_wins_then_kubeconfig_then_in_cluster() {
        let flag = ClusterArgs {
            kubeconfig: Some("/k".into()),
            context: None,
        };
        let all = env(&[
            ("KUBECONFIG", "/e"),
            ("KUBERNETES_SERVICE_HOST", "10.0.0.1"),
        ]);
        assert_eq!(
            find(&flag, &all),
            Some(Source::Kubeconfig(Some("/k".into())))
        );
        assert_eq!(
            find(&ClusterArgs::default(), &all),
            Some(Source::Kubeconfig(None))
        );
        assert_eq!(
            find(
                &ClusterArgs::default(),
                &env(&[("KUBERNETES_SERVICE_HOST", "10.0.0.1")])
            ),
            Some(Source::InCluster)
        );
    }

    #[tokio::test]
    async fn a_context_without_kubeconfig_is_an_error() {
        let args = ClusterArgs {
            kubeconfig: None,
            context: Some("prod".into()),
        };
        let e = connect(&args, &env(&[])).await.expect_err("no kubeconfig");
        assert!(e.to_string().starts_with("--context prod"), "{e}");
    }

    #[tokio::test]
    async fn an_unreadable_kubeconfig_is_an_error_not_no_cluster() {
        let args = ClusterArgs {
            kubeconfig: Some("/nonexistent/kubeconfig".into()),
            context: None,
        };
        let e = connect(&args, &env(&[])).await.expect_err("unreadable");
        assert!(
            e.to_string()
                .starts_with("cannot use the kubeconfig /nonexistent/kubeconfig"),
            "{e}"
        );
    }
}
