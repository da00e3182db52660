//! The `Organization` kind: a tenant declared as code.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{CommonStatus, DNS_LABEL_PATTERN, ObjectRef};

/// A tenant of a Vestibule, declared as code (end users can also create organizations at runtime).
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "vestibule.dev",
    version = "v1alpha1",
    kind = "Organization",
    plural = "organizations",
    shortname = "vorg",
    category = "vestibule-all",
    namespaced,
    cel,
    status = "CommonStatus",
    doc = "A tenant of a Vestibule: members, roles, verified domains and per-organization settings.",
    printcolumn(
        name = "Vestibule",
        type_ = "string",
        json_path = ".spec.vestibuleRef.name"
    ),
    printcolumn(name = "Slug", type_ = "string", json_path = ".spec.slug"),
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
    validation = Rule::new("self.roles.all(r, self.roles.exists_one(s, s.name == r.name))")
        .message("role names must be unique")
        .field_path(".roles"),
    validation = Rule::new("self.domains.all(d, self.domains.exists_one(e, e.domain == d.domain))")
        .message("domains must be unique")
        .field_path(".domains")
)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationSpec {
    /// The Vestibule this organization belongs to. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("vestibuleRef is immutable"))]
    pub vestibule_ref: ObjectRef,
    /// Stable identifier used in URLs and tokens (a DNS label). Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("slug is immutable"))]
    #[schemars(length(min = 1, max = 63), regex(pattern = DNS_LABEL_PATTERN))]
    pub slug: String,
    /// Name shown to people.
    #[schemars(length(min = 1, max = 128))]
    pub display_name: String,
    /// Email domains owned by the organization, and what happens to users in them.
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub domains: Vec<OrganizationDomain>,
    /// Roles this organization adds to the Vestibule's (`spec.organizations.roles` and the
    /// built-in `admin` and `member`); one with the same name replaces the Vestibule's here.
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub roles: Vec<OrganizationRole>,
    /// Members declared as code, by email address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10000))]
    pub members: Vec<OrganizationMember>,
    /// Theme for this organization's hosted pages. Default: the Vestibule's theme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme_ref: Option<ObjectRef>,
    /// MFA policy for this organization's members. Default: the Vestibule's policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_policy_ref: Option<ObjectRef>,
    /// Slugs of the `OAuthProvider`s for this organization: users whose address is in one of
    /// `domains` are sent straight to the first (home-realm discovery), and this organization's
    /// sign-in page (`?organization=slug`) offers only these. Empty: all of the Vestibule's,
    /// and no home-realm discovery.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub allowed_providers: Vec<String>,
    /// Whether users whose address is in one of `domains` may sign in with a password. `false`
    /// (with `allowedProviders`): they are always sent to the organization's provider, and
    /// password sign-in and sign-up are refused for them.
    #[serde(default = "default_true")]
    pub password_sign_in: bool,
    /// What happens to the organization in the database when this resource is deleted:
    /// `Retain` keeps it (members and all) as an unmanaged organization, `Delete` removes it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// What deleting an `Organization` resource does to the organization it declared.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Keep it, unmanaged: its members stay; declaring the slug again adopts it.
    #[default]
    Retain,
    /// Delete it with its memberships, invitations, roles and domains.
    Delete,
}

/// An email domain of an organization.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationDomain {
    /// The domain, for example `acme.com`.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$")
    )]
    pub domain: String,
    /// `autoJoin`: users with a verified address in the domain join automatically; `suggest`: they
    /// are offered to join; `none`: the domain is only recorded.
    #[serde(default)]
    pub enrollment: DomainEnrollment,
}

/// What happens to users whose verified email is in an organization's domain.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum DomainEnrollment {
    /// Join automatically with the default role.
    AutoJoin,
    /// Offered to join (with the default role) on sign-up and on the organizations page.
    #[default]
    Suggest,
    /// Nothing happens.
    None,
}

/// A role in an organization.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationRole {
    /// Role name, for example `admin` or `billing`.
    #[schemars(length(min = 1, max = 63), regex(pattern = r"^[a-z][a-z0-9_:-]*$"))]
    pub name: String,
    /// What the role is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Permissions the role grants, for example `org:members:manage` or `invoices:read`.
    #[serde(default)]
    #[schemars(length(max = 256))]
    pub permissions: Vec<String>,
}

/// A member declared as code.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationMember {
    /// The member's email address; the membership applies once an account with it exists.
    #[schemars(length(min = 3, max = 320))]
    pub email: String,
    /// One of the organization's roles.
    #[schemars(length(min = 1, max = 63))]
    pub role: String,
}

fn default_true() -> bool {
    true
}
