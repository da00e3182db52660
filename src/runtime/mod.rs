//! The config a server runs with: the live snapshot every request reads, the sources new
//! versions come from (files, the Kubernetes API, a `vestibule dev` directory), and the one loop
//! that validates each version before swapping it in, keeping the last good one.

pub mod dev_source;
pub mod kube_source;
pub mod live;
pub mod look;
pub mod metrics;
pub mod source;
mod stylesheet;

pub use live::{ActivateError, Active, LiveConfig, SecretValues, origin_of};
pub use metrics::ConfigMetrics;
pub use source::{Candidate, ConfigSource, FileSource, follow};
