//! The `vestibule` binary: parses the command line and hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use vestibule::manifest::validate::{Severity, validate_paths};

/// Self-hosted, Kubernetes-native authentication.
#[derive(Parser)]
#[command(name = "vestibule", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the CustomResourceDefinitions (multi-document YAML), or write one file per kind.
    Crd {
        /// Write `<group>_<plural>.yaml` files into this directory instead of printing.
        #[arg(long, value_name = "DIR", conflicts_with = "reference")]
        output_dir: Option<PathBuf>,
        /// Print the field reference (Markdown) instead of the CRDs.
        #[arg(long)]
        reference: bool,
    },
    /// Check manifests offline: schema, CEL rules, references and semantics. Exit 1 on errors.
    Validate {
        /// YAML files or directories (searched recursively for .yaml/.yml).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The manifests as they are now (cluster export or main branch), to check immutable
        /// fields and other transition rules against.
        #[arg(long, value_name = "PATH")]
        previous: Vec<PathBuf>,
        /// Also print notes (documents that are not Vestibule resources).
        #[arg(long, short)]
        verbose: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Crd {
            reference: true, ..
        } => {
            print!("{}", vestibule::crd::reference_markdown());
            Ok(ExitCode::SUCCESS)
        }
        Command::Crd {
            output_dir: None, ..
        } => {
            print!("{}", vestibule::crd::all_to_yaml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Crd {
            output_dir: Some(dir),
            ..
        } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for crd in vestibule::crd::all() {
                let path = dir.join(vestibule::crd::file_name(&crd));
                std::fs::write(&path, vestibule::crd::to_yaml(&crd))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate {
            paths,
            previous,
            verbose,
        } => {
            let report = validate_paths(&paths, &previous)?;
            for finding in &report.findings {
                if finding.severity == Severity::Error || verbose {
                    eprintln!("{finding}");
                }
            }
            let errors = report.errors().count();
            if errors > 0 {
                eprintln!("{errors} error(s) in {} resource(s)", report.resources);
                return Ok(ExitCode::from(1));
            }
            println!("{} resource(s) valid", report.resources);
            for (id, config) in &report.configs {
                println!(
                    "{id} in namespace {}: compiled, config {}",
                    id.namespace, config.hash
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
