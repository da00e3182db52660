//! Reading resource manifests: YAML with line positions, checks against the CRD schemas, and the
//! `validate` pipeline built on them.

pub mod crds;
pub mod schema;
pub mod secrets;
pub mod validate;
pub mod yaml;
