//! The words the hosted pages use for the domain's reason codes: the one place page text for an
//! [`AuthError`](crate::auth::AuthError) comes from. Each reason is a message catalog key
//! (`reason.*`, `password.*`), worded in the request's locale.

use crate::auth::Reason;
use crate::auth::password::PolicyViolation;
use crate::i18n::{Translator, args};

/// The sentence a page shows for `reason`, in the locale of `words`.
pub fn reason(words: &Translator, reason: &Reason) -> String {
    let key = match reason {
        Reason::InvalidCredentials => "reason.invalidCredentials",
        Reason::InvalidEmail => "reason.invalidEmail",
        Reason::SignUpInviteOnly => SIGN_UP_INVITE_ONLY,
        Reason::SignUpClosed => SIGN_UP_CLOSED,
        Reason::EmailDomainNotAllowed { allowed } => {
            return words.get(
                "reason.emailDomainNotAllowed",
                &args([("domains", &allowed.join(", "))]),
            );
        }
        Reason::WeakPassword(violation) => return password_violation(words, violation),
        Reason::BreachedPassword => "reason.breachedPassword",
        Reason::InvalidCode => "reason.invalidCode",
        Reason::InvalidResetLink => "reason.invalidResetLink",
        Reason::InvalidVerificationLink => "reason.invalidVerificationLink",
        Reason::ResendTooSoon => "reason.resendTooSoon",
        Reason::WrongCurrentPassword => "reason.wrongCurrentPassword",
        Reason::SameEmail => "reason.sameEmail",
        Reason::EmailUnavailable => "reason.emailUnavailable",
        Reason::InvalidSecondFactor => "reason.invalidSecondFactor",
        Reason::SecondFactorExpired => "reason.secondFactorExpired",
        Reason::AlreadyEnrolled => "reason.alreadyEnrolled",
        Reason::FactorUnavailable => "reason.factorUnavailable",
        Reason::PasskeyRejected => "reason.passkeyRejected",
        Reason::OrganizationsUnavailable => "reason.organizationsUnavailable",
        Reason::OrganizationNotFound => "reason.organizationNotFound",
        Reason::NotPermitted => "reason.notPermitted",
        Reason::InvalidOrganizationName => "reason.invalidOrganizationName",
        Reason::InvalidSlug => "reason.invalidSlug",
        Reason::SlugTaken => "reason.slugTaken",
        Reason::OrganizationLimit(count) => {
            return words.get(
                "reason.organizationLimit",
                &args([("count", &count.to_string())]),
            );
        }
        Reason::UnknownRole => "reason.unknownRole",
        Reason::RoleAboveYours => "reason.roleAboveYours",
        Reason::OwnRole => "reason.ownRole",
        Reason::LastAdmin => "reason.lastAdmin",
        Reason::InvalidInvitation => "reason.invalidInvitation",
        Reason::InvitationForAnotherAddress => "reason.invitationForAnotherAddress",
        Reason::DeclaredAsCode => "reason.declaredAsCode",
    };
    words.get(key, &[])
}

/// Why a new password is refused, as a sentence in the locale of `words`.
pub fn password_violation(words: &Translator, violation: &PolicyViolation) -> String {
    match violation {
        PolicyViolation::TooShort { min } => {
            words.get("password.tooShort", &args([("count", min)]))
        }
        PolicyViolation::TooLong { max } => words.get("password.tooLong", &args([("count", max)])),
        PolicyViolation::Common => words.get("password.common", &[]),
        PolicyViolation::ContainsEmail => words.get("password.containsEmail", &[]),
    }
}

/// The sign-up page's notice when sign-up is by invitation (a catalog key).
pub const SIGN_UP_INVITE_ONLY: &str = "signUp.inviteOnly";
/// The sign-up page's notice when sign-up is closed (a catalog key).
pub const SIGN_UP_CLOSED: &str = "signUp.closed";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::english;

    #[test]
    fn password_messages_are_sentences() {
        assert_eq!(
            password_violation(english(), &PolicyViolation::TooShort { min: 10 }),
            "Use at least 10 characters."
        );
        assert_eq!(
            password_violation(english(), &PolicyViolation::TooLong { max: 128 }),
            "Use at most 128 characters."
        );
    }

    #[test]
    fn unknown_address_and_wrong_password_share_one_message() {
        // One reason, one sentence: the page cannot tell the two apart (SECURITY 11).
        assert_eq!(
            reason(english(), &Reason::InvalidCredentials),
            "Incorrect email or password."
        );
    }

    #[test]
    fn every_reason_is_in_the_catalog() {
        let en = crate::i18n::catalog::reference().expect("catalog");
        let german = crate::i18n::Locales::build(&Default::default(), "de");
        let de = german.default_translator();
        for r in [
            Reason::InvalidCredentials,
            Reason::InvalidEmail,
            Reason::SignUpInviteOnly,
            Reason::SignUpClosed,
            Reason::BreachedPassword,
            Reason::InvalidCode,
            Reason::InvalidResetLink,
            Reason::InvalidVerificationLink,
            Reason::ResendTooSoon,
            Reason::WrongCurrentPassword,
            Reason::SameEmail,
            Reason::EmailUnavailable,
            Reason::InvalidSecondFactor,
            Reason::SecondFactorExpired,
            Reason::AlreadyEnrolled,
            Reason::FactorUnavailable,
            Reason::PasskeyRejected,
            Reason::OrganizationsUnavailable,
            Reason::OrganizationNotFound,
            Reason::NotPermitted,
            Reason::InvalidOrganizationName,
            Reason::InvalidSlug,
            Reason::SlugTaken,
            Reason::OrganizationLimit(3),
            Reason::UnknownRole,
            Reason::RoleAboveYours,
            Reason::OwnRole,
            Reason::LastAdmin,
            Reason::InvalidInvitation,
            Reason::InvitationForAnotherAddress,
            Reason::DeclaredAsCode,
        ] {
            let text = reason(english(), &r);
            assert!(!en.contains_key(&text), "{r:?} has no catalog text");
            assert_ne!(text, reason(de, &r), "{r:?} is not translated");
        }
    }
}
