//! File and key names that are part of the operator–server contract: the operator writes them,
//! the server reads them, so both take them from here.

/// Key of the runtime config (JSON) in the region's ConfigMap, and its file name when mounted.
pub const CONFIG_FILE: &str = "config.json";

/// Key of the public and private signing keys in the region's Secret.
pub const REGION_KEYS_FILE: &str = "signing-keys.json";
