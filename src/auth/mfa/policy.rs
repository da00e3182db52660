//! The MFA policy that applies to one user: the Vestibule's `MfaPolicy`, made stricter by the
//! policy of every declared Organization the user is a member of (an organization can only add
//! requirements, never lift them; `compile` refuses one that is weaker than the Vestibule's).
//!
//! Memberships come from the database (every organization, runtime ones with the Vestibule's
//! policy, so `requiredForRoles` covers roles held anywhere: [`Policy::of`]), joined with the
//! declared member lists (which hold before the first sync has written them).

use crate::config::RuntimeConfig;
use crate::config::runtime::{MfaConfig, MfaEnforcement};

/// What one user is offered and owes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Whether any MfaPolicy applies at all (none: no factors offered, no challenge).
    pub active: bool,
    /// Authenticator apps offered.
    pub totp: bool,
    /// Passkeys offered (registration and use).
    pub webauthn: bool,
    /// Passkeys may sign in alone (on `/sign-in`).
    pub passwordless: bool,
    /// Backup codes issued with the first factor.
    pub backup_codes: bool,
    /// How many codes a set holds.
    pub backup_code_count: u32,
    /// Whether the user must have a second factor.
    pub required: bool,
    /// How long after MFA first became required the user may still postpone enrolment.
    pub grace_ms: i64,
    /// Whether the user may mark a device as trusted, and for how long.
    pub remember_device_ms: Option<i64>,
    /// How recent a second factor must be for sensitive actions.
    pub step_up_ms: i64,
}

fn ms(seconds: u64) -> i64 {
    i64::try_from(seconds)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000)
}

/// Whether `policy` requires MFA of a member holding `role` (`None`: not a member of an
/// organization, as for the Vestibule's own policy without organizations).
fn requires(policy: &MfaConfig, roles: &[&str]) -> bool {
    match policy.enforcement {
        MfaEnforcement::Optional => false,
        MfaEnforcement::Required => true,
        MfaEnforcement::RequiredForRoles => roles
            .iter()
            .any(|r| policy.required_roles.iter().any(|req| req == r)),
    }
}

impl Policy {
    /// The policy for `user`, with their memberships as the database holds them now.
    pub async fn of(
        ctx: &crate::auth::Ctx<'_>,
        user: &crate::store::User,
    ) -> Result<Policy, crate::auth::AuthError> {
        let config = &ctx.active.config;
        if !config.organizations.enabled {
            return Ok(Self::for_user(config, &user.email));
        }
        let held: Vec<(String, bool, String)> = ctx
            .services
            .store
            .organizations_of_user(&user.id)
            .await?
            .into_iter()
            .map(|(o, m)| (o.slug, o.managed, m.role))
            .collect();
        Ok(Self::with_memberships(config, &user.email, &held))
    }

    /// The policy for the user with address `email`, from the declared member lists alone.
    pub fn for_user(config: &RuntimeConfig, email: &str) -> Policy {
        Self::with_memberships(config, email, &[])
    }

