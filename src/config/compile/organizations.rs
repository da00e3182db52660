//! Organization settings and the organizations declared as `Organization` resources.

use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;

use super::Compiler;
use super::checks::{is_dns_label, looks_like_mailbox};
use crate::config::bundle::id_of;
use crate::config::runtime::{
    DomainEnrollment, MfaConfig, OrganizationConfig, OrganizationsConfig, ProviderConfig,
    SYSTEM_PERMISSIONS, ThemeConfig,
};
use crate::config::uri;
use crate::resources::Organization;
use crate::resources::organization as resource;

/// The built-in roles: `admin` holds every system permission, `member` none.
fn builtin_roles() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([
        (
            "admin".to_owned(),
            SYSTEM_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect(),
        ),
        ("member".to_owned(), Vec::new()),
    ])
}

impl From<resource::DomainEnrollment> for DomainEnrollment {
    fn from(enrollment: resource::DomainEnrollment) -> Self {
        match enrollment {
            resource::DomainEnrollment::AutoJoin => Self::AutoJoin,
            resource::DomainEnrollment::Suggest => Self::Suggest,
            resource::DomainEnrollment::None => Self::None,
        }
    }
}

/// Whether `org` lets someone go without MFA whom `base` requires it of. Timings and remembered
/// devices need no check: the stricter of the two applies at runtime.
fn is_weaker(org: &MfaConfig, base: &MfaConfig) -> bool {
    use crate::config::runtime::MfaEnforcement::{Optional, Required, RequiredForRoles};
    match (base.enforcement, org.enforcement) {
        (Optional, _) | (_, Required) => false,
        (Required, _) | (RequiredForRoles, Optional) => true,
        (RequiredForRoles, RequiredForRoles) => !base
            .required_roles
            .iter()
            .all(|r| org.required_roles.contains(r)),
    }
}

