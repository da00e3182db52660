//! The subcommands of the `vestibule` binary, one file each: their arguments and how each one
//! wires the library together. `main.rs` only parses the command line and dispatches here.

pub mod crd;
pub mod dev;
pub mod operator;
pub mod render;
pub mod server;
pub mod theming;
pub mod validate;

/// Logs as JSON lines when `VESTIBULE_LOG_FORMAT=json` (pods), else human-readable; level from
/// `RUST_LOG` (default `info`).
pub fn init_tracing() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
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

/// The multi-threaded runtime the long-running subcommands run on.
fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
