//! Names the operator writes and the auth server reads: part of the contract, like
//! [`RuntimeConfig`](super::RuntimeConfig) itself, so both sides take them from here.

/// Key of the region's ConfigMap that holds the `RuntimeConfig` JSON.
pub const CONFIG_FILE: &str = "config.json";

/// The most a ConfigMap holds (the API server's limit on its data): a region whose config does
/// not fit is refused, by `validate`, `render` and the operator alike.
pub const CONFIG_MAP_LIMIT: usize = 1024 * 1024;

/// Key of the region's sync-status ConfigMap (written by the servers) that lists, as a JSON
/// array, the declared Organization slugs a runtime-created organization holds.
pub const SYNC_STATUS_CONFLICTS: &str = "slugConflicts.json";

/// Key of the region's Secret that holds the signing key set (JSON) the server signs with and
/// publishes as its JWKS.
pub const REGION_KEYS_FILE: &str = "signing-keys.json";
/// Key of the MFA key (base64 of 32 bytes) in a region's Secret: it seals TOTP secrets and keys
/// the MACs of backup codes and remembered devices. Generated once, never rotated by itself
/// (every sealed secret depends on it).
pub const REGION_MFA_KEY_FILE: &str = "mfa-key";
