//! Vestibule: a self-hosted, Kubernetes-native authentication platform.
//!
//! The layers, top to bottom (`docs/architecture.md` draws them; `tests/suite/architecture.rs`
//! keeps the arrows true): `cli` wires everything; `operator` → `render` → `manifest` →
//! `config` → `resources` on the operator side; `http` → `auth` → `runtime` → `config` on the
//! server side, with `store`, `email` and `crypto` below the domain.

pub mod auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod email;
pub mod http;
pub mod i18n;
pub mod manifest;
pub mod operator;
pub mod render;
pub mod resources;
pub mod runtime;
pub mod store;
pub mod ui;
