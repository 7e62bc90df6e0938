//! Logging: a `tracing` subscriber writing text or JSON lines to stderr,
//! filtered by `RUST_LOG` (default `info`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::error::StartError;

/// The log line format (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (for log collectors).
    Json,
}

/// The filter used when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "info";

/// Builds the filter from `RUST_LOG`, falling back to [`DEFAULT_FILTER`].
/// A malformed `RUST_LOG` is an error rather than being silently ignored.
pub fn env_filter() -> Result<EnvFilter, StartError> {
    match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec).map_err(|e| {
            StartError::Telemetry(format!("RUST_LOG='{spec}' is not a valid filter: {e}"))
        }),
        _ => Ok(EnvFilter::new(DEFAULT_FILTER)),
    }
}

/// Installs the global subscriber. Call once, at start-up.
pub fn init(format: LogFormat) -> Result<(), StartError> {
    let filter = env_filter()?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in collected logs.
        .with_ansi(std::io::stderr().is_terminal());
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    result.map_err(|e| StartError::Telemetry(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn log_formats_parse_from_their_flag_values() {
        assert_eq!(LogFormat::from_str("text", false), Ok(LogFormat::Text));
        assert_eq!(LogFormat::from_str("json", false), Ok(LogFormat::Json));
        assert!(LogFormat::from_str("yaml", false).is_err());
    }

    #[test]
    fn default_filter_is_info() {
        let f = EnvFilter::new(DEFAULT_FILTER);
        assert_eq!(f.to_string(), "info");
    }
}
