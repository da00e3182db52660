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
    /// Run the whole product locally: compile DIR, serve it on SQLite with a dev mailbox, and
    /// reload when files change.
    Dev {
        /// Directory of resource YAML (Vestibule, Theme, ..., Secrets).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Port on localhost.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Where the SQLite database is kept.
        #[arg(long, default_value = ".vestibule", value_name = "DIR")]
        data_dir: PathBuf,
        /// Which Vestibule to serve when DIR holds several.
        #[arg(long, value_name = "NAME")]
        vestibule: Option<String>,
        /// Turn rate limits and lockout off, for load tests where every request comes from one
        /// address. Never for anything exposed.
        #[arg(long)]
        no_rate_limits: bool,
    },
    /// Run the auth server as it runs in a pod: a runtime config file (JSON) and a directory of
    /// secret values (one file per key), both watched for changes.
    Server {
        /// The runtime config (JSON), as rendered into the region's ConfigMap.
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "kubernetes",
            conflicts_with = "kubernetes"
        )]
        config: Option<PathBuf>,
        /// The region's Secret, mounted as a directory.
        #[arg(long, value_name = "DIR", conflicts_with = "kubernetes")]
        secrets: Option<PathBuf>,
        /// Watch the region's ConfigMap and Secret through the Kubernetes API instead of files
        /// (namespace from `POD_NAMESPACE`).
        #[arg(long)]
        kubernetes: bool,
        /// ConfigMap to watch (with `--kubernetes`).
        #[arg(long, value_name = "NAME", requires = "kubernetes")]
        config_map: Option<String>,
        /// Secret to watch (with `--kubernetes`).
        #[arg(long, value_name = "NAME", requires = "kubernetes")]
        secret: Option<String>,
        /// Address to listen on.
        #[arg(long, default_value = "0.0.0.0:8080")]
        listen: std::net::SocketAddr,
        /// Database URL (`sqlite:///path` or `postgres://...`). Default: the config's database
        /// (PostgreSQL URL from the secret `database.url`) or SQLite in /var/lib/vestibule.
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// Print the CustomResourceDefinitions (multi-document YAML), or write one file per kind.
    Crd {
        /// Write `<group>_<plural>.yaml` files into this directory instead of printing.
        #[arg(long, value_name = "DIR", conflicts_with = "reference")]
        output_dir: Option<PathBuf>,
        /// Print the field reference (Markdown) instead of the CRDs.
        #[arg(long)]
        reference: bool,
    },
    /// Run the Kubernetes operator: reconcile Vestibule resources into auth servers.
    Operator {
        /// Auth server image for the Deployments it creates.
        #[arg(long, value_name = "IMAGE")]
        image: Option<String>,
        /// Address of the operator's own /healthz, /readyz and /metrics.
        #[arg(long, env = "VESTIBULE_METRICS_ADDR", default_value = "0.0.0.0:8081")]
        metrics: std::net::SocketAddr,
        /// Only watch these namespaces (comma-separated); default: every namespace.
        #[arg(
            long = "watch-namespace",
            env = "VESTIBULE_WATCH_NAMESPACES",
            value_name = "NAMESPACE",
            value_delimiter = ','
        )]
        watch_namespaces: Vec<String>,
    },
    /// Print the Kubernetes objects the operator would apply for these manifests, per region
    /// (Secret values redacted), for review in pull requests. No cluster needed.
    Render {
        /// YAML files or directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Only this region.
        #[arg(long, value_name = "NAME")]
        region: Option<String>,
        /// Auth server image.
        #[arg(long, value_name = "IMAGE")]
        image: Option<String>,
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
    init_tracing();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Logs as JSON lines when `VESTIBULE_LOG_FORMAT=json` (pods), else human-readable; level from
/// `RUST_LOG` (default `info`, with request lines at `warn` in dev to keep the terminal quiet).
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if std::env::var("VESTIBULE_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Dev {
            dir,
            port,
            data_dir,
            vestibule,
            no_rate_limits,
        } => {
            let options = vestibule::dev::DevOptions {
                dir,
                port,
                data_dir,
                vestibule,
                poll_interval: std::time::Duration::from_millis(500),
                no_rate_limits,
            };
            match runtime()?.block_on(vestibule::dev::run(options)) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(vestibule::dev::DevError::Config(message)) => {
                    eprintln!("error: {message}");
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Server {
            config,
            secrets,
            kubernetes,
            config_map,
            secret,
            listen,
            database_url,
        } => {
            use vestibule::server::run::ConfigFrom;
            let source = if kubernetes {
                let namespace = std::env::var("POD_NAMESPACE")
                    .context("--kubernetes needs POD_NAMESPACE (set it from the downward API)")?;
                ConfigFrom::Kubernetes {
                    namespace,
                    config_map: config_map.context("--kubernetes needs --config-map")?,
                    secret: secret.context("--kubernetes needs --secret")?,
                }
            } else {
                ConfigFrom::Files {
                    config: config.context("--config is required without --kubernetes")?,
                    secrets,
                }
            };
            let options = vestibule::server::run::ServerOptions {
                source,
                listen,
                database_url,
            };
            runtime()?.block_on(vestibule::server::run::run(options))?;
            Ok(ExitCode::SUCCESS)
        }
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
        Command::Operator {
            image,
            metrics,
            watch_namespaces,
        } => {
            let options = vestibule::operator::run::OperatorOptions {
                image: image.unwrap_or_else(vestibule::render::review::default_image),
                metrics,
                // The chart passes an empty value for "every namespace".
                namespaces: watch_namespaces
                    .into_iter()
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty())
                    .collect(),
                identity: std::env::var("POD_NAME").ok(),
                lease_namespace: std::env::var("POD_NAMESPACE").ok(),
            };
            runtime()?.block_on(vestibule::operator::run::run(options))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Render {
            paths,
            region,
            image,
        } => {
            let report = validate_paths(&paths, &[])?;
            if report.has_errors() {
                for finding in report.errors() {
                    eprintln!("{finding}");
                }
                return Ok(ExitCode::from(1));
            }
            let image = image.unwrap_or_else(vestibule::render::review::default_image);
            let rendered =
                vestibule::render::review::render_report(&report, region.as_deref(), &image);
            if rendered.is_empty() {
                eprintln!(
                    "error: no region to render{}",
                    region.map(|r| format!(" named {r:?}")).unwrap_or_default()
                );
                return Ok(ExitCode::from(1));
            }
            print!("{}", vestibule::render::review::to_yaml(&rendered));
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
