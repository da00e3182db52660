//! `vestibule crd`: print the CustomResourceDefinitions, write one file per kind, or print the
//! field reference.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::manifest::crds::{all_to_yaml, to_yaml};
use crate::resources::crd;

/// Print the CustomResourceDefinitions (multi-document YAML), or write one file per kind.
#[derive(clap::Args, Clone, Debug)]
pub struct CrdArgs {
    /// Write `<group>_<plural>.yaml` files into this directory instead of printing.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["reference", "theming"])]
    pub output_dir: Option<PathBuf>,
    /// Print the field reference (Markdown) instead of the CRDs.
    #[arg(long, conflicts_with = "theming")]
    pub reference: bool,
    /// Print the theming reference (Markdown): tokens, part names, components and their
    /// contexts, string keys.
    #[arg(long)]
    pub theming: bool,
}

/// `vestibule crd`.
pub fn command(args: CrdArgs) -> anyhow::Result<ExitCode> {
    if args.theming {
        print!("{}", super::theming::reference());
        return Ok(ExitCode::SUCCESS);
    }
    if args.reference {
        print!("{}", crd::reference_markdown());
        return Ok(ExitCode::SUCCESS);
    }
    let Some(dir) = args.output_dir else {
        print!("{}", all_to_yaml());
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for crd in crd::all() {
        let path = dir.join(crd::file_name(&crd));
        std::fs::write(&path, to_yaml(&crd))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
