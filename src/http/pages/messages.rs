//! The words the hosted pages use for the domain's reason codes: the one place page text for an
//! [`AuthError`](crate::auth::AuthError) comes from, so a message catalog and locales can take
//! its place without touching the domain.

use crate::auth::Reason;
use crate::auth::password::PolicyViolation;

/// The sentence a page shows for `reason`.
pub fn reason(reason: &Reason) -> String {
    match reason {
        Reason::InvalidCredentials => "Incorrect email or password.".into(),
        Reason::InvalidEmail => "Enter a valid email address.".into(),
        Reason::SignUpInviteOnly => SIGN_UP_INVITE_ONLY.into(),
        Reason::SignUpClosed => SIGN_UP_CLOSED.into(),
        Reason::EmailDomainNotAllowed { allowed } => {
            format!("Sign-up is limited to addresses at {}.", allowed.join(", "))
        }
        Reason::WeakPassword(violation) => password_violation(violation),
        Reason::BreachedPassword => {
            "This password has appeared in a data breach, so attackers try it first. Choose another."
                .into()
        }
        Reason::InvalidCode => {
            "That code is not valid. Check the latest email or ask for a new code.".into()
        }
        Reason::InvalidResetLink => {
            "This reset link is not valid any more. Ask for a new one.".into()
        }
        Reason::InvalidVerificationLink => {
            "This link is not valid any more. Sign in to get a new one.".into()
        }
        Reason::ResendTooSoon => "Wait a minute before asking for another code.".into(),
        Reason::WrongCurrentPassword => "Your current password is not correct.".into(),
        Reason::SameEmail => "That is already your address.".into(),
        Reason::EmailUnavailable => "That address cannot be used.".into(),
        Reason::InvalidSecondFactor => {
            "That code is not valid. Use the current code from your app, or an unused backup code."
                .into()
        }
        Reason::SecondFactorExpired => "This sign-in took too long. Sign in again.".into(),
        Reason::AlreadyEnrolled => {
            "An authenticator app is already set up. Remove it first to use another one.".into()
        }
        Reason::FactorUnavailable => "That kind of verification is not available.".into(),
        Reason::PasskeyRejected => {
            "The passkey could not be verified. Try again, or use another way to sign in.".into()
        }
    }
}

/// Why a new password is refused, as a sentence.
pub fn password_violation(violation: &PolicyViolation) -> String {
    match violation {
        PolicyViolation::TooShort { min } => format!("Use at least {min} characters."),
        PolicyViolation::TooLong { max } => format!("Use at most {max} characters."),
        PolicyViolation::Common => {
            "This password is too common. Choose one that is harder to guess.".into()
        }
        PolicyViolation::ContainsEmail => "Don't use your email address in your password.".into(),
    }
}

/// The sign-up page's notice when sign-up is by invitation.
pub const SIGN_UP_INVITE_ONLY: &str = "Sign-up is by invitation only.";
/// The sign-up page's notice when sign-up is closed.
pub const SIGN_UP_CLOSED: &str = "Sign-up is closed.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_messages_are_sentences() {
        assert_eq!(
            password_violation(&PolicyViolation::TooShort { min: 10 }),
            "Use at least 10 characters."
        );
        assert_eq!(
            password_violation(&PolicyViolation::TooLong { max: 128 }),
            "Use at most 128 characters."
        );
    }

    #[test]
    fn unknown_address_and_wrong_password_share_one_message() {
        // One reason, one sentence: the page cannot tell the two apart (SECURITY 11).
        assert_eq!(
            reason(&Reason::InvalidCredentials),
            "Incorrect email or password."
        );
    }
}
