//! `RuntimeConfig`: the one contract between the operator (or `vestibule dev`) and the server.
//!
//! It is versioned by `apiVersion`, content-hashed, and holds no secret values: a secret is a
//! [`SecretValue`] naming a key of the region's Secret, and `secrets` says where the operator
//! copies each key from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `apiVersion` of the runtime config document. Bump it on any incompatible change.
pub const API_VERSION: &str = "config.vestibule.dev/v1alpha1";
/// `kind` of the runtime config document.
pub const KIND: &str = "RuntimeConfig";

/// Everything an auth server needs to serve one Vestibule, minus secret values.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// Always [`KIND`].
    pub kind: String,
    /// `sha256:` of the document with this field empty; changes whenever anything else does.
    pub hash: String,
    /// Which Vestibule this config serves.
    pub vestibule: VestibuleId,
    /// OpenID issuer URL, exactly as published.
    pub issuer: String,
    /// Region names, in spec order.
    pub regions: Vec<String>,
    /// Storage backend.
    pub database: DatabaseConfig,
    /// Session timeouts.
    pub sessions: SessionConfig,
    /// Sign-up rules.
    pub sign_up: SignUpConfig,
    /// Password policy and hashing cost.
    pub passwords: PasswordConfig,
    /// Outgoing email.
    pub email: EmailConfig,
    /// The Vestibule's theme, with its `extends` chain resolved.
    pub theme: ThemeConfig,
    /// The Vestibule's MFA policy.
    pub mfa: MfaConfig,
    /// Upstream identity providers, by slug.
    pub providers: Vec<ProviderConfig>,
    /// Organization settings and declared organizations, by slug.
    pub organizations: OrganizationsConfig,
    /// OIDC clients, by client id.
    pub applications: Vec<ApplicationConfig>,
    /// Token signing.
    pub signing_keys: SigningKeysConfig,
    /// Keys of the region's Secret, each with the Secret key it is copied from.
    pub secrets: BTreeMap<String, SecretSource>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (CIDR ranges). Left out when empty,
    /// so configs without it hash as they did before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<String>,
}

impl RuntimeConfig {
    /// The content hash of this config, ignoring the current `hash` field.
    pub fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        // Serialization of these types cannot fail: every map key is a string.
        let bytes = serde_json::to_vec(&unhashed).unwrap_or_default();
        let digest = Sha256::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }

    /// Sets `hash` from the content.
    pub fn seal(mut self) -> Self {
        self.hash = self.compute_hash();
        self
    }

    /// The config as the region's ConfigMap carries it: pretty-printed, so `vestibule render`
    /// diffs are reviewable line by line.
    pub fn to_config_map_text(&self) -> String {
        // Serialization of these types cannot fail: every map key is a string.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Why this config does not fit in a region's ConfigMap, if it does not (its size, and what
    /// to do about it).
    pub fn config_map_overflow(&self) -> Option<String> {
        // Declared organizations travel in shards of their own; the rest must fit in one.
        let (main, _) = super::shards::split(self, "config");
        let size = super::files::CONFIG_FILE.len() + main.to_config_map_text().len();
        (size > super::files::CONFIG_MAP_LIMIT).then(|| {
            format!(
                "the compiled config is {} KiB without its declared Organizations, over the 1 MiB \
                 a ConfigMap holds; declare fewer Applications or providers in this Vestibule",
                size / 1024
            )
        })
    }

    /// The enabled upstream provider with this slug.
    pub fn provider(&self, slug: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.slug == slug)
    }

    /// A provider's button label, or the slug itself when it is no longer configured (an
    /// identity linked through a provider since removed).
    pub fn provider_name<'a>(&'a self, slug: &'a str) -> &'a str {
        self.provider(slug)
            .map_or(slug, |p| p.display_name.as_str())
    }

    /// Whether `hash` matches the content (a config edited by hand, or truncated, does not).
    pub fn hash_is_valid(&self) -> bool {
        self.hash == self.compute_hash()
    }
}

/// Namespace and name of a Vestibule.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VestibuleId {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// A secret value, by the key of the region's Secret that holds it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretValue {
    /// Key in the region's Secret.
    pub secret_key: String,
}

