//! The `OAuthProvider` kind: an upstream identity provider for social or enterprise sign-in.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{CommonStatus, DNS_LABEL_PATTERN, ObjectRef, SecretKeyRef};
use super::vestibule::default_true;

/// An upstream identity provider users can sign in with.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "vestibule.dev",
    version = "v1alpha1",
    kind = "OAuthProvider",
    plural = "oauthproviders",
    shortname = "oap",
    category = "vestibule-all",
    namespaced,
    cel,
    status = "CommonStatus",
    doc = "An upstream identity provider (Google, GitHub, Microsoft, any OIDC) for social sign-in.",
    printcolumn(
        name = "Vestibule",
        type_ = "string",
        json_path = ".spec.vestibuleRef.name"
    ),
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(name = "Enabled", type_ = "boolean", json_path = ".spec.enabled"),
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
    validation = Rule::new("self.type != 'oidc' || has(self.issuer)")
        .message("type oidc requires issuer")
        .field_path(".issuer"),
    validation = Rule::new("self.type != 'oauth2' || (has(self.endpoints) && has(self.endpoints.authorization) && has(self.endpoints.token) && has(self.endpoints.userinfo))")
        .message("type oauth2 requires endpoints.authorization, endpoints.token and endpoints.userinfo")
        .field_path(".endpoints"),
    validation = Rule::new("!has(self.tenant) || self.type == 'microsoft'")
        .message("tenant applies only to type microsoft")
        .field_path(".tenant"),
    validation = Rule::new("(self.type == 'apple') == has(self.apple)")
        .message("type apple requires apple (teamId, keyId), which applies only to type apple")
        .field_path(".apple")
)]
#[serde(rename_all = "camelCase")]
pub struct OAuthProviderSpec {
    /// The Vestibule this provider belongs to. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("vestibuleRef is immutable"))]
    pub vestibule_ref: ObjectRef,
    /// Kind of provider. Known providers need only a client id and secret.
    #[serde(rename = "type")]
    pub provider_type: ProviderType,
    /// Name in URLs (`/oauth/{slug}/start`). Default: the resource name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), regex(pattern = DNS_LABEL_PATTERN))]
    pub slug: Option<String>,
    /// Button label on the sign-in page. Default: the provider's usual name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub display_name: Option<String>,
    /// The provider's mark on its button: an `https` URL or a `data:image/...` URI (use the
    /// provider's official asset). Default: the display name's first letter in a badge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 16384))]
    pub icon_url: Option<String>,
    /// OAuth client id registered with the provider.
    #[schemars(length(min = 1, max = 512))]
    pub client_id: String,
    /// Secret key holding the OAuth client secret. For `apple`: the team's private key (the
    /// `.p8` file, PKCS#8 PEM) that signs the client secret Vestibule mints.
    pub client_secret_ref: SecretKeyRef,
    /// Scopes to request. Default: the provider's scopes for identity and email.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub scopes: Vec<String>,
    /// OpenID issuer URL (required for `oidc`; discovery is read from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub issuer: Option<String>,
    /// Microsoft Entra tenant: `common`, `organizations`, `consumers` or a tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub tenant: Option<String>,
    /// Sign in with Apple: the team and key the client secret JWT is signed with (required for
    /// `apple`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apple: Option<AppleSettings>,
    /// Endpoint overrides (required for `oauth2`, which has no discovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<ProviderEndpoints>,
    /// If not empty, only accounts whose verified email is in these domains may sign in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256))]
    pub allowed_domains: Vec<String>,
    /// Which upstream claims fill which user fields. Default: the standard OIDC claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_mapping: Option<ClaimMapping>,
    /// Whether the provider's button is shown and its sign-ins accepted.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Whether a first sign-in through this provider may create an account.
    #[serde(default = "default_true")]
    pub allow_sign_up: bool,
}

/// Kind of upstream provider.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ProviderType {
    /// Google (OpenID Connect).
    Google,
    /// GitHub (OAuth 2.0).
    Github,
    /// Microsoft Entra ID (OpenID Connect).
    Microsoft,
    /// GitLab (OpenID Connect).
    Gitlab,
    /// Sign in with Apple.
    Apple,
    /// Any OpenID Connect provider with discovery.
    Oidc,
    /// Any OAuth 2.0 provider with a userinfo endpoint.
    Oauth2,
}

/// Sign in with Apple's client secret: an ES256 JWT with the team id as issuer, signed with
/// the key `keyId` (from Certificates, Identifiers & Profiles → Keys).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppleSettings {
    /// The Apple Developer team id (10 characters).
    #[schemars(length(min = 1, max = 32), regex(pattern = r"^[A-Z0-9]+$"))]
    pub team_id: String,
    /// The id of the Sign in with Apple key (10 characters).
    #[schemars(length(min = 1, max = 32), regex(pattern = r"^[A-Z0-9]+$"))]
    pub key_id: String,
}

/// Endpoint overrides for a provider.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderEndpoints {
    /// Authorization endpoint URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
    /// Token endpoint URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Userinfo endpoint URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo: Option<String>,
    /// JWKS URL for ID token signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<String>,
    /// GitHub's verified-addresses endpoint. Default: `/emails` beside `userinfo` (so GitHub
    /// Enterprise's `https://HOST/api/v3/user` needs only the userinfo override).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<String>,
}

/// Upstream claim names for each user field.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimMapping {
    /// Claim holding the stable user id. Default `sub` (GitHub: `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Claim holding the email address. Default `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Claim saying whether the email is verified. Default `email_verified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<String>,
    /// Claim holding the display name. Default `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Claim holding the avatar URL. Default `picture`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// Further claims copied into the user's public metadata, keyed by metadata field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}
