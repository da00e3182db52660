//! Vestibule: a self-hosted, Kubernetes-native authentication platform.

pub mod config;
pub mod crd;
pub mod dev;
pub mod email;
pub mod flows;
pub mod manifest;
pub mod operator;
pub mod password;
pub mod render;
pub mod resources;
pub mod server;
pub mod store;
