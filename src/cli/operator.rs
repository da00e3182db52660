//! `vestibule operator`: the Kubernetes controllers.

use std::process::ExitCode;

use crate::operator::run::OperatorOptions;

/// Run the Kubernetes operator: reconcile Vestibule resources into auth servers.
#[derive(clap::Args, Clone, Debug)]
pub struct OperatorArgs {
    /// Auth server image for the Deployments it creates.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Address of the operator's own /healthz, /readyz and /metrics.
    #[arg(long, env = "VESTIBULE_METRICS_ADDR", default_value = "0.0.0.0:8081")]
    pub metrics: std::net::SocketAddr,
    /// Only watch these namespaces (comma-separated); default: every namespace.
    #[arg(
        long = "watch-namespace",
        env = "VESTIBULE_WATCH_NAMESPACES",
        value_name = "NAMESPACE",
        value_delimiter = ','
    )]
    pub watch_namespaces: Vec<String>,
}

/// `vestibule operator`.
pub fn command(args: OperatorArgs) -> anyhow::Result<ExitCode> {
    let options = OperatorOptions {
        image: args
            .image
            .unwrap_or_else(crate::render::review::default_image),
        metrics: args.metrics,
        // The chart passes an empty value for "every namespace".
        namespaces: args
            .watch_namespaces
            .into_iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect(),
        identity: std::env::var("POD_NAME").ok(),
        lease_namespace: std::env::var("POD_NAMESPACE").ok(),
    };
    super::tokio_runtime()?.block_on(crate::operator::run::run(options))?;
    Ok(ExitCode::SUCCESS)
}
