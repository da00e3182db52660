//! The `vestibule` binary: parses the command line and dispatches to `vestibule::cli`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use vestibule::cli::{self, crd, dev, operator, render, server, validate};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Self-hosted, Kubernetes-native authentication.
#[derive(Parser)]
#[command(name = "vestibule", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole product locally: compile DIR, serve it on SQLite with a dev mailbox, and
    /// reload when files change.
    Dev(dev::DevArgs),
    /// Run the auth server as it runs in a pod: a runtime config file (JSON) and a directory of
    /// secret values (one file per key), both watched for changes.
    Server(server::ServerArgs),
    /// Print the CustomResourceDefinitions (multi-document YAML), or write one file per kind.
    Crd(crd::CrdArgs),
    /// Run the Kubernetes operator: reconcile Vestibule resources into auth servers.
    Operator(operator::OperatorArgs),
    /// Print the Kubernetes objects the operator would apply for these manifests, per region
    /// (Secret values redacted), for review in pull requests. No cluster needed.
    Render(render::RenderArgs),
    /// Check manifests offline: schema, CEL rules, references and semantics. Exit 1 on errors.
    Validate(validate::ValidateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_tracing();
    let outcome = match cli.command {
        Command::Dev(args) => dev::command(args),
        Command::Server(args) => server::command(args),
        Command::Crd(args) => crd::command(args),
        Command::Operator(args) => operator::command(args),
        Command::Render(args) => render::command(args),
        Command::Validate(args) => validate::command(args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
