//! Integration tests for the auth server. One test binary, one module per area.

mod support;

mod app;
mod dev_reload;
mod federation;
mod integrate_doc;
mod mfa;
mod oidc;
mod organizations;
mod pages;
mod security;
mod server_cmd;
mod store;
mod theming;
