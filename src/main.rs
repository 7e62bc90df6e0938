//! The `tollfree-operator` binary: see `tollfree_operator::cli` for the commands.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match tollfree_operator::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // `--help` and `--version` print and succeed.
            let _ = err.print();
            return match err.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                // `plan` reserves exit code 2 for "changes" (the README's command line), so a
                // pipeline must never read a usage error as a plan: errors are 1.
                _ if std::env::args().nth(1).as_deref() == Some("plan") => ExitCode::FAILURE,
                // Everything else keeps the usual usage-error code.
                _ => ExitCode::from(2),
            };
        }
    };
    tollfree_operator::cli::dispatch(cli).await
}
