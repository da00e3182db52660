//! The OpenID Provider's protocol logic, as plain functions the `http::oauth` face calls:
//! validating authorization requests, the grant state machine, minting tokens, logout requests.
//! Nothing here knows HTTP, so each rule is unit-tested without a server.

pub mod authorize;
pub mod grant;
pub mod logout;
pub mod tokens;
