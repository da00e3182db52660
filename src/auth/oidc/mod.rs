//! The OpenID Provider's protocol logic, as plain functions the `http::oauth` face calls:
//! validating authorization requests today; the grant state machine and token minting next.
//! Nothing here knows HTTP, so each rule is unit-tested without a server.

pub mod authorize;
