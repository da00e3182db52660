//! Cryptographic building blocks shared by the server and the operator: random tokens and their
//! stored hashes, constant-time comparison, token-signing keys with their JWKS, compact JWS, Sign
//! in with Apple's client secret, and the MFA key that seals second-factor secrets.
//!
//! Primitives come from `ring`, `sha2`, `subtle` and `rand`; this module only composes them. It
//! imports nothing else from the crate, so every layer may use it.

pub mod apple;
pub mod jwks;
pub mod jws;
pub mod keys;
pub mod sealing;
mod tokens;

pub use tokens::{
    constant_time_eq, is_token, new_refresh_token, random_token, refresh_token_key, sha256_hex,
    token_hash,
};
