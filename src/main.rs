//! The `tollfree-operator` binary: see `tollfree_operator::cli` for the commands.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = tollfree_operator::cli::Cli::parse();
    tollfree_operator::cli::dispatch(cli).await
}
