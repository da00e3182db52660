//! The `Vestibule` kind: one user pool and the auth servers that serve it, in one or more regions.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{DNS_LABEL_PATTERN, DURATION_PATTERN, ObjectRef, SecretKeyRef};

/// A Vestibule: one user pool (users, sessions, organizations) and its auth deployment.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "vestibule.dev",
    version = "v1alpha1",
    kind = "Vestibule",
    plural = "vestibules",
    shortname = "vst",
    category = "vestibule-all",
    namespaced,
    cel,
    status = "VestibuleStatus",
    doc = "A Vestibule is one user pool and the auth servers that serve it, in one or more regions.",
    printcolumn(name = "Issuer", type_ = "string", json_path = ".spec.issuer"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(
    validation = Rule::new("self.regions.all(r, self.regions.exists_one(s, s.name == r.name))")
        .message("region names must be unique")
        .field_path(".regions"),
    validation = Rule::new("!has(self.database.sqlite) || (size(self.regions) == 1 && self.regions.all(r, r.replicas <= 1))")
        .message("SQLite allows exactly one region with at most one replica; use PostgreSQL for more")
        .field_path(".database")
)]
#[serde(rename_all = "camelCase")]
pub struct VestibuleSpec {
    /// Public URL of this Vestibule, used as the OpenID Connect issuer (for example
    /// `https://auth.example.com`). Must be `https`, except `http://localhost` for development.
    #[schemars(length(min = 1, max = 2048), regex(pattern = r"^https?://[^\s?#]+$"))]
    pub issuer: String,
    /// Where the auth servers run. Each region is a namespace in this cluster or in a remote cluster.
    #[schemars(length(min = 1, max = 16))]
    pub regions: Vec<Region>,
    /// The database that holds users and sessions. Defaults to embedded SQLite.
    #[serde(default)]
    pub database: Database,
    /// Session lifetime and idle timeout.
    #[serde(default)]
    pub sessions: Sessions,
    /// Who may create an account.
    #[serde(default)]
    pub sign_up: SignUp,
    /// Password policy (NIST SP 800-63B: length and a blocklist, no composition rules).
    #[serde(default)]
    pub passwords: Passwords,
    /// How Vestibule sends email (verification codes, password resets, notices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// The `Theme` of hosted pages and emails. Absent: the built-in default theme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme_ref: Option<ObjectRef>,
    /// The `MfaPolicy` for this user pool. Absent: no second factors offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_policy_ref: Option<ObjectRef>,
    /// Organizations (tenants) in this user pool.
    #[serde(default)]
    pub organizations: Organizations,
    /// Keys that sign ID and access tokens.
    #[serde(default)]
    pub signing_keys: SigningKeys,
    /// How the auth servers see the network in front of them.
    #[serde(default, skip_serializing_if = "Network::is_default")]
    pub network: Network,
    /// Stop all changes to the deployment while true (the running servers keep serving).
    #[serde(default)]
    pub paused: bool,
    /// What happens to stored data (SQLite volumes) when a region is removed, the database
    /// moves to PostgreSQL, or the Vestibule is deleted: `Retain` (default) keeps the
    /// PersistentVolumeClaim, `Delete` deletes it with the rest. Everything else is always
    /// deleted.
    #[serde(default, skip_serializing_if = "DeletionPolicy::is_retain")]
    pub deletion_policy: DeletionPolicy,
}

/// Whether data outlives what stored it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Keep the data: the volume claim stays, without an owner, for an operator to reuse or
    /// delete by hand.
    #[default]
    Retain,
    /// Delete the data with its region.
    Delete,
}

impl DeletionPolicy {
    /// Whether data is kept.
    pub fn is_retain(&self) -> bool {
        *self == DeletionPolicy::Retain
    }
}

/// One place where auth servers run.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(
    validation = Rule::new("!has(self.ingress) || has(self.hostname)")
        .message("an ingress needs a hostname")
        .field_path(".ingress")
)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    /// Name of the region (a DNS label such as `eu-west`), unique within the Vestibule.
    #[schemars(length(min = 1, max = 40), regex(pattern = DNS_LABEL_PATTERN))]
    pub name: String,
    /// Number of auth server replicas in this region.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 1, max = 100))]
    pub replicas: i32,
    /// Secret key holding a kubeconfig for a remote cluster. Absent: the operator's own cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig_secret_ref: Option<SecretKeyRef>,
    /// Namespace the region's objects go to. Default: the Vestibule's own namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), regex(pattern = DNS_LABEL_PATTERN))]
    pub namespace: Option<String>,
    /// Public hostname served by this region (used by its Ingress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub hostname: Option<String>,
    /// An Ingress for this region. Absent: no Ingress is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<RegionIngress>,
    /// CPU and memory for each auth server pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

