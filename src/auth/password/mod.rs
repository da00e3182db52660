//! Passwords: the policy a new password must meet, and argon2id hashing with bounded concurrency.
//!
//! Both follow SECURITY.md items 1–8 and 11: NIST SP 800-63B length rules with no composition
//! rules, a common-password blocklist, PHC `$argon2id$` hashes verified byte-exact, and a hash
//! queue that refuses a burst instead of running out of memory.

pub mod breach;
mod hasher;
mod policy;

pub use hasher::{HashError, PasswordHasher, Verification};
pub use policy::{PolicyViolation, check_policy};
