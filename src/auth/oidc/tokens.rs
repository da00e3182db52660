//! Minting the tokens a grant yields: an RFC 9068 access token (`typ: at+jwt`) and an OIDC ID
//! token, both signed with the key set's current signing key. Plain functions over the grant,
//! the user and the Application; the token endpoint stores nothing here.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256, Sha512};

use crate::auth::organizations::OrganizationClaims;
use crate::config::runtime::ApplicationConfig;
use crate::crypto::jws;
use crate::crypto::keys::{KeyError, SigningAlgorithm, SigningKey};
use crate::store::Grant;

/// Who the tokens are about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Stable, opaque user id (`sub`): never the email.
    pub user_id: &'a str,
    /// The user's address, released with the `email` scope.
    pub email: &'a str,
    /// Whether it is verified.
    pub email_verified: bool,
    /// Display name, released with the `profile` scope when known.
    pub name: Option<&'a str>,
    /// Picture URL, released with the `profile` scope when known.
    pub picture: Option<&'a str>,
    /// The grant's organization, while the user is a member (`org_*` claims).
    pub organization: Option<&'a OrganizationClaims>,
}

/// Adds the `org_id`, `org_slug`, `org_role` and `org_permissions` claims.
pub fn add_organization_claims(
    claims: &mut Map<String, Value>,
    organization: Option<&OrganizationClaims>,
) {
    if let Some(o) = organization {
        claims.insert("org_id".into(), o.id.clone().into());
        claims.insert("org_slug".into(), o.slug.clone().into());
        claims.insert("org_role".into(), o.role.clone().into());
        claims.insert("org_permissions".into(), json!(o.permissions));
    }
}

/// The tokens of one token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    /// The access token (a JWT).
    pub access_token: String,
    /// Its lifetime in seconds, for `expires_in`.
    pub expires_in: u64,
    /// The ID token, when `openid` was granted.
    pub id_token: Option<String>,
}

/// `amr` values (RFC 8176) for the factors a session records.
pub fn amr(factors: &[String]) -> Vec<&'static str> {
    let mut values: Vec<&'static str> = factors
        .iter()
        .filter_map(|f| match f.as_str() {
            "password" => Some("pwd"),
            "totp" | "backup_code" => Some("otp"),
            "passkey" => Some("hwk"),
            "federated" => Some("fed"),
            _ => None,
        })
        .collect();
    values.sort_unstable();
    values.dedup();
    // A passkey always verifies the user (PIN or biometric): two factors in one.
    if values.len() > 1 || factors.iter().any(|f| f == "passkey") {
        values.push("mfa");
    }
    values
}

/// `acr`: the NIST 800-63B assurance level the factors reach.
pub fn acr(factors: &[String]) -> &'static str {
    if amr(factors).contains(&"mfa") {
        "aal2"
    } else {
        "aal1"
    }
}