fn default_replicas() -> i32 {
    1
}

/// The Ingress created for a region.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegionIngress {
    /// IngressClass to use. Absent: the cluster default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    /// Annotations added to the Ingress (for example for cert-manager).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Secret holding the TLS certificate for the hostname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret_name: Option<String>,
}

/// Database settings: exactly one of `sqlite` or `postgres`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(
    validation = Rule::new("has(self.sqlite) != has(self.postgres)")
        .message("set exactly one of sqlite or postgres")
)]
#[serde(rename_all = "camelCase")]
pub struct Database {
    /// Embedded SQLite: one region, one replica. Good for development and small installs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqlite: Option<SqliteDatabase>,
    /// PostgreSQL: any number of replicas and regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresDatabase>,
}

impl Default for Database {
    fn default() -> Self {
        Self {
            sqlite: Some(SqliteDatabase::default()),
            postgres: None,
        }
    }
}

/// Embedded SQLite storage.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SqliteDatabase {
    /// Size of the persistent volume holding the database file.
    #[serde(default = "default_sqlite_storage")]
    #[schemars(regex(pattern = r"^[0-9]+(Mi|Gi|Ti)$"))]
    pub storage: String,
}

impl Default for SqliteDatabase {
    fn default() -> Self {
        Self {
            storage: default_sqlite_storage(),
        }
    }
}

fn default_sqlite_storage() -> String {
    "1Gi".into()
}

/// PostgreSQL storage.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostgresDatabase {
    /// Secret key holding the connection URL (`postgres://user:password@host/db`).
    pub url_secret_ref: SecretKeyRef,
    /// Maximum connections each auth server opens (at least 2: one is kept by the writer that
    /// commits refresh-token rotations in batches).
    #[serde(default = "default_pool_size")]
    #[schemars(range(min = 2, max = 200))]
    pub max_connections: i32,
}

fn default_pool_size() -> i32 {
    10
}

/// The network in front of the auth servers.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    /// Reverse proxies (ingress controllers, load balancers) whose `X-Forwarded-For` header is
    /// believed, as IP addresses or CIDR ranges (for example `10.0.0.0/8`). A request that
    /// arrives from one of them is attributed to the nearest address in that header that is
    /// not itself a trusted proxy; from anywhere else the header is ignored, so it cannot be
    /// forged. Empty (the default): the connection's address is the client's, which behind an
    /// ingress makes every visitor share the ingress's per-address rate limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), inner(length(min = 1, max = 49)))]
    pub trusted_proxies: Vec<String>,
}

impl Network {
    fn is_default(&self) -> bool {
        self == &Network::default()
    }
}

/// Session timeouts, enforced server-side.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(
    validation = Rule::new("duration(self.idleTimeout) <= duration(self.lifetime)")
        .message("idleTimeout must not be longer than lifetime")
        .field_path(".idleTimeout")
)]
#[serde(rename_all = "camelCase")]
pub struct Sessions {
    /// Absolute lifetime of a session, however active (for example `24h`, `168h`).
    #[serde(default = "default_session_lifetime")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub lifetime: String,
    /// A session unused for this long ends (for example `1h`).
    #[serde(default = "default_idle_timeout")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub idle_timeout: String,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            lifetime: default_session_lifetime(),
            idle_timeout: default_idle_timeout(),
        }
    }
}

// NIST SP 800-63B AAL2 bounds: 24 h absolute, 1 h idle. Operators may relax them deliberately.
fn default_session_lifetime() -> String {
    "24h".into()
}

fn default_idle_timeout() -> String {
    "1h".into()
}

/// Sign-up settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignUp {
    /// `public`: anyone may sign up; `inviteOnly`: only invited addresses; `disabled`: nobody.
    #[serde(default)]
    pub mode: SignUpMode,
    /// If not empty, only email addresses in these domains may sign up (for example `example.com`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256))]
    pub allowed_domains: Vec<String>,
    /// Whether a new account must verify its email address before it can sign in.
    #[serde(default = "default_true")]
    pub require_email_verification: bool,
}

