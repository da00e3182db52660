//! The runtime config contract and the compile step that produces it from resources.
//!
//! `compile` is pure: the operator, `vestibule validate` and `vestibule dev` all call it, so what
//! runs locally is what runs in the cluster.

pub mod bundle;
pub mod cidr;
pub mod compile;
pub mod diagnostic;
pub mod files;
pub mod runtime;
pub mod shards;
mod uri;

pub use bundle::{Bundle, Resources};
pub(crate) use compile::is_dns_label;
pub use compile::{
    FONT_HOSTS, TokenDoc, compile, contrast_warnings, font_files_origin, token_reference,
};
pub use diagnostic::{Diagnostic, ResourceId};
pub use runtime::RuntimeConfig;