/// Where a key of the region's Secret comes from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    /// Source Secret, in the Vestibule's namespace.
    pub name: String,
    /// Key in the source Secret.
    pub key: String,
}

/// Storage backend.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", tag = "engine", deny_unknown_fields)]
pub enum DatabaseConfig {
    /// Embedded SQLite.
    Sqlite {},
    /// PostgreSQL.
    #[serde(rename_all = "camelCase")]
    Postgres {
        /// Connection URL.
        url: SecretValue,
        /// Pool size per server.
        max_connections: u32,
    },
}

/// Session timeouts in seconds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionConfig {
    /// Absolute lifetime.
    pub lifetime_seconds: u64,
    /// Idle timeout.
    pub idle_timeout_seconds: u64,
}

/// Sign-up rules.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignUpConfig {
    /// Who may sign up.
    pub mode: SignUpMode,
    /// Lower-case email domains allowed to sign up; empty: any.
    pub allowed_domains: Vec<String>,
    /// Whether email must be verified before signing in.
    pub require_email_verification: bool,
}

/// Password policy.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordConfig {
    /// Minimum length in characters.
    pub min_length: u32,
    /// Maximum length in characters.
    pub max_length: u32,
    /// Reject common passwords.
    pub reject_common: bool,
    /// Check breached-password corpus.
    pub breach_check: bool,
    /// The Pwned Passwords range API to ask, when `breach_check` is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach_check_url: Option<String>,
    /// argon2id memory in KiB.
    pub argon2_memory_kib: u32,
    /// argon2id iterations.
    pub argon2_iterations: u32,
    /// argon2id parallelism.
    pub argon2_parallelism: u32,
}

/// Outgoing email.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailConfig {
    /// Sender.
    pub from: String,
    /// Reply-To.
    pub reply_to: Option<String>,
    /// SMTP relay; `None` keeps mail in the outbox.
    pub smtp: Option<SmtpConfig>,
}

/// An SMTP relay.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmtpConfig {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Transport security.
    pub tls: SmtpTls,
    /// User name, if the relay needs authentication.
    pub username: Option<SecretValue>,
    /// Password, if the relay needs authentication.
    pub password: Option<SecretValue>,
}

fn default_locale() -> String {
    crate::i18n::FALLBACK.to_owned()
}

/// A theme with its `extends` chain flattened.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThemeConfig {
    /// Names of the Theme resources this was built from, base first; empty for the default.
    pub sources: Vec<String>,
    /// CSS custom property values for the light appearance (`primary` → `#4f46e5`).
    pub tokens: BTreeMap<String, String>,
    /// Dark appearance color overrides.
    pub dark: BTreeMap<String, String>,
    /// Logo.
    pub logo: Option<LogoConfig>,
    /// Layout variant.
    pub layout: LayoutVariant,
    /// Which appearance the pages use.
    #[serde(default)]
    pub color_scheme: ColorScheme,
    /// Social button placement.
    pub social_buttons: SocialButtonsPlacement,
    /// Show the "Secured by Vestibule" footer.
    pub show_footer_branding: bool,
    /// Strings per locale per id.
    pub strings: BTreeMap<String, BTreeMap<String, String>>,
    /// Extra CSS, base theme first.
    pub css: Vec<String>,
    /// A web-font stylesheet from an allowed host (`config::compile` checks it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_url: Option<String>,
    /// The locale when the request names none the theme offers.
    #[serde(default = "default_locale")]
    pub default_locale: String,
    /// Component template overrides.
    pub templates: BTreeMap<String, String>,
}

/// A logo.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogoConfig {
    /// Logo URL.
    pub url: String,
    /// Dark appearance logo URL.
    pub dark_url: Option<String>,
    /// Alternative text.
    pub alt: Option<String>,
    /// Link target.
    pub href: Option<String>,
}

