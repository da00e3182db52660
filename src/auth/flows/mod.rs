//! The flows a user goes through: sign-up, email verification, sign-in, password recovery and
//! account changes. Each holds its rules and returns a typed outcome or an [`AuthError`](super::AuthError).

pub mod account;
pub mod recovery;
pub mod sign_in;
pub mod sign_up;
pub mod verify;
