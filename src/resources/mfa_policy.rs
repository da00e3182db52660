//! The `MfaPolicy` kind: which second factors exist and who must use them.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{CommonStatus, DURATION_PATTERN};
use super::vestibule::default_true;

/// Which second factors users may enrol and who must use them.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "vestibule.dev",
    version = "v1alpha1",
    kind = "MfaPolicy",
    plural = "mfapolicies",
    shortname = "mfap",
    category = "vestibule-all",
    namespaced,
    cel,
    status = "CommonStatus",
    doc = "Which second factors users may enrol and who must use them.",
    printcolumn(
        name = "Enforcement",
        type_ = "string",
        json_path = ".spec.enforcement"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(
    validation = Rule::new("self.enforcement != 'requiredForRoles' || size(self.requiredRoles) > 0")
        .message("enforcement requiredForRoles needs at least one entry in requiredRoles")
        .field_path(".requiredRoles"),
    validation = Rule::new("self.enforcement == 'optional' || self.factors.totp.enabled")
        .message("required MFA needs factors.totp enabled (users without a factor enrol an authenticator app before their first session)")
        .field_path(".factors.totp.enabled")
)]
#[serde(rename_all = "camelCase")]
pub struct MfaPolicySpec {
    /// The second factors users may enrol.
    #[serde(default)]
    pub factors: MfaFactors,
    /// `optional`: users choose; `required`: everyone must enrol; `requiredForRoles`: members
    /// holding one of `requiredRoles` in any organization must enrol.
    #[serde(default)]
    pub enforcement: MfaEnforcement,
    /// Organization roles that must use MFA when enforcement is `requiredForRoles`.
    #[serde(default)]
    #[schemars(length(max = 32))]
    pub required_roles: Vec<String>,
    /// How long a user who must enrol may still sign in without a second factor (`0s`: at once).
    #[serde(default = "default_grace_period")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub enrollment_grace_period: String,
    /// Let users skip the second factor on a device they marked as trusted.
    #[serde(default)]
    pub remember_device: RememberDevice,
    /// Sensitive actions (changing email, removing a factor) require a second factor used within
    /// this long.
    #[serde(default = "default_step_up_max_age")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub step_up_max_age: String,
}

fn default_grace_period() -> String {
    "0s".into()
}

fn default_step_up_max_age() -> String {
    "10m".into()
}

/// Second factors.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaFactors {
    /// Time-based one-time passwords (authenticator apps).
    #[serde(default)]
    pub totp: TotpFactor,
    /// Passkeys and security keys (WebAuthn).
    #[serde(default)]
    pub webauthn: WebauthnFactor,
    /// Single-use recovery codes, offered once another factor is enrolled.
    #[serde(default)]
    pub backup_codes: BackupCodesFactor,
}

/// TOTP settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpFactor {
    /// Whether users may enrol an authenticator app.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Issuer label shown in authenticator apps. Default: the Vestibule's issuer host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub issuer_label: Option<String>,
}

impl Default for TotpFactor {
    fn default() -> Self {
        Self {
            enabled: true,
            issuer_label: None,
        }
    }
}

/// WebAuthn settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebauthnFactor {
    /// Whether users may register passkeys or security keys.
    #[serde(default)]
    pub enabled: bool,
    /// Whether a passkey may also replace the password (first factor).
    #[serde(default)]
    pub passwordless: bool,
    /// Whether the authenticator must verify the user (PIN or biometric). Passkeys always do:
    /// only `required` is accepted while passkeys are enabled.
    #[serde(default)]
    pub user_verification: UserVerification,
}

/// WebAuthn user-verification requirement.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum UserVerification {
    /// The authenticator must verify the user.
    #[default]
    Required,
    /// Verify the user when the authenticator can.
    Preferred,
    /// Do not ask for user verification.
    Discouraged,
}

/// Recovery code settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupCodesFactor {
    /// Whether recovery codes are issued.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// How many codes are issued at a time.
    #[serde(default = "default_backup_code_count")]
    #[schemars(range(min = 5, max = 20))]
    pub count: i32,
}

impl Default for BackupCodesFactor {
    fn default() -> Self {
        Self {
            enabled: true,
            count: default_backup_code_count(),
        }
    }
}

fn default_backup_code_count() -> i32 {
    10
}

/// Who must use a second factor.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum MfaEnforcement {
    /// Users decide whether to enrol.
    #[default]
    Optional,
    /// Every user must enrol a second factor.
    Required,
    /// Members holding one of `requiredRoles` must enrol.
    RequiredForRoles,
}

/// Remembered devices.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RememberDevice {
    /// Whether users may mark a device as trusted.
    #[serde(default)]
    pub enabled: bool,
    /// How long a device stays trusted.
    #[serde(default = "default_remember_duration")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub duration: String,
}

impl Default for RememberDevice {
    fn default() -> Self {
        Self {
            enabled: false,
            duration: default_remember_duration(),
        }
    }
}

fn default_remember_duration() -> String {
    "720h".into()
}