/// MFA policy.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MfaConfig {
    /// The MfaPolicy resource this came from; `None`: no policy, no factors.
    pub source: Option<String>,
    /// TOTP offered.
    pub totp: bool,
    /// TOTP issuer label.
    pub totp_issuer_label: Option<String>,
    /// WebAuthn offered.
    pub webauthn: bool,
    /// Passkeys may replace the password.
    pub passwordless: bool,
    /// WebAuthn user verification.
    pub user_verification: UserVerification,
    /// Backup codes issued.
    pub backup_codes: bool,
    /// Number of backup codes.
    pub backup_code_count: u32,
    /// Who must use MFA.
    pub enforcement: MfaEnforcement,
    /// Roles that must use MFA.
    pub required_roles: Vec<String>,
    /// Grace period in seconds.
    pub enrollment_grace_period_seconds: u64,
    /// Remembered devices allowed.
    pub remember_device: bool,
    /// How long a device is remembered, in seconds.
    pub remember_device_seconds: u64,
    /// Step-up window in seconds.
    pub step_up_max_age_seconds: u64,
}

impl MfaConfig {
    /// No MFA policy: nothing offered, nothing enforced.
    pub fn disabled() -> Self {
        Self {
            source: None,
            totp: false,
            totp_issuer_label: None,
            webauthn: false,
            passwordless: false,
            user_verification: UserVerification::Required,
            backup_codes: false,
            backup_code_count: 0,
            enforcement: MfaEnforcement::Optional,
            required_roles: Vec::new(),
            enrollment_grace_period_seconds: 0,
            remember_device: false,
            remember_device_seconds: 0,
            step_up_max_age_seconds: 600,
        }
    }
}

/// An upstream identity provider.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderConfig {
    /// Name in URLs.
    pub slug: String,
    /// Kind of provider.
    #[serde(rename = "type")]
    pub provider_type: ProviderType,
    /// Button label.
    pub display_name: String,
    /// The provider's mark on its button (checked by `compile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: SecretValue,
    /// Scopes requested.
    pub scopes: Vec<String>,
    /// OIDC issuer, where discovery applies.
    pub issuer: Option<String>,
    /// Authorization endpoint override.
    pub authorization_endpoint: Option<String>,
    /// Token endpoint override.
    pub token_endpoint: Option<String>,
    /// Userinfo endpoint override.
    pub userinfo_endpoint: Option<String>,
    /// JWKS override.
    pub jwks_uri: Option<String>,
    /// GitHub's emails endpoint override (default: `/emails` beside userinfo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails_endpoint: Option<String>,
    /// Microsoft Entra tenant (`common`, `organizations`, `consumers` or a tenant id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Sign in with Apple: the client secret is an ES256 JWT minted with this team and key
    /// (the key itself is `client_secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apple: Option<AppleClientSecret>,
    /// Allowed email domains; empty: any.
    pub allowed_domains: Vec<String>,
    /// Claim names: `subject`, `email`, `emailVerified`, `name`, `picture`, plus extras.
    pub claims: BTreeMap<String, String>,
    /// Extra claims copied to metadata.
    pub extra_claims: BTreeMap<String, String>,
    /// May create accounts.
    pub allow_sign_up: bool,
}

impl ProviderConfig {
    /// A provider with only what every type needs; everything else empty or default (display
    /// name: the slug; sign-up allowed).
    pub fn new(
        slug: &str,
        provider_type: ProviderType,
        client_id: &str,
        client_secret: SecretValue,
    ) -> Self {
        Self {
            slug: slug.to_owned(),
            provider_type,
            display_name: slug.to_owned(),
            icon_url: None,
            client_id: client_id.to_owned(),
            client_secret,
            scopes: Vec::new(),
            issuer: None,
            authorization_endpoint: None,
            token_endpoint: None,
            userinfo_endpoint: None,
            jwks_uri: None,
            emails_endpoint: None,
            tenant: None,
            apple: None,
            allowed_domains: Vec::new(),
            claims: BTreeMap::new(),
            extra_claims: BTreeMap::new(),
            allow_sign_up: true,
        }
    }
}

/// Who signs Sign in with Apple's client secret JWT.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppleClientSecret {
    /// The Apple Developer team id (the JWT's `iss`).
    pub team_id: String,
    /// The key's id (the JWT's `kid`).
    pub key_id: String,
}

