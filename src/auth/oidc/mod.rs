//! The OpenID Provider's protocol logic, as plain functions the `http::oauth` face calls:
//! validating authorization requests and minting tokens today; the endpoints that use them next.
//! Nothing here knows HTTP, so each rule is unit-tested without a server.

pub mod authorize;
pub mod grant;
pub mod tokens;
