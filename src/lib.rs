//! Vestibule: a self-hosted, Kubernetes-native authentication platform.
//!
//! The layers, top to bottom (`docs/architecture.md`; `tests/suite/architecture.rs` keeps the
//! arrows true): `cli` → `operator` → `render` → `config` → `resources`, and `cli` → `http` →
//! `auth` → `runtime` → `store`, `email`, `crypto`.

pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod email;
pub mod http;
pub mod manifest;
pub mod operator;
pub mod render;
pub mod resources;
pub mod runtime;
pub mod store;