/// Organization settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrganizationsConfig {
    /// Organizations enabled.
    pub enabled: bool,
    /// Users may create organizations.
    pub allow_user_created: bool,
    /// Role of an organization's creator.
    pub creator_role: String,
    /// Role of members without an explicit role.
    pub default_role: String,
    /// How many organizations one user may create.
    pub max_created_per_user: u32,
    /// Roles every organization has: name → permissions (sorted), the built-in `admin` and
    /// `member` included.
    pub roles: BTreeMap<String, Vec<String>>,
    /// Organizations declared as resources (in a region's ConfigMap: empty, and in `shards`).
    pub declared: Vec<OrganizationConfig>,
    /// Where a region's ConfigMap keeps the declared organizations instead (see
    /// [`super::shards`]); empty in the compiled and joined config.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<super::shards::ShardRef>,
}

/// Add, remove members and change their roles.
pub const MEMBERS_MANAGE: &str = "org:members:manage";
/// Rename the organization and change its settings.
pub const SETTINGS_MANAGE: &str = "org:settings:manage";
/// Invite by email and revoke pending invitations.
pub const INVITATIONS_MANAGE: &str = "org:invitations:manage";
/// The permissions Vestibule itself checks on organization pages; the built-in `admin` role
/// holds them all.
pub const SYSTEM_PERMISSIONS: [&str; 3] = [INVITATIONS_MANAGE, MEMBERS_MANAGE, SETTINGS_MANAGE];

impl OrganizationsConfig {
    /// The roles of the organization with this slug (declared ones add to and redefine the
    /// instance roles; runtime organizations have the instance roles).
    pub fn roles_of(&self, slug: Option<&str>) -> BTreeMap<String, Vec<String>> {
        let mut roles = self.roles.clone();
        if let Some(org) = slug.and_then(|s| self.declared_by_slug(s)) {
            roles.extend(org.roles.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        roles
    }

    /// The declared organization whose domain `email` is in and that sends its users to a
    /// provider (home-realm discovery), if organizations are on.
    pub fn home_realm(&self, email: &str) -> Option<&OrganizationConfig> {
        if !self.enabled {
            return None;
        }
        // Lower-cased as addresses are stored (Unicode, not ASCII only), so no spelling of the
        // domain slips past.
        let domain = email.trim().rsplit('@').next()?.to_lowercase();
        // Any enrollment, `none` included: a domain can be the organization's for sign-in
        // without making its users members.
        self.declared
            .iter()
            .find(|o| !o.allowed_providers.is_empty() && o.domains.contains_key(&domain))
    }

    /// The declared organization with this slug.
    pub fn declared_by_slug(&self, slug: &str) -> Option<&OrganizationConfig> {
        self.declared
            .binary_search_by(|o| o.slug.as_str().cmp(slug))
            .ok()
            .and_then(|i| self.declared.get(i))
    }
}

/// A declared organization.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrganizationConfig {
    /// Stable slug.
    pub slug: String,
    /// Display name.
    pub display_name: String,
    /// Domains: lower-case domain → enrollment.
    pub domains: BTreeMap<String, DomainEnrollment>,
    /// Roles the organization adds or redefines: name → permissions (sorted).
    pub roles: BTreeMap<String, Vec<String>>,
    /// Members: lower-case email → role.
    pub members: BTreeMap<String, String>,
    /// Organization theme, if it differs from the Vestibule's.
    pub theme: Option<ThemeConfig>,
    /// Organization MFA policy, if it differs from the Vestibule's.
    pub mfa: Option<MfaConfig>,
    /// Provider slugs for this organization: its sign-in page offers only these, and users of
    /// its domains are sent to the first (home-realm discovery); empty: all, no discovery.
    pub allowed_providers: Vec<String>,
    /// Users of its domains may sign in and up with a password.
    pub password_sign_in: bool,
    /// Delete the organization from the database once it is no longer declared (else kept,
    /// unmanaged).
    pub delete_when_undeclared: bool,
}

/// An OIDC client.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationConfig {
    /// Client id.
    pub client_id: String,
    /// Kind of client.
    #[serde(rename = "type")]
    pub application_type: ApplicationType,
    /// Consent screen name.
    pub display_name: String,
    /// Confidential clients authenticate at the token endpoint.
    pub confidential: bool,
    /// Where the operator puts the hash of the generated client secret (confidential clients).
    pub client_secret_hash: Option<SecretValue>,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// CORS origins.
    pub allowed_origins: Vec<String>,
    /// RFC 8707 resources the client may ask tokens for (the access token's `aud`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Allowed scopes.
    pub scopes: Vec<String>,
    /// Allowed grant types.
    pub grant_types: Vec<GrantType>,
    /// Access token lifetime in seconds.
    pub access_token_seconds: u64,
    /// ID token lifetime in seconds.
    pub id_token_seconds: u64,
    /// Refresh token family lifetime in seconds.
    pub refresh_token_seconds: u64,
    /// Consent required.
    pub require_consent: bool,
    /// Tokens always speak for an organization: a user without an active one picks it first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_organization: bool,
}

