//! `vestibule validate`: check manifests offline with `file:line` diagnostics.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::manifest::validate::{Severity, validate_paths};

/// Check manifests offline: schema, CEL rules, references and semantics. Exit 1 on errors.
#[derive(clap::Args, Clone, Debug)]
pub struct ValidateArgs {
    /// YAML files or directories (searched recursively for .yaml/.yml).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The manifests as they are now (cluster export or main branch), to check immutable
    /// fields and other transition rules against.
    #[arg(long, value_name = "PATH")]
    pub previous: Vec<PathBuf>,
    /// Also print notes (documents that are not Vestibule resources).
    #[arg(long, short)]
    pub verbose: bool,
}

/// `vestibule validate`.
pub fn command(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let report = validate_paths(&args.paths, &args.previous)?;
    for finding in &report.findings {
        if finding.severity != Severity::Note || args.verbose {
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
