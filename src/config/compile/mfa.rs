//! MFA policies: the Vestibule's and each organization's, resolved from `MfaPolicy` resources.

use kube::ResourceExt;

use super::Compiler;
use crate::config::bundle::id_of;
use crate::config::diagnostic::ResourceId;
use crate::config::runtime::{MfaConfig, MfaEnforcement, UserVerification};
use crate::resources::mfa_policy as resource;

impl From<resource::MfaEnforcement> for MfaEnforcement {
    fn from(enforcement: resource::MfaEnforcement) -> Self {
        match enforcement {
            resource::MfaEnforcement::Optional => Self::Optional,
            resource::MfaEnforcement::Required => Self::Required,
            resource::MfaEnforcement::RequiredForRoles => Self::RequiredForRoles,
        }
    }
}

impl From<resource::UserVerification> for UserVerification {
    fn from(verification: resource::UserVerification) -> Self {
        match verification {
            resource::UserVerification::Required => Self::Required,
            resource::UserVerification::Preferred => Self::Preferred,
            resource::UserVerification::Discouraged => Self::Discouraged,
        }
    }
}

impl Compiler<'_> {
    /// The policy `name` (none: MFA disabled); a missing policy is reported at `path` of
    /// `referrer`, a bad one on the policy itself.
    pub(super) fn mfa_for(
        &mut self,
        name: Option<&str>,
        referrer: &ResourceId,
        path: &str,
    ) -> MfaConfig {
        let Some(name) = name else {
            return MfaConfig::disabled();
        };
        let Some(policy) = self.policies.get(name).copied() else {
            self.error(referrer, path, format!("MfaPolicy \"{name}\" not found"));
            return MfaConfig::disabled();
        };
        let pid = id_of(policy);
        let s = &policy.spec;
        if s.enforcement == resource::MfaEnforcement::RequiredForRoles
            && s.required_roles.is_empty()
        {
            self.error(
                &pid,
                "spec.requiredRoles",
                "enforcement requiredForRoles needs at least one role",
            );
        }
        if s.enforcement != resource::MfaEnforcement::Optional && !s.factors.totp.enabled {
            // Enrolment before the first session sets up an authenticator app; passkeys are
            // registered from /account once signed in.
            self.error(
                &pid,
                "spec.factors.totp.enabled",
                "required MFA needs factors.totp enabled (users without a factor enrol an authenticator app before their first session)",
            );
        }
        if s.factors.webauthn.passwordless && !s.factors.webauthn.enabled {
            self.error(
                &pid,
                "spec.factors.webauthn.passwordless",
                "passwordless sign-in needs factors.webauthn.enabled",
            );
        }
        if s.factors.webauthn.enabled
            && s.factors.webauthn.user_verification != resource::UserVerification::Required
        {
            // webauthn-rs' passkeys always verify the user; accepting a weaker setting would
            // promise something the server does not do.
            self.error(
                &pid,
                "spec.factors.webauthn.userVerification",
                "passkeys always verify the user (PIN or biometric): only `required` is supported",
            );
        }
        let grace = self.duration_seconds(
            &pid,
            "spec.enrollmentGracePeriod",
            &s.enrollment_grace_period,
        );
        let remember = self.duration_seconds(
            &pid,
            "spec.rememberDevice.duration",
            &s.remember_device.duration,
        );
        let step_up = self.duration_seconds(&pid, "spec.stepUpMaxAge", &s.step_up_max_age);
        let mut required_roles = s.required_roles.clone();
        required_roles.sort();
        required_roles.dedup();
        MfaConfig {
            source: Some(policy.name_any()),
            totp: s.factors.totp.enabled,
            totp_issuer_label: s.factors.totp.issuer_label.clone(),
            webauthn: s.factors.webauthn.enabled,
            passwordless: s.factors.webauthn.enabled && s.factors.webauthn.passwordless,
            user_verification: s.factors.webauthn.user_verification.into(),
            backup_codes: s.factors.backup_codes.enabled,
            backup_code_count: u32::try_from(s.factors.backup_codes.count).unwrap_or(10),
            enforcement: s.enforcement.into(),
            required_roles,
            enrollment_grace_period_seconds: grace,
            remember_device: s.remember_device.enabled,
            remember_device_seconds: remember,
            step_up_max_age_seconds: step_up,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        has_diagnostic, manifest, maps_to_same_json, run_part, with_base,
    };
    use super::*;

    fn policy(name: &str, spec: &str) -> String {
        manifest("MfaPolicy", name, spec)
    }

    fn vestibule_id() -> ResourceId {
        ResourceId::new("Vestibule", "default", "test")
    }

    #[test]
    fn a_policy_compiles_to_its_factors_and_timings() {
        let b = with_base(&[&policy(
            "strict",
            "enforcement: requiredForRoles
requiredRoles: [owner, admin, owner]
factors:
  webauthn: {enabled: true, passwordless: true, userVerification: required}
  backupCodes: {count: 12}
enrollmentGracePeriod: 72h
rememberDevice: {enabled: true}
stepUpMaxAge: 5m",
        )]);
        let (mfa, diagnostics) = run_part(&b, |c| {
            c.mfa_for(Some("strict"), &vestibule_id(), "spec.mfaPolicyRef.name")
        });
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert_eq!(mfa.source.as_deref(), Some("strict"));
        assert!(mfa.totp && mfa.webauthn && mfa.passwordless && mfa.backup_codes);
        assert_eq!(mfa.user_verification, UserVerification::Required);
        assert_eq!(mfa.backup_code_count, 12);
        assert_eq!(mfa.enforcement, MfaEnforcement::RequiredForRoles);
        assert_eq!(
            mfa.required_roles,
            ["admin", "owner"],
            "sorted, deduplicated"
        );
        assert_eq!(mfa.enrollment_grace_period_seconds, 72 * 3600);
        assert!(mfa.remember_device);
        assert_eq!(mfa.remember_device_seconds, 720 * 3600);
        assert_eq!(mfa.step_up_max_age_seconds, 300);
    }

    #[test]
    fn passkeys_always_verify_the_user() {
        let b = with_base(&[&policy(
            "p",
            "factors:\n  webauthn: {enabled: true, userVerification: preferred}",
        )]);
        let (_, diagnostics) = run_part(&b, |c| c.mfa_for(Some("p"), &vestibule_id(), "x"));
        has_diagnostic(
            &diagnostics,
            ("MfaPolicy", "p"),
            "spec.factors.webauthn.userVerification",
            "only `required` is supported",
        );
        let b = with_base(&[&policy("p", "factors:\n  webauthn: {enabled: true}")]);
        let (mfa, diagnostics) = run_part(&b, |c| c.mfa_for(Some("p"), &vestibule_id(), "x"));
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert!(mfa.webauthn);
    }

    #[test]
    fn passwordless_needs_webauthn() {
        let b = with_base(&[&policy("p", "factors:\n  webauthn: {passwordless: true}")]);
        let (mfa, diagnostics) = run_part(&b, |c| c.mfa_for(Some("p"), &vestibule_id(), "x"));
        assert!(!mfa.webauthn && !mfa.passwordless);
        has_diagnostic(
            &diagnostics,
            ("MfaPolicy", "p"),
            "spec.factors.webauthn.passwordless",
            "needs factors.webauthn.enabled",
        );
    }

    #[test]
    fn no_policy_disables_mfa_and_a_missing_one_is_reported_by_the_referrer() {
        let b = with_base(&[]);
        let ((none, missing), diagnostics) = run_part(&b, |c| {
            (
                c.mfa_for(None, &vestibule_id(), "spec.mfaPolicyRef.name"),
                c.mfa_for(Some("nope"), &vestibule_id(), "spec.mfaPolicyRef.name"),
            )
        });
        assert_eq!(none, MfaConfig::disabled());
        assert_eq!(missing, MfaConfig::disabled());
        has_diagnostic(
            &diagnostics,
            ("Vestibule", "test"),
            "spec.mfaPolicyRef.name",
            "MfaPolicy \"nope\" not found",
        );
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    }

    #[test]
    fn required_mfa_needs_roles_and_a_factor() {
        let b = with_base(&[&policy(
            "bad",
            "enforcement: requiredForRoles
factors:
  totp: {enabled: false}
stepUpMaxAge: soon",
        )]);
        let (_, diagnostics) = run_part(&b, |c| c.mfa_for(Some("bad"), &vestibule_id(), "x"));
        let on_policy = ("MfaPolicy", "bad");
        has_diagnostic(
            &diagnostics,
            on_policy,
            "spec.requiredRoles",
            "needs at least one role",
        );
        has_diagnostic(
            &diagnostics,
            on_policy,
            "spec.factors.totp.enabled",
            "required MFA needs factors.totp enabled",
        );
        has_diagnostic(
            &diagnostics,
            on_policy,
            "spec.stepUpMaxAge",
            "is not a duration",
        );
        assert_eq!(diagnostics.len(), 3, "{diagnostics:#?}");
    }

    #[test]
    fn enums_keep_their_json() {
        use resource::{MfaEnforcement as E, UserVerification as U};
        maps_to_same_json::<_, MfaEnforcement>(&[E::Optional, E::Required, E::RequiredForRoles]);
        maps_to_same_json::<_, UserVerification>(&[U::Required, U::Preferred, U::Discouraged]);
    }
}
