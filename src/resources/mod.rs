//! The custom resources of `vestibule.dev/v1alpha1`: what platform teams write.
//!
//! Every kind is namespaced; references to other kinds are `{name}` in the same namespace and
//! Secret references are `{name, key}`. The CRDs in `crds/` are generated from these types.

// kube's `printcolumn(name = .., type_ = ..)` repeats keys across columns, which clippy mistakes
// for duplicated attributes.
#![allow(clippy::duplicated_attributes)]

pub mod application;
pub mod common;
pub mod crd;
pub mod mfa_policy;
pub mod oauth_provider;
pub mod organization;
pub mod theme;
pub mod vestibule;

pub use application::Application;
pub use mfa_policy::MfaPolicy;
pub use oauth_provider::OAuthProvider;
pub use organization::Organization;
pub use theme::Theme;
pub use vestibule::Vestibule;

/// API group of every Vestibule kind.
pub const GROUP: &str = "vestibule.dev";
/// `apiVersion` of every Vestibule kind.
pub const API_VERSION: &str = "vestibule.dev/v1alpha1";
