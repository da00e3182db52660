//! `vestibule render`: the Kubernetes objects the operator would apply, per region, for review.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::manifest::validate::validate_paths;
use crate::render::review;

/// Print the Kubernetes objects the operator would apply for these manifests, per region
/// (Secret values redacted), for review in pull requests. No cluster needed.
#[derive(clap::Args, Clone, Debug)]
pub struct RenderArgs {
    /// YAML files or directories.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Only this region.
    #[arg(long, value_name = "NAME")]
    pub region: Option<String>,
    /// Auth server image.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
}

/// `vestibule render`: exit 1 when the manifests have errors or no region matches.
pub fn command(args: RenderArgs) -> anyhow::Result<ExitCode> {
    let report = validate_paths(&args.paths, &[])?;
    if report.has_errors() {
        for finding in report.errors() {
            eprintln!("{finding}");
        }
        return Ok(ExitCode::from(1));
    }
    let image = args.image.unwrap_or_else(review::default_image);
    let rendered = review::render_report(&report, args.region.as_deref(), &image);
    if rendered.is_empty() {
        eprintln!(
            "error: no region to render{}",
            args.region
                .map(|r| format!(" named {r:?}"))
                .unwrap_or_default()
        );
        return Ok(ExitCode::from(1));
    }
    print!("{}", review::to_yaml(&rendered));
    Ok(ExitCode::SUCCESS)
}
