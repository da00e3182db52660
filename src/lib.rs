//! Vestibule: a self-hosted, Kubernetes-native authentication platform.

pub mod config;
pub mod crd;
pub mod manifest;
pub mod resources;