#[cfg(test)]
impl ApplicationConfig {
    /// A public client of `kind` with one redirect URI and the `openid` scope, for unit tests.
    pub(crate) fn example(kind: ApplicationType, redirect_uris: &[&str]) -> Self {
        ApplicationConfig {
            client_id: "c".into(),
            application_type: kind,
            display_name: "C".into(),
            confidential: false,
            client_secret_hash: None,
            redirect_uris: redirect_uris.iter().map(|s| (*s).to_owned()).collect(),
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            resources: vec![],
            scopes: vec!["openid".into()],
            grant_types: vec![GrantType::AuthorizationCode],
            access_token_seconds: 900,
            id_token_seconds: 3600,
            refresh_token_seconds: 86400,
            require_consent: false,
            require_organization: false,
        }
    }
}

/// Token signing.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SigningKeysConfig {
    /// JWS algorithm.
    pub algorithm: SigningAlgorithm,
    /// Rotation interval in seconds.
    pub rotation_interval_seconds: u64,
}

// The enums below mirror the resource enums variant for variant and serialize the same way, so
// the JSON is unchanged; they are separate types so that a change to a resource (the operator's
// input) cannot silently change what the server reads. `compile` maps one onto the other.

/// Who may create an account.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum SignUpMode {
    /// Anyone may sign up.
    #[default]
    Public,
    /// Only invited email addresses may sign up.
    InviteOnly,
    /// Nobody may sign up.
    Disabled,
}

/// SMTP transport security.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum SmtpTls {
    /// Upgrade a plain connection with STARTTLS (required, not opportunistic).
    #[default]
    Starttls,
    /// TLS from the first byte.
    Implicit,
    /// No encryption.
    None,
}

/// JWS signing algorithm.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// ECDSA with P-256 and SHA-256.
    #[default]
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// Ed25519.
    EdDSA,
}

/// Which appearance the hosted pages use.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ColorScheme {
    /// Always light.
    Light,
    /// Always dark.
    Dark,
    /// The visitor's system setting.
    #[default]
    Auto,
}

/// Layout variant of the hosted pages.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum LayoutVariant {
    /// A card in the middle of the page.
    #[default]
    Centered,
    /// The card on one side, a brand panel on the other.
    Split,
}

/// Placement of social sign-in buttons.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum SocialButtonsPlacement {
    /// Before the email form.
    #[default]
    Top,
    /// After the email form.
    Bottom,
}

/// WebAuthn user-verification requirement.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
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

/// Who must use a second factor.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum MfaEnforcement {
    /// Users decide whether to enrol.
    #[default]
    Optional,
    /// Every user must enrol a second factor.
    Required,
    /// Members holding one of the required roles must enrol.
    RequiredForRoles,
}

/// Kind of upstream identity provider.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
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

/// What happens to users whose verified email is in an organization's domain.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum DomainEnrollment {
    /// Join automatically with the default role.
    AutoJoin,
    /// Offered to join; an admin approves.
    #[default]
    Suggest,
    /// Nothing happens.
    None,
}

/// Kind of OAuth client.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
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

/// OAuth grant type.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// Authorization code with PKCE.
    AuthorizationCode,
    /// Refresh tokens (rotated on use).
    RefreshToken,
    /// Client credentials (m2m only).
    ClientCredentials,
}
