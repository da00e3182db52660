//! The `Application` kind: an OpenID Connect client that signs users in through Vestibule.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{CommonStatus, DURATION_PATTERN, ObjectRef};
use super::vestibule::default_true;

/// An OpenID Connect client registered with a Vestibule.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "vestibule.dev",
    version = "v1alpha1",
    kind = "Application",
    plural = "applications",
    shortname = "vapp",
    category = "vestibule-all",
    namespaced,
    cel,
    status = "CommonStatus",
    doc = "An OpenID Connect client (web app, single-page app, native app or machine client).",
    printcolumn(
        name = "Vestibule",
        type_ = "string",
        json_path = ".spec.vestibuleRef.name"
    ),
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(name = "Client ID", type_ = "string", json_path = ".spec.clientId"),
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
    validation = Rule::new("self.type == 'm2m' || size(self.redirectUris) > 0")
        .message("web, spa and native applications need at least one redirect URI")
        .field_path(".redirectUris"),
    validation = Rule::new("self.type != 'm2m' || (size(self.redirectUris) == 0 && self.grantTypes.all(g, g == 'client_credentials'))")
        .message("m2m applications use only the client_credentials grant and have no redirect URIs")
        .field_path(".grantTypes"),
    validation = Rule::new("!(self.type in ['spa', 'native']) || !('client_credentials' in self.grantTypes)")
        .message("public clients (spa, native) cannot use client_credentials")
        .field_path(".grantTypes"),
    validation = Rule::new("!(self.type in ['web', 'm2m']) || has(self.secretName)")
        .message("confidential clients (web, m2m) need secretName for their generated client secret")
        .field_path(".secretName")
)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// The Vestibule this application signs users in with. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("vestibuleRef is immutable"))]
    pub vestibule_ref: ObjectRef,
    /// `web` (server-side, confidential), `spa` (browser, public, PKCE), `native` (mobile or
    /// desktop, public, PKCE) or `m2m` (machine to machine, client credentials).
    #[serde(rename = "type")]
    pub application_type: ApplicationType,
    /// OAuth client id. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("clientId is immutable"))]
    #[schemars(
        length(min = 3, max = 128),
        regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    )]
    pub client_id: String,
    /// Name shown on the consent screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub display_name: Option<String>,
    /// Exact redirect URIs (no wildcards). `http` only for loopback addresses.
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub redirect_uris: Vec<String>,
    /// Where users may be sent after signing out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub post_logout_redirect_uris: Vec<String>,
    /// Browser origins allowed to call the token endpoint (CORS), for `spa` applications.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub allowed_origins: Vec<String>,
    /// APIs the application may request access tokens for (RFC 8707 resource indicators:
    /// absolute URIs without a fragment). A request's `resource` parameter must name one of
    /// them, and the access token's `aud` is then that resource instead of the client id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub resources: Vec<String>,
    /// Scopes the application may request.
    #[serde(default = "default_scopes")]
    #[schemars(length(max = 64))]
    pub scopes: Vec<String>,
    /// OAuth grant types the application may use.
    #[serde(default = "default_grant_types")]
    #[schemars(length(max = 3))]
    pub grant_types: Vec<GrantType>,
    /// Token lifetimes.
    #[serde(default)]
    pub token_lifetimes: TokenLifetimes,
    /// Whether users must approve the requested scopes (first-party applications usually skip it).
    #[serde(default = "default_true")]
    pub require_consent: bool,
    /// Whether the application's tokens always speak for an organization (`org_*` claims):
    /// a user without an active one picks one of theirs (or creates one) before the code is
    /// issued. Needs `spec.organizations.enabled` on the Vestibule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_organization: bool,
    /// Secret the operator writes the generated client credentials to (keys `client_id`,
    /// `client_secret`, `issuer`). Required for `web` and `m2m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: Option<String>,
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email"].map(String::from).to_vec()
}

fn default_grant_types() -> Vec<GrantType> {
    vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
}

/// Kind of OAuth client.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApplicationType {
    /// Server-side web application (confidential client).
    Web,
    /// Single-page application in a browser (public client, PKCE).
    Spa,
    /// Mobile or desktop application (public client, PKCE).
    Native,
    /// Machine-to-machine client (client credentials).
    M2m,
}

/// OAuth grant types. Implicit and password grants are deliberately not offered.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// Authorization code with PKCE.
    AuthorizationCode,
    /// Refresh tokens (rotated on use).
    RefreshToken,
    /// Client credentials (m2m only).
    ClientCredentials,
}

/// Lifetimes of issued tokens.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenLifetimes {
    /// Access token lifetime.
    #[serde(default = "default_access_token")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub access_token: String,
    /// ID token lifetime.
    #[serde(default = "default_id_token")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub id_token: String,
    /// Absolute lifetime of a refresh token family.
    #[serde(default = "default_refresh_token")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub refresh_token: String,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        Self {
            access_token: default_access_token(),
            id_token: default_id_token(),
            refresh_token: default_refresh_token(),
        }
    }
}

fn default_access_token() -> String {
    "10m".into()
}

fn default_id_token() -> String {
    "1h".into()
}

fn default_refresh_token() -> String {
    "720h".into()
}
