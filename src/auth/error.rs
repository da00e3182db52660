//! Why an auth operation did not complete: a reason code the user can act on, or a failure of
//! the service. No text: each face (hosted pages, OAuth JSON, admin API) words reasons itself,
//! so the pages can translate them and the JSON faces can map them to protocol error codes.

use super::password::{HashError, PolicyViolation};
use crate::store::StoreError;

/// What the user can fix or needs to know, as a code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Unknown address or wrong password: one reason for both, so neither is revealed.
    InvalidCredentials,
    /// Not an email address.
    InvalidEmail,
    /// Sign-up is by invitation only.
    SignUpInviteOnly,
    /// Sign-up is closed.
    SignUpClosed,
    /// Sign-up is limited to addresses at these domains.
    EmailDomainNotAllowed {
        /// The allowed domains.
        allowed: Vec<String>,
    },
    /// The new password breaks the policy.
    WeakPassword(PolicyViolation),
    /// The new password is in a breach corpus.
    BreachedPassword,
    /// An emailed code is wrong, used, expired or out of attempts (one reason for all).
    InvalidCode,
    /// A password-reset link is not valid any more.
    InvalidResetLink,
    /// An email-verification link is not valid any more.
    InvalidVerificationLink,
    /// A new code was asked for too soon after the last one.
    ResendTooSoon,
    /// Re-authentication failed: the current password is wrong.
    WrongCurrentPassword,
    /// The new address is the one the account already has.
    SameEmail,
    /// The new address cannot be used (taken; not said which, so nothing is revealed).
    EmailUnavailable,
    /// A second-factor code (authenticator app or backup code) is wrong or already used.
    InvalidSecondFactor,
    /// The half-signed-in step ran out or was already finished: sign in again.
    SecondFactorExpired,
    /// An authenticator app is already set up (remove it first to replace it).
    AlreadyEnrolled,
    /// No second factor of that kind is set up, or the policy does not offer it.
    FactorUnavailable,
    /// A passkey's answer did not hold (wrong origin, signature, presence or verification, an
    /// unknown or already registered credential, a used or expired challenge).
    PasskeyRejected,
    /// Organizations are off, or users may not create them.
    OrganizationsUnavailable,
    /// No such organization, or the user is not a member (one reason for both: SECURITY 60).
    OrganizationNotFound,
    /// The member's role does not allow this.
    NotPermitted,
    /// An organization name must be 1 to 128 characters.
    InvalidOrganizationName,
    /// A slug must be a DNS label.
    InvalidSlug,
    /// Another organization has the slug.
    SlugTaken,
    /// The user created as many organizations as allowed.
    OrganizationLimit(u32),
    /// The organization has no such role.
    UnknownRole,
    /// A role with permissions the acting member lacks cannot be given or taken by them.
    RoleAboveYours,
    /// Members cannot change their own role.
    OwnRole,
    /// The organization would be left without a member who manages members.
    LastAdmin,
    /// The invitation was used, revoked, has expired or never existed.
    InvalidInvitation,
    /// The invitation was sent to an address this account does not have verified.
    InvitationForAnotherAddress,
    /// The organization, or this member of it, is declared as code: this is changed in its
    /// resource, not here.
    DeclaredAsCode,
}

/// Why an auth operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Refused for a reason the user can act on.
    #[error("refused: {0:?}")]
    Rejected(Reason),
    /// Rate limited or locked out; retry after this many seconds.
    #[error("too many attempts")]
    Throttled(u64),
    /// Password hashing is saturated.
    #[error("busy")]
    Busy,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something else failed (a technical detail for the log, never shown).
    #[error("{0}")]
    Internal(String),
}

impl From<Reason> for AuthError {
    fn from(reason: Reason) -> Self {
        AuthError::Rejected(reason)
    }
}

impl From<HashError> for AuthError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => AuthError::Busy,
            other => AuthError::Internal(other.to_string()),
        }
    }
}