    /// The policy for the user with address `email` who holds `held` (slug, managed, role) in
    /// the database, besides what the declared member lists say.
    pub fn with_memberships(
        config: &RuntimeConfig,
        email: &str,
        held: &[(String, bool, String)],
    ) -> Policy {
        let base = &config.mfa;
        // (the organization's policy, the member's role): declared lists, then the database's
        // memberships of organizations not already counted.
        let mut memberships: Vec<(&MfaConfig, &str)> = Vec::new();
        let mut counted: Vec<&str> = Vec::new();
        for org in &config.organizations.declared {
            if let Some(role) = org.members.get(email) {
                memberships.push((org.mfa.as_ref().unwrap_or(base), role.as_str()));
                counted.push(org.slug.as_str());
            }
        }
        for (slug, managed, role) in held {
            if counted.contains(&slug.as_str()) {
                continue;
            }
            let declared = managed
                .then(|| config.organizations.declared_by_slug(slug))
                .flatten();
            let policy = declared.and_then(|o| o.mfa.as_ref()).unwrap_or(base);
            memberships.push((policy, role.as_str()));
        }
        let roles: Vec<&str> = memberships.iter().map(|(_, role)| *role).collect();
        let mut policy = Policy {
            active: base.source.is_some(),
            totp: base.totp,
            webauthn: base.webauthn,
            passwordless: base.passwordless,
            backup_codes: base.backup_codes,
            backup_code_count: base.backup_code_count,
            required: requires(base, &roles),
            grace_ms: ms(base.enrollment_grace_period_seconds),
            remember_device_ms: base
                .remember_device
                .then(|| ms(base.remember_device_seconds)),
            step_up_ms: ms(base.step_up_max_age_seconds),
        };
        let own_grace = |p: &MfaConfig| ms(p.enrollment_grace_period_seconds);
        let mut grace = policy.required.then_some(policy.grace_ms);
        for (org_policy, role) in memberships {
            if org_policy.source.is_none() || std::ptr::eq(org_policy, base) {
                continue;
            }
            policy.active = true;
            policy.totp |= org_policy.totp;
            policy.webauthn |= org_policy.webauthn;
            if org_policy.backup_codes && !policy.backup_codes {
                policy.backup_codes = true;
                policy.backup_code_count = org_policy.backup_code_count;
            }
            if requires(org_policy, &[role]) {
                policy.required = true;
                grace = Some(grace.map_or(own_grace(org_policy), |g| g.min(own_grace(org_policy))));
            }
            // Stricter wins: a device is remembered only if every policy allows it.
            policy.remember_device_ms =
                match (policy.remember_device_ms, org_policy.remember_device) {
                    (Some(a), true) => Some(a.min(ms(org_policy.remember_device_seconds))),
                    _ => None,
                };
            policy.step_up_ms = policy
                .step_up_ms
                .min(ms(org_policy.step_up_max_age_seconds));
        }
        policy.grace_ms = grace.unwrap_or(0);
        policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::runtime::OrganizationConfig;
    use std::collections::BTreeMap;

    fn mfa(enforcement: MfaEnforcement, roles: &[&str], grace: u64) -> MfaConfig {
        MfaConfig {
            source: Some("p".into()),
            totp: true,
            backup_codes: true,
            backup_code_count: 10,
            enforcement,
            required_roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            enrollment_grace_period_seconds: grace,
            remember_device: true,
            remember_device_seconds: 100,
            step_up_max_age_seconds: 600,
            ..MfaConfig::disabled()
        }
    }

    fn org(slug: &str, members: &[(&str, &str)], policy: Option<MfaConfig>) -> OrganizationConfig {
        OrganizationConfig {
            slug: slug.into(),
            display_name: slug.into(),
            domains: BTreeMap::new(),
            roles: BTreeMap::new(),
            members: members
                .iter()
                .map(|(e, r)| ((*e).to_owned(), (*r).to_owned()))
                .collect(),
            theme: None,
            mfa: policy,
            allowed_providers: Vec::new(),
            password_sign_in: true,
            delete_when_undeclared: false,
        }
    }

    fn config(base: MfaConfig, orgs: Vec<OrganizationConfig>) -> RuntimeConfig {
        let mut c = crate::config::compile::minimal_runtime_config();
        c.mfa = base;
        c.organizations.declared = orgs;
        c
    }

    #[test]
    fn no_policy_offers_and_requires_nothing() {
        let p = Policy::for_user(&config(MfaConfig::disabled(), vec![]), "a@x.io");
        assert!(!p.active && !p.totp && !p.required);
    }

    #[test]
    fn required_for_roles_follows_declared_memberships() {
        let base = mfa(MfaEnforcement::RequiredForRoles, &["admin"], 3600);
        let c = config(
            base,
            vec![org(
                "acme",
                &[("boss@x.io", "admin"), ("dev@x.io", "member")],
                None,
            )],
        );
        let boss = Policy::for_user(&c, "boss@x.io");
        assert!(boss.required);
        assert_eq!(boss.grace_ms, 3_600_000);
        assert!(!Policy::for_user(&c, "dev@x.io").required);
        assert!(!Policy::for_user(&c, "stranger@x.io").required);
    }

    #[test]
    fn an_organization_policy_only_adds_requirements() {
        let base = mfa(MfaEnforcement::Optional, &[], 0);
        let mut strict = mfa(MfaEnforcement::Required, &[], 60);
        strict.source = Some("strict".into());
        strict.remember_device = false;
        strict.step_up_max_age_seconds = 60;
        let c = config(
            base,
            vec![org("acme", &[("m@x.io", "member")], Some(strict))],
        );
        let member = Policy::for_user(&c, "m@x.io");
        assert!(member.required);
        assert_eq!(member.grace_ms, 60_000);
        assert_eq!(member.remember_device_ms, None, "the stricter policy wins");
        assert_eq!(member.step_up_ms, 60_000);
        let other = Policy::for_user(&c, "o@x.io");
        assert!(!other.required);
        assert_eq!(other.remember_device_ms, Some(100_000));
    }
}