impl Compiler<'_> {
    /// Declared organizations, by slug. An organization's theme and MFA policy are kept only
    /// where they differ from the Vestibule's, and its `allowedProviders` are checked against
    /// the enabled `providers`.
    pub(super) fn organizations(
        &mut self,
        providers: &[ProviderConfig],
        vestibule_theme: &ThemeConfig,
        vestibule_mfa: &MfaConfig,
    ) -> OrganizationsConfig {
        let settings = self.bundle.vestibule.spec.organizations.clone();
        let mut sorted: Vec<&Organization> = self.bundle.organizations.iter().collect();
        sorted.sort_by_key(|o| o.name_any());
        let provider_slugs: BTreeSet<&str> = providers.iter().map(|p| p.slug.as_str()).collect();
        let mut slugs: BTreeMap<String, String> = BTreeMap::new();
        let mut domain_owners: BTreeMap<String, String> = BTreeMap::new();
        let vid = id_of(&self.bundle.vestibule);
        let mut instance_roles = builtin_roles();
        let mut seen = BTreeSet::new();
        for (i, role) in settings.roles.iter().enumerate() {
            if !seen.insert(role.name.clone()) {
                self.error(
                    &vid,
                    format!("spec.organizations.roles[{i}].name"),
                    format!("role \"{}\" is defined twice", role.name),
                );
            }
            let permissions = instance_roles.entry(role.name.clone()).or_default();
            permissions.extend(role.permissions.iter().cloned());
            permissions.sort();
            permissions.dedup();
        }
        for (field, role) in [
            ("creatorRole", &settings.creator_role),
            ("defaultRole", &settings.default_role),
        ] {
            if settings.enabled && !instance_roles.contains_key(role) {
                let known: Vec<&str> = instance_roles.keys().map(String::as_str).collect();
                self.error(
                    &vid,
                    format!("spec.organizations.{field}"),
                    format!(
                        "role \"{role}\" is not defined; roles: {} (define it in spec.organizations.roles)",
                        known.join(", ")
                    ),
                );
            }
        }
        let mut declared = Vec::new();
        for org in sorted {
            let oid = id_of(org);
            let s = &org.spec;
            if !settings.enabled {
                self.error(
                    &oid,
                    "spec.vestibuleRef.name",
                    format!(
                        "Vestibule \"{}\" does not enable organizations (set spec.organizations.enabled: true)",
                        s.vestibule_ref.name
                    ),
                );
            }
            if !is_dns_label(&s.slug) {
                self.error(
                    &oid,
                    "spec.slug",
                    format!(
                        "{:?} is not a DNS label (lower-case letters, digits and '-', at most 63)",
                        s.slug
                    ),
                );
            }
            if let Some(other) = slugs.insert(s.slug.clone(), org.name_any()) {
                self.error(
                    &oid,
                    "spec.slug",
                    format!(
                        "slug \"{}\" is already used by Organization/{other}",
                        s.slug
                    ),
                );
            }
            let mut domains = BTreeMap::new();
            for (i, d) in s.domains.iter().enumerate() {
                let path = format!("spec.domains[{i}].domain");
                if let Err(e) = uri::check_domain(&d.domain) {
                    self.error(&oid, &path, e);
                }
                let domain = d.domain.to_ascii_lowercase();
                if let Some(owner) = domain_owners.get(&domain).filter(|o| **o != org.name_any()) {
                    self.error(
                        &oid,
                        &path,
                        format!("domain \"{domain}\" is already claimed by Organization/{owner}"),
                    );
                } else if domains
                    .insert(domain.clone(), d.enrollment.into())
                    .is_some()
                {
                    self.error(&oid, &path, format!("domain \"{domain}\" is listed twice"));
                }
                domain_owners.insert(domain, org.name_any());
            }
            let mut roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (i, role) in s.roles.iter().enumerate() {
                let mut permissions = role.permissions.clone();
                permissions.sort();
                permissions.dedup();
                if roles.insert(role.name.clone(), permissions).is_some() {
                    self.error(
                        &oid,
                        format!("spec.roles[{i}].name"),
                        format!("role \"{}\" is defined twice", role.name),
                    );
                }
            }
            let mut all_roles = instance_roles.clone();
            all_roles.extend(roles.iter().map(|(k, v)| (k.clone(), v.clone())));
            let mut members = BTreeMap::new();
            for (i, m) in s.members.iter().enumerate() {
                if !looks_like_mailbox(&m.email) || m.email.contains('<') {
                    self.error(
                        &oid,
                        format!("spec.members[{i}].email"),
                        format!("{:?} is not an email address", m.email),
                    );
                }
                if !all_roles.contains_key(&m.role) {
                    let known: Vec<&str> = all_roles.keys().map(String::as_str).collect();
                    self.error(
                        &oid,
                        format!("spec.members[{i}].role"),
                        format!(
                            "role \"{}\" is not defined; roles: {}",
                            m.role,
                            known.join(", ")
                        ),
                    );
                }
                if members
                    .insert(m.email.to_ascii_lowercase(), m.role.clone())
                    .is_some()
                {
                    self.error(
                        &oid,
                        format!("spec.members[{i}].email"),
                        format!("{} is listed twice", m.email),
                    );
                }
            }
            for (i, slug) in s.allowed_providers.iter().enumerate() {
                if !provider_slugs.contains(slug.as_str()) {
                    self.error(
                        &oid,
                        format!("spec.allowedProviders[{i}]"),
                        format!("no enabled OAuthProvider with slug \"{slug}\" belongs to this Vestibule"),
                    );
                }
            }
            let theme = s
                .theme_ref
                .as_ref()
                .map(|r| self.theme_for(Some(&r.name), &oid, "spec.themeRef.name"))
                .filter(|t| t != vestibule_theme);
            let mfa = s
                .mfa_policy_ref
                .as_ref()
                .map(|r| self.mfa_for(Some(&r.name), &oid, "spec.mfaPolicyRef.name"))
                .filter(|m| m != vestibule_mfa);
            if let Some(weaker) = mfa.as_ref().filter(|m| is_weaker(m, vestibule_mfa)) {
                self.error(
                    &oid,
                    "spec.mfaPolicyRef.name",
                    format!(
                        "MfaPolicy \"{}\" requires less than the Vestibule's policy; an organization's policy may only add requirements",
                        weaker.source.as_deref().unwrap_or_default()
                    ),
                );
            }
            if !s.password_sign_in && (s.allowed_providers.is_empty() || s.domains.is_empty()) {
                self.error(
                    &oid,
                    "spec.passwordSignIn",
                    "false needs allowedProviders and domains: its users must be sent somewhere",
                );
            }
            let mut allowed_providers = s.allowed_providers.clone();
            allowed_providers.sort();
            allowed_providers.dedup();
            declared.push(OrganizationConfig {
                slug: s.slug.clone(),
                display_name: s.display_name.clone(),
                domains,
                roles,
                members,
                theme,
                mfa,
                allowed_providers,
                password_sign_in: s.password_sign_in,
                delete_when_undeclared: s.deletion_policy == resource::DeletionPolicy::Delete,
            });
        }
        declared.sort_by(|a, b| a.slug.cmp(&b.slug));
        OrganizationsConfig {
            enabled: settings.enabled,
            allow_user_created: settings.allow_user_created,
            creator_role: settings.creator_role,
            default_role: settings.default_role,
            max_created_per_user: u32::try_from(settings.max_created_per_user)
                .unwrap_or(1)
                .max(1),
            roles: instance_roles,
            declared,
            shards: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        has_diagnostic, manifest, maps_to_same_json, organization, provider, run_part, secret,
        with_spec,
    };
    use super::*;
    use crate::config::Bundle;
    use crate::config::diagnostic::{Diagnostic, ResourceId};

    const ENABLED: &str = "organizations: {enabled: true}";

    /// Compiles the organizations the way `run` does: after providers, theme and MFA policy.
    fn organizations(b: &Bundle) -> (OrganizationsConfig, Vec<Diagnostic>) {
        let id = ResourceId::new("Vestibule", "default", "test");
        run_part(b, |c| {
            let providers = c.providers();
            let theme = c.theme_for(Some("brand"), &id, "spec.themeRef.name");
            let mfa = MfaConfig::disabled();
            c.organizations(&providers, &theme, &mfa)
        })
    }

    fn brand() -> String {
        manifest("Theme", "brand", "tokens: {radius: 4px}")
    }

    #[test]
    fn an_organization_compiles_with_default_roles_and_normalised_members() {
        let acme = organization(
            "acme",
            "slug: acme
displayName: Acme
domains: [{domain: acme.com, enrollment: autoJoin}]
members: [{email: Boss@Acme.com, role: admin}]
allowedProviders: [github, github]
themeRef: {name: brand}",
        );
        let github = provider(
            "github",
            "type: github\nclientId: x\nclientSecretRef: {name: s, key: k}",
        );
        let b = with_spec(ENABLED, &[&acme, &github, &secret("s", &["k"]), &brand()]);
        let (orgs, diagnostics) = organizations(&b);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert!(orgs.enabled && orgs.allow_user_created);
        assert_eq!(
            (orgs.creator_role.as_str(), orgs.default_role.as_str()),
            ("admin", "member")
        );
        let [org] = orgs.declared.as_slice() else {
            panic!("{:?}", orgs.declared);
        };
        assert_eq!(
            (org.slug.as_str(), org.display_name.as_str()),
            ("acme", "Acme")
        );
        assert_eq!(org.domains["acme.com"], DomainEnrollment::AutoJoin);
        assert!(
            org.roles.is_empty(),
            "no roles declared: only the Vestibule's"
        );
        assert_eq!(
            orgs.roles["admin"],
            [
                "org:invitations:manage",
                "org:members:manage",
                "org:settings:manage"
            ],
            "the built-in admin holds the system permissions"
        );
        assert_eq!(orgs.roles["member"], Vec::<String>::new());
        assert_eq!(orgs.max_created_per_user, 10);
        assert_eq!(org.members["boss@acme.com"], "admin");
        assert_eq!(org.allowed_providers, ["github"]);
        assert_eq!(org.theme, None, "the Vestibule's theme is not repeated");
        assert_eq!(org.mfa, None);
    }

    #[test]
    fn organizations_need_the_vestibule_to_enable_them() {
        let acme = organization("acme", "slug: acme\ndisplayName: Acme");
        let b = with_spec("", &[&acme, &brand()]);
        let (orgs, diagnostics) = organizations(&b);
        assert!(!orgs.enabled);
        has_diagnostic(
            &diagnostics,
            ("Organization", "acme"),
            "spec.vestibuleRef.name",
            "does not enable organizations",
        );
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    }

    #[test]
    fn slugs_and_domains_belong_to_one_organization() {
        let a = organization(
            "a",
            "slug: acme\ndisplayName: A\ndomains: [{domain: acme.com}, {domain: acme.com}]",
        );
        let b_org = organization(
            "b",
            "slug: acme\ndisplayName: B\ndomains: [{domain: acme.com}]",
        );
        let c_org = organization("c", "slug: Not_A_Label\ndisplayName: C");
        let b = with_spec(ENABLED, &[&c_org, &b_org, &a, &brand()]);
        let (_, diagnostics) = organizations(&b);
        has_diagnostic(
            &diagnostics,
            ("Organization", "a"),
            "spec.domains[1].domain",
            "listed twice",
        );
        has_diagnostic(
            &diagnostics,
            ("Organization", "b"),
            "spec.slug",
            "already used by Organization/a",
        );
        has_diagnostic(
            &diagnostics,
            ("Organization", "b"),
            "spec.domains[0].domain",
            "already claimed by Organization/a",
        );
        has_diagnostic(
            &diagnostics,
            ("Organization", "c"),
            "spec.slug",
            "is not a DNS label",
        );
        assert_eq!(diagnostics.len(), 4, "{diagnostics:#?}");
    }

    #[test]
    fn roles_members_and_providers_are_checked() {
        let acme = organization(
            "acme",
            "slug: acme
displayName: Acme
roles: [{name: viewer, permissions: [b, a, a]}, {name: editor}, {name: editor}]
members:
  - {email: not-an-address, role: viewer}
  - {email: x@acme.com, role: owner}
  - {email: X@acme.com, role: viewer}
allowedProviders: [nope]",
        );
        let b = with_spec(ENABLED, &[&acme, &brand()]);
        let (orgs, diagnostics) = organizations(&b);
        let on = ("Organization", "acme");
        has_diagnostic(
            &diagnostics,
            on,
            "spec.roles[2].name",
            "role \"editor\" is defined twice",
        );
        has_diagnostic(
            &diagnostics,
            on,
            "spec.members[0].email",
            "not an email address",
        );
        has_diagnostic(
            &diagnostics,
            on,
            "spec.members[1].role",
            "role \"owner\" is not defined; roles: admin, editor, member, viewer",
        );
        has_diagnostic(&diagnostics, on, "spec.members[2].email", "listed twice");
        has_diagnostic(
            &diagnostics,
            on,
            "spec.allowedProviders[0]",
            "no enabled OAuthProvider with slug \"nope\"",
        );
        assert_eq!(diagnostics.len(), 5, "{diagnostics:#?}");
        assert_eq!(
            orgs.declared[0].roles["viewer"],
            ["a", "b"],
            "sorted, deduplicated"
        );
    }

    #[test]
    fn refusing_passwords_needs_somewhere_to_send_the_domain_s_users() {
        let acme = organization(
            "acme",
            "slug: acme\ndisplayName: Acme\ndomains: [{domain: acme.com}]\npasswordSignIn: false",
        );
        let b = with_spec(ENABLED, &[&acme, &brand()]);
        let (_, diagnostics) = organizations(&b);
        has_diagnostic(
            &diagnostics,
            ("Organization", "acme"),
            "spec.passwordSignIn",
            "false needs allowedProviders and domains",
        );
    }

    #[test]
    fn instance_roles_extend_the_built_in_ones_and_must_cover_creator_and_default() {
        let b = with_spec(
            "organizations:
  enabled: true
  creatorRole: owner
  defaultRole: viewer
  roles:
    - {name: viewer, permissions: [projects:read]}
    - {name: member, permissions: [projects:read]}
    - {name: viewer}",
            &[&brand()],
        );
        let (orgs, diagnostics) = organizations(&b);
        let on = ("Vestibule", "test");
        has_diagnostic(
            &diagnostics,
            on,
            "spec.organizations.roles[2].name",
            "role \"viewer\" is defined twice",
        );
        has_diagnostic(
            &diagnostics,
            on,
            "spec.organizations.creatorRole",
            "role \"owner\" is not defined; roles: admin, member, viewer",
        );
        assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");
        assert_eq!(
            orgs.roles["member"],
            ["projects:read"],
            "added to the built-in"
        );
        assert_eq!(orgs.roles["admin"].len(), 3);
    }

    #[test]
    fn an_organization_policy_may_only_add_requirements() {
        use crate::config::runtime::MfaEnforcement as E;
        let policy = |enforcement, roles: &[&str]| MfaConfig {
            source: Some("p".into()),
            enforcement,
            required_roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            ..MfaConfig::disabled()
        };
        let optional = policy(E::Optional, &[]);
        let required = policy(E::Required, &[]);
        let admins = policy(E::RequiredForRoles, &["admin"]);
        let admins_and_owners = policy(E::RequiredForRoles, &["admin", "owner"]);
        assert!(!is_weaker(&required, &optional));
        assert!(!is_weaker(&admins, &optional));
        assert!(is_weaker(&optional, &required));
        assert!(is_weaker(&admins, &required));
        assert!(is_weaker(&optional, &admins));
        assert!(!is_weaker(&admins_and_owners, &admins));
        assert!(is_weaker(&admins, &admins_and_owners));
    }

    #[test]
    fn an_organization_keeps_a_theme_or_policy_only_where_it_differs() {
        let acme = organization(
            "acme",
            "slug: acme\ndisplayName: Acme\nthemeRef: {name: own}\nmfaPolicyRef: {name: strict}",
        );
        let own = manifest(
            "Theme",
            "own",
            "extends: {name: brand}\ntokens: {radius: \"0\"}",
        );
        let strict = manifest("MfaPolicy", "strict", "enforcement: required");
        let b = with_spec(ENABLED, &[&acme, &own, &brand(), &strict]);
        let (orgs, diagnostics) = organizations(&b);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let org = &orgs.declared[0];
        let theme = org.theme.as_ref().expect("own theme");
        assert_eq!(theme.sources, ["brand", "own"]);
        assert_eq!(theme.tokens["radius"], "0");
        assert_eq!(
            org.mfa.as_ref().and_then(|m| m.source.as_deref()),
            Some("strict")
        );
    }

    #[test]
    fn enums_keep_their_json() {
        use resource::DomainEnrollment as D;
        maps_to_same_json::<_, DomainEnrollment>(&[D::AutoJoin, D::Suggest, D::None]);
    }
}
