//! Which account a provider identity signs in to (SECURITY 13, the verified-email rule).
//!
//! - An identity already linked signs its account in.
//! - A new identity whose address matches an existing account links to it automatically only
//!   when the provider asserts the address is verified *and* its type is one whose verification
//!   is trustworthy ([`vouches_for_email`]); otherwise the person must prove they own the
//!   existing account first (its password, or a code mailed to it).
//! - A new identity with a verified address nobody has creates an account, when the provider's
//!   `allowSignUp`, the sign-up mode and the allowed domains let it.

use crate::config::runtime::{ProviderConfig, ProviderType, SignUpConfig, SignUpMode};

use super::flow::Failure;
use super::id_token::UpstreamIdentity;

/// Whether a provider type's word that an address is verified is enough to link the identity to
/// an existing account with that address: Google, Microsoft (its `xms_edov` claim, read into
/// `email_verified` by the flow), GitHub (a verified primary address) and OpenID providers that
/// say `email_verified: true`. GitLab, Apple and plain OAuth 2.0 mappings are not taken on
/// their word here: their users prove the existing account instead.
pub fn vouches_for_email(provider: ProviderType, identity: &UpstreamIdentity) -> bool {
    identity.email_verified
        && matches!(
            provider,
            ProviderType::Google
                | ProviderType::Microsoft
                | ProviderType::Github
                | ProviderType::Oidc
        )
}

/// What to do with a provider identity that is not linked yet, given whether an account with its
/// address exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Link it to the existing account with its address and sign that account in.
    Link,
    /// Ask the person to prove the existing account with its address first.
    Prove,
    /// Create an account.
    Create,
}

/// The linking rule for an identity not linked yet. `account_exists`: an account has the
/// identity's (lower-case) address.
pub fn decide(
    provider: &ProviderConfig,
    sign_up: &SignUpConfig,
    identity: &UpstreamIdentity,
    account_exists: bool,
) -> Result<Decision, Failure> {
    let email = identity.email.as_deref().ok_or(Failure::NoEmail)?;
    check_domain(provider, identity)?;
    if account_exists {
        return Ok(if vouches_for_email(provider.provider_type, identity) {
            Decision::Link
        } else {
            Decision::Prove
        });
    }
    // A new account's address must be one the provider verified: an unverified address would
    // let anyone claim someone else's before they sign up.
    if !identity.email_verified {
        return Err(Failure::NoEmail);
    }
    let open = provider.allow_sign_up && sign_up.mode == SignUpMode::Public;
    let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
    let welcome =
        sign_up.allowed_domains.is_empty() || sign_up.allowed_domains.iter().any(|d| d == domain);
    if !open || !welcome {
        return Err(Failure::SignUpClosed);
    }
    Ok(Decision::Create)
}

/// The provider's `allowedDomains`: only identities whose verified address is in them may sign
/// in through it (every sign-in, not only the first).
pub fn check_domain(provider: &ProviderConfig, identity: &UpstreamIdentity) -> Result<(), Failure> {
    if provider.allowed_domains.is_empty() {
        return Ok(());
    }
    let domain = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified)
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d);
    match domain {
        Some(d) if provider.allowed_domains.iter().any(|a| a == d) => Ok(()),
        _ => Err(Failure::Domain),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::runtime::SecretValue;

    fn provider(kind: ProviderType) -> ProviderConfig {
        let secret = SecretValue {
            secret_key: "k".into(),
        };
        ProviderConfig::new("p", kind, "id", secret)
    }

    fn public() -> SignUpConfig {
        SignUpConfig {
            mode: SignUpMode::Public,
            allowed_domains: vec![],
            require_email_verification: true,
        }
    }

    fn person(email: Option<&str>, verified: bool) -> UpstreamIdentity {
        UpstreamIdentity {
            subject: "s".into(),
            email: email.map(str::to_owned),
            email_verified: verified,
            name: None,
            picture: None,
        }
    }

    #[test]
    fn an_existing_account_links_only_on_a_trusted_verified_address() {
        let alice = person(Some("alice@example.com"), true);
        for trusted in [
            ProviderType::Google,
            ProviderType::Github,
            ProviderType::Microsoft,
            ProviderType::Oidc,
        ] {
            assert_eq!(
                decide(&provider(trusted), &public(), &alice, true),
                Ok(Decision::Link)
            );
        }
        for untrusted in [
            ProviderType::Gitlab,
            ProviderType::Apple,
            ProviderType::Oauth2,
        ] {
            assert_eq!(
                decide(&provider(untrusted), &public(), &alice, true),
                Ok(Decision::Prove)
            );
        }
        let unverified = person(Some("alice@example.com"), false);
        assert_eq!(
            decide(
                &provider(ProviderType::Github),
                &public(),
                &unverified,
                true
            ),
            Ok(Decision::Prove)
        );
    }

    #[test]
    fn a_new_account_needs_a_verified_address_and_open_sign_up() {
        let github = provider(ProviderType::Github);
        let bob = person(Some("bob@example.com"), true);
        assert_eq!(
            decide(&github, &public(), &bob, false),
            Ok(Decision::Create)
        );
        assert_eq!(
            decide(
                &github,
                &public(),
                &person(Some("bob@example.com"), false),
                false
            ),
            Err(Failure::NoEmail)
        );
        assert_eq!(
            decide(&github, &public(), &person(None, true), false),
            Err(Failure::NoEmail)
        );
        let closed = SignUpConfig {
            mode: SignUpMode::InviteOnly,
            ..public()
        };
        assert_eq!(
            decide(&github, &closed, &bob, false),
            Err(Failure::SignUpClosed)
        );
        let no_sign_up = ProviderConfig {
            allow_sign_up: false,
            ..github.clone()
        };
        assert_eq!(
            decide(&no_sign_up, &public(), &bob, false),
            Err(Failure::SignUpClosed)
        );
        let corp_only = SignUpConfig {
            allowed_domains: vec!["corp.example".into()],
            ..public()
        };
        assert_eq!(
            decide(&github, &corp_only, &bob, false),
            Err(Failure::SignUpClosed)
        );
    }

    #[test]
    fn allowed_domains_need_a_verified_address_in_them() {
        let corp = ProviderConfig {
            allowed_domains: vec!["corp.example".into()],
            ..provider(ProviderType::Oidc)
        };
        assert_eq!(
            check_domain(&corp, &person(Some("a@corp.example"), true)),
            Ok(())
        );
        assert_eq!(
            check_domain(&corp, &person(Some("a@corp.example"), false)),
            Err(Failure::Domain)
        );
        assert_eq!(
            check_domain(&corp, &person(Some("a@other.example"), true)),
            Err(Failure::Domain)
        );
        assert_eq!(
            decide(
                &corp,
                &public(),
                &person(Some("a@other.example"), true),
                true
            ),
            Err(Failure::Domain)
        );
    }
}