impl Default for SignUp {
    fn default() -> Self {
        Self {
            mode: SignUpMode::default(),
            allowed_domains: Vec::new(),
            require_email_verification: true,
        }
    }
}

/// Who may create an account.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SignUpMode {
    /// Anyone may sign up.
    #[default]
    Public,
    /// Only invited email addresses may sign up.
    InviteOnly,
    /// Nobody may sign up; accounts are imported or created by admins.
    Disabled,
}

pub(crate) fn default_true() -> bool {
    true
}

/// Password policy and hashing parameters.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(
    validation = Rule::new("self.maxLength >= self.minLength")
        .message("maxLength must be at least minLength")
        .field_path(".maxLength")
)]
#[serde(rename_all = "camelCase")]
pub struct Passwords {
    /// Shortest accepted password, in characters. NIST asks 15 where the password is the only
    /// factor and 8 with MFA.
    #[serde(default = "default_min_length")]
    #[schemars(range(min = 8, max = 64))]
    pub min_length: i32,
    /// Longest accepted password, in characters (at least 64, so passphrases fit).
    #[serde(default = "default_max_length")]
    #[schemars(range(min = 64, max = 1024))]
    pub max_length: i32,
    /// Reject the most common passwords (a built-in blocklist).
    #[serde(default = "default_true")]
    pub reject_common: bool,
    /// Also reject passwords seen in breaches, asking a Pwned Passwords range API with
    /// k-anonymity: only the first 5 hex digits of the password's SHA-1 leave the server. If the
    /// API cannot be reached within 2 s the password is accepted (and a warning logged), so an
    /// outage there never blocks sign-up here.
    #[serde(default)]
    pub breach_check: bool,
    /// Base URL of the range API (`GET {url}/range/{prefix}`): a mirror you run, for example.
    /// Default: `https://api.pwnedpasswords.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub breach_check_url: Option<String>,
    /// argon2id parameters. They cannot go below the OWASP floor (19 MiB, 2 iterations).
    #[serde(default)]
    pub hashing: PasswordHashing,
}

impl Default for Passwords {
    fn default() -> Self {
        Self {
            min_length: default_min_length(),
            max_length: default_max_length(),
            reject_common: true,
            breach_check: false,
            breach_check_url: None,
            hashing: PasswordHashing::default(),
        }
    }
}

fn default_min_length() -> i32 {
    10
}

fn default_max_length() -> i32 {
    128
}

/// argon2id cost parameters.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordHashing {
    /// Memory per hash in KiB (OWASP floor: 19456).
    #[serde(default = "default_memory_kib")]
    #[schemars(range(min = 19456, max = 1048576))]
    pub memory_kib: i32,
    /// Iterations (OWASP floor: 2).
    #[serde(default = "default_iterations")]
    #[schemars(range(min = 2, max = 20))]
    pub iterations: i32,
    /// Lanes of parallelism.
    #[serde(default = "default_parallelism")]
    #[schemars(range(min = 1, max = 16))]
    pub parallelism: i32,
}

impl Default for PasswordHashing {
    fn default() -> Self {
        Self {
            memory_kib: default_memory_kib(),
            iterations: default_iterations(),
            parallelism: default_parallelism(),
        }
    }
}

fn default_memory_kib() -> i32 {
    19456
}

fn default_iterations() -> i32 {
    2
}

fn default_parallelism() -> i32 {
    1
}

/// Outgoing email.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Email {
    /// Sender address, optionally with a display name: `Acme <no-reply@acme.com>`.
    #[schemars(length(min = 3, max = 320))]
    pub from: String,
    /// Reply-To address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// SMTP relay. Absent: email is kept in the outbox (`vestibule dev` shows it at /dev/mailbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<Smtp>,
}

/// An SMTP relay.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Smtp {
    /// SMTP server host name.
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// SMTP server port.
    #[serde(default = "default_smtp_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// Transport security: `starttls` (upgrade a plain connection), `implicit` (TLS from the
    /// first byte, usually port 465) or `none` (only for local relays).
    #[serde(default)]
    pub tls: SmtpTls,
    /// Secret holding the SMTP user name and password. Absent: no authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret_ref: Option<SmtpCredentialsRef>,
}

