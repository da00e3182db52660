//! Sign-in through upstream identity providers (`OAuthProvider` resources): the protocol logic
//! as plain functions over a [`crate::auth::Ctx`], like [`super::oidc`] for the provider
//! Vestibule itself is.
//!
//! - [`upstream`]: the providers' endpoints, code exchange, JWKS and userinfo over HTTP.
//! - [`id_token`]: an upstream ID token's claims, checked.
//! - [`flow`]: `/oauth/{slug}/start` and the callback, bound to the browser.
//! - [`accounts`]: which account a provider identity signs in to (the linking rule).
//! - [`proof`]: proving the existing account (password or emailed code) before linking.

pub mod accounts;
pub mod flow;
pub mod id_token;
pub mod proof;
pub mod upstream;