/// `at_hash` (OIDC Core 3.1.3.6): the left half of the access token's hash, with the hash of
/// the signing algorithm (SHA-256 for ES256, SHA-512 for Ed25519).
pub fn at_hash(algorithm: SigningAlgorithm, access_token: &str) -> String {
    let digest = match algorithm {
        SigningAlgorithm::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
        SigningAlgorithm::ES256 | SigningAlgorithm::RS256 => {
            Sha256::digest(access_token.as_bytes()).to_vec()
        }
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// Mints the access token (and the ID token with `openid`) for `grant` at `now` (Unix ms).
/// `jti` is a fresh random id for the access token.
pub fn mint(
    key: &SigningKey,
    issuer: &str,
    app: &ApplicationConfig,
    grant: &Grant,
    subject: Subject<'_>,
    now: i64,
    jti: &str,
) -> Result<Minted, KeyError> {
    let iat = now.div_euclid(1000);
    let auth_time = grant.auth_time.div_euclid(1000);
    let access_seconds = app.access_token_seconds;
    let exp = iat.saturating_add(i64::try_from(access_seconds).unwrap_or(i64::MAX));
    let mut access_claims = json!({
        "iss": issuer,
        "sub": subject.user_id,
        // The API the grant is for (RFC 8707), else the client itself (RFC 9068 3).
        "aud": grant.resource.as_deref().unwrap_or(&app.client_id),
        "client_id": app.client_id,
        "scope": grant.scopes.join(" "),
        "iat": iat,
        "exp": exp,
        "jti": jti,
        "auth_time": auth_time,
        // The grant it came from, so userinfo and introspection can see a revocation.
        "gid": grant.id,
    });
    if let Value::Object(claims) = &mut access_claims {
        add_organization_claims(claims, subject.organization);
    }
    let access_token = jws::sign(key, "at+jwt", &access_claims)?;
    let id_token = if grant.scopes.iter().any(|s| s == "openid") {
        let id_exp = iat.saturating_add(i64::try_from(app.id_token_seconds).unwrap_or(i64::MAX));
        let mut claims = Map::new();
        claims.insert("iss".into(), issuer.into());
        claims.insert("sub".into(), subject.user_id.into());
        claims.insert("aud".into(), app.client_id.clone().into());
        claims.insert("azp".into(), app.client_id.clone().into());
        claims.insert("iat".into(), iat.into());
        claims.insert("exp".into(), id_exp.into());
        claims.insert("auth_time".into(), auth_time.into());
        if let Some(nonce) = &grant.nonce {
            claims.insert("nonce".into(), nonce.clone().into());
        }
        claims.insert("amr".into(), json!(amr(&grant.factors)));
        claims.insert("acr".into(), acr(&grant.factors).into());
        claims.insert(
            "at_hash".into(),
            at_hash(key.algorithm, &access_token).into(),
        );
        if grant.scopes.iter().any(|s| s == "email") {
            claims.insert("email".into(), subject.email.into());
            claims.insert("email_verified".into(), subject.email_verified.into());
        }
        if grant.scopes.iter().any(|s| s == "profile") {
            for (claim, value) in [("name", subject.name), ("picture", subject.picture)] {
                if let Some(value) = value {
                    claims.insert(claim.into(), value.into());
                }
            }
        }
        add_organization_claims(&mut claims, subject.organization);
        Some(jws::sign(key, "JWT", &Value::Object(claims))?)
    } else {
        None
    };
    Ok(Minted {
        access_token,
        expires_in: access_seconds,
        id_token,
    })
}

/// Mints an access token for a machine client (`client_credentials`): the client is its own
/// subject, there is no user, no ID token and no grant to revoke; it simply expires.
pub fn mint_for_client(
    key: &SigningKey,
    issuer: &str,
    app: &ApplicationConfig,
    scopes: &[String],
    resource: Option<&str>,
    now: i64,
    jti: &str,
) -> Result<Minted, KeyError> {
    let iat = now.div_euclid(1000);
    let exp = iat.saturating_add(i64::try_from(app.access_token_seconds).unwrap_or(i64::MAX));
    let claims = json!({
        "iss": issuer,
        "sub": app.client_id,
        "aud": resource.unwrap_or(&app.client_id),
        "client_id": app.client_id,
        "scope": scopes.join(" "),
        "iat": iat,
        "exp": exp,
        "jti": jti,
    });
    Ok(Minted {
        access_token: jws::sign(key, "at+jwt", &claims)?,
        expires_in: app.access_token_seconds,
        id_token: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::runtime::{ApplicationType, GrantType};
    use crate::crypto::keys::KeySet;

    fn app() -> ApplicationConfig {
        ApplicationConfig {
            client_id: "shop".into(),
            application_type: ApplicationType::Spa,
            display_name: "Shop".into(),
            confidential: false,
            client_secret_hash: None,
            redirect_uris: vec!["https://shop.example/cb".into()],
            post_logout_redirect_uris: vec![],
            allowed_origins: vec![],
            resources: vec![],
            scopes: vec!["openid".into(), "email".into()],
            grant_types: vec![GrantType::AuthorizationCode],
            access_token_seconds: 900,
            id_token_seconds: 3600,
            refresh_token_seconds: 86400,
            require_consent: false,
            require_organization: false,
        }
    }

    fn grant(scopes: &[&str]) -> Grant {
        Grant {
            id: "g1".into(),
            user_id: "u1".into(),
            client_id: "shop".into(),
            session_id: None,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            auth_time: 1_700_000_000_000,
            factors: vec!["password".into()],
            nonce: Some("n-1".into()),
            created_at: 1_700_000_000_000,
            expires_at: 1_700_086_400_000,
            revoked_at: None,
            resource: None,
            organization_id: None,
        }
    }

    const ALICE: Subject<'static> = Subject {
        user_id: "u1",
        email: "alice@example.com",
        email_verified: true,
        name: Some("Alice"),
        picture: None,
        organization: None,
    };

    #[test]
    fn both_tokens_carry_the_active_organization_only_when_there_is_one() {
        let keys = KeySet {
            keys: vec![SigningKey::generate(SigningAlgorithm::ES256, 0, 0).expect("key")],
        };
        let now = 1_700_000_001_000;
        let acme = OrganizationClaims {
            id: "o1".into(),
            slug: "acme".into(),
            role: "billing".into(),
            permissions: vec!["billing:manage".into()],
        };
        let with = Subject {
            organization: Some(&acme),
            ..ALICE
        };
        for (subject, expected) in [(with, true), (ALICE, false)] {
            let minted = mint(
                &keys.keys[0],
                "https://auth.example.com",
                &app(),
                &grant(&["openid"]),
                subject,
                now,
                "jti-1",
            )
            .expect("mint");
            for token in [minted.access_token, minted.id_token.expect("id token")] {
                let c = jws::verify(&keys, &token, now).expect("verifies").claims;
                if expected {
                    assert_eq!(c["org_id"], "o1");
                    assert_eq!(c["org_slug"], "acme");
                    assert_eq!(c["org_role"], "billing");
                    assert_eq!(c["org_permissions"], json!(["billing:manage"]));
                } else {
                    assert!(c.get("org_id").is_none() && c.get("org_role").is_none());
                }
            }
        }
    }

    #[test]
    fn the_access_token_is_an_rfc_9068_jwt_and_the_id_token_binds_to_it() {
        let keys = KeySet {
            keys: vec![SigningKey::generate(SigningAlgorithm::ES256, 0, 0).expect("key")],
        };
        let now = 1_700_000_001_000;
        let minted = mint(
            &keys.keys[0],
            "https://auth.example.com",
            &app(),
            &grant(&["openid", "email"]),
            ALICE,
            now,
            "jti-1",
        )
        .expect("mint");
        let access = jws::verify(&keys, &minted.access_token, now).expect("access verifies");
        assert_eq!(access.header["typ"], "at+jwt");
        let c = &access.claims;
        assert_eq!(c["iss"], "https://auth.example.com");
        assert_eq!(c["sub"], "u1");
        assert_eq!(c["aud"], "shop");
        assert_eq!(c["client_id"], "shop");
        assert_eq!(c["scope"], "openid email");
        assert_eq!(c["iat"], 1_700_000_001);
        assert_eq!(c["exp"], 1_700_000_901);
        assert_eq!(c["jti"], "jti-1");
        assert_eq!(c["auth_time"], 1_700_000_000);
        assert_eq!(minted.expires_in, 900);

        let id = jws::verify(&keys, minted.id_token.as_deref().expect("id token"), now)
            .expect("id verifies");
        let c = &id.claims;
        assert_ne!(
            id.header["typ"], "at+jwt",
            "an ID token never passes as an access token"
        );
        assert_eq!(c["aud"], "shop");
        assert_eq!(c["azp"], "shop");
        assert_eq!(c["nonce"], "n-1");
        assert_eq!(c["amr"], json!(["pwd"]));
        assert_eq!(c["acr"], "aal1");
        assert_eq!(c["exp"], 1_700_003_601);
        assert_eq!(c["email"], "alice@example.com");
        assert_eq!(c["email_verified"], true);
        assert_eq!(
            c["at_hash"],
            at_hash(SigningAlgorithm::ES256, &minted.access_token).as_str()
        );
        assert_ne!(c["sub"], "alice@example.com");
    }

    #[test]
    fn claims_follow_the_granted_scopes() {
        let key = SigningKey::generate(SigningAlgorithm::EdDSA, 0, 0).expect("key");
        let keys = KeySet {
            keys: vec![key.clone()],
        };
        let now = 1_700_000_001_000;
        let without_email = mint(
            &key,
            "https://a",
            &app(),
            &grant(&["openid"]),
            ALICE,
            now,
            "j",
        )
        .expect("mint");
        let id = jws::verify(&keys, &without_email.id_token.expect("id"), now).expect("ok");
        assert!(id.claims.get("email").is_none());
        let no_openid = mint(
            &key,
            "https://a",
            &app(),
            &grant(&["email"]),
            ALICE,
            now,
            "j",
        )
        .expect("mint");
        assert_eq!(no_openid.id_token, None);
        assert!(id.claims.get("name").is_none(), "no profile scope, no name");
        let with_profile = mint(
            &key,
            "https://a",
            &app(),
            &grant(&["openid", "profile"]),
            ALICE,
            now,
            "j",
        )
        .expect("mint");
        let id = jws::verify(&keys, &with_profile.id_token.expect("id"), now).expect("ok");
        assert_eq!(id.claims["name"], "Alice");
        assert!(
            id.claims.get("picture").is_none(),
            "unknown claims are left out"
        );
    }

    #[test]
    fn amr_and_acr_name_the_factors() {
        let f = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(amr(&f(&["password"])), ["pwd"]);
        assert_eq!(amr(&f(&["password", "totp"])), ["otp", "pwd", "mfa"]);
        assert_eq!(acr(&f(&["password", "passkey"])), "aal2");
        assert_eq!(acr(&f(&["password"])), "aal1");
        // The OIDC Core example: at_hash of "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y".
        assert_eq!(
            at_hash(
                SigningAlgorithm::ES256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