fn default_smtp_port() -> i32 {
    587
}

/// SMTP transport security.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SmtpTls {
    /// Upgrade a plain connection with STARTTLS (required, not opportunistic).
    #[default]
    Starttls,
    /// TLS from the first byte.
    Implicit,
    /// No encryption; only for a relay on the same host or pod network.
    None,
}

/// The Secret holding SMTP credentials: two keys of one Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmtpCredentialsRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key holding the user name.
    #[serde(default = "default_username_key")]
    pub username_key: String,
    /// Key holding the password.
    #[serde(default = "default_password_key")]
    pub password_key: String,
}

fn default_username_key() -> String {
    "username".into()
}

fn default_password_key() -> String {
    "password".into()
}

/// Organization (tenant) settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Organizations {
    /// Whether organizations are enabled in this user pool.
    #[serde(default)]
    pub enabled: bool,
    /// Whether signed-in users may create organizations themselves.
    #[serde(default = "default_true")]
    pub allow_user_created: bool,
    /// Role given to the creator of an organization.
    #[serde(default = "default_creator_role")]
    pub creator_role: String,
    /// Role given to members who join without an explicit role.
    #[serde(default = "default_member_role")]
    pub default_role: String,
    /// How many organizations one user may create (with `allowUserCreated`).
    #[serde(default = "default_max_created_per_user")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_created_per_user: i32,
    /// Roles every organization has, beside the built-in `admin` (all system permissions) and
    /// `member` (none). A role named `admin` or `member` adds permissions to the built-in one;
    /// an Organization may add its own roles or redefine these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub roles: Vec<super::organization::OrganizationRole>,
}

impl Default for Organizations {
    fn default() -> Self {
        Self {
            enabled: false,
            allow_user_created: true,
            creator_role: default_creator_role(),
            default_role: default_member_role(),
            max_created_per_user: default_max_created_per_user(),
            roles: Vec::new(),
        }
    }
}

fn default_max_created_per_user() -> i32 {
    10
}

fn default_creator_role() -> String {
    "admin".into()
}

fn default_member_role() -> String {
    "member".into()
}

/// Token signing keys, generated and rotated by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningKeys {
    /// JWS algorithm of the signing keys.
    #[serde(default)]
    pub algorithm: SigningAlgorithm,
    /// How often a new key is introduced (for example `720h`).
    #[serde(default = "default_rotation_interval")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub rotation_interval: String,
}

impl Default for SigningKeys {
    fn default() -> Self {
        Self {
            algorithm: SigningAlgorithm::default(),
            rotation_interval: default_rotation_interval(),
        }
    }
}

fn default_rotation_interval() -> String {
    "720h".into()
}

/// JWS signing algorithm.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum SigningAlgorithm {
    /// ECDSA with P-256 and SHA-256.
    #[default]
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit keys), for clients without EC support. Not
    /// available yet: refused until the operator can generate RSA keys.
    RS256,
    /// Ed25519.
    EdDSA,
}

/// Observed state of a Vestibule.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VestibuleStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Reconciling`, `Stalled` and `Degraded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Content hash of the runtime config compiled from the current resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,
    /// State of each region.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<RegionStatus>,
    /// Slugs of declared Organizations that a runtime-created organization holds in the
    /// database, as the auth servers last reported them: those are not synced (their
    /// Organizations say so in their status).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slug_conflicts: Vec<String>,
}

/// Observed state of one region.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegionStatus {
    /// Region name.
    pub name: String,
    /// Conditions of this region: `Ready` (objects applied and at least one auth server ready;
    /// reason `Available`, `Progressing` or `NotApplied`), `Degraded` (could not be applied).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Auth server pods ready in this region.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Config hash the region should be running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_config_hash: Option<String>,
    /// Config hash in the region's ConfigMap: the last one applied, which its servers run (they
    /// load a new one within seconds, without a restart). Kept while a newer config is refused;
    /// absent while nothing was ever applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_config_hash: Option<String>,
    /// Namespace the region's objects live in, so they can be found again once the region is
    /// removed from `spec.regions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Kubeconfig Secret of the region's cluster (absent: this cluster), kept for the same
    /// reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig_secret_ref: Option<SecretKeyRef>,
}
