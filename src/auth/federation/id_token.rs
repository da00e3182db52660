//! An upstream ID token's claims, checked (OIDC Core 3.1.3.7) after its signature verified
//! against the provider's JWKS ([`crate::crypto::jwks`]): the issuer (exactly, or Microsoft's
//! multi-tenant template against the token's `tid`), the audience and authorized party, the
//! expiry and issue time within a bounded skew, and the nonce bound to the browser's flow.
//! What comes out is the identity in Vestibule's terms, read through the provider's claim
//! mapping.

use std::collections::BTreeMap;

use serde_json::Value;

/// Microsoft's tenant id of personal accounts (`consumers`).
pub const MICROSOFT_CONSUMERS_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// Who may have issued the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerRule {
    /// Exactly this issuer (Google, GitLab, any OIDC provider: the discovery document's).
    Exact(String),
    /// Microsoft Entra ID's multi-tenant issuer `https://login.microsoftonline.com/{tenantid}/v2.0`,
    /// where `{tenantid}` must be the token's `tid`, and the tenant setting (`common`,
    /// `organizations`, `consumers` or one tenant id) says which tenants are welcome.
    MicrosoftTenant {
        /// The template, with `{tenantid}`.
        template: String,
        /// `common`, `organizations`, `consumers`, or a tenant id.
        tenant: String,
    },
}

/// What the token must match.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// The issuer rule.
    pub issuer: &'a IssuerRule,
    /// Vestibule's client id at the provider.
    pub client_id: &'a str,
    /// The nonce sent with this flow's authorization request.
    pub nonce: &'a str,
    /// Now, in Unix seconds.
    pub now: i64,
    /// Clock skew allowed on `exp` and `iat`, in seconds.
    pub skew: i64,
    /// Claim names by role (`subject`, `email`, `emailVerified`, `name`, `picture`); a role
    /// missing here uses the standard claim (`sub`, `email`, ...).
    pub claims: &'a BTreeMap<String, String>,
}

/// The upstream identity, in Vestibule's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    /// The provider's stable subject for the user.
    pub subject: String,
    /// The email address, when the token carries one.
    pub email: Option<String>,
    /// Whether the provider says it verified the address.
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Picture URL.
    pub picture: Option<String>,
}

/// Why an upstream ID token is refused; each is a reason on the error page and in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Another issuer (or a tenant not welcome).
    #[error("issuer")]
    Issuer,
    /// Not for Vestibule's client id.
    #[error("audience")]
    Audience,
    /// Expired, or issued in the future.
    #[error("expired")]
    Expired,
    /// Not this flow's nonce.
    #[error("nonce")]
    Nonce,
    /// No subject.
    #[error("subject")]
    Subject,
}

/// Checks `claims` (already signature-verified) against `expected`.
pub fn check(claims: &Value, expected: &Expected<'_>) -> Result<UpstreamIdentity, Refusal> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let iss = text("iss").ok_or(Refusal::Issuer)?;
    match expected.issuer {
        IssuerRule::Exact(issuer) => {
            if iss != issuer {
                return Err(Refusal::Issuer);
            }
        }
        IssuerRule::MicrosoftTenant { template, tenant } => {
            let tid = text("tid").ok_or(Refusal::Issuer)?;
            if iss != template.replace("{tenantid}", tid) {
                return Err(Refusal::Issuer);
            }
            let welcome = match tenant.as_str() {
                "common" => true,
                "organizations" => tid != MICROSOFT_CONSUMERS_TENANT,
                "consumers" => tid == MICROSOFT_CONSUMERS_TENANT,
                one => tid.eq_ignore_ascii_case(one),
            };
            if !welcome {
                return Err(Refusal::Issuer);
            }
        }
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !audiences.contains(&expected.client_id) {
        return Err(Refusal::Audience);
    }
    // With other audiences beside us, the token must say it was issued to us (OIDC Core 3.1.3.7).
    let azp = text("azp");
    if (audiences.len() > 1 || azp.is_some()) && azp != Some(expected.client_id) {
        return Err(Refusal::Audience);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(Refusal::Expired)?;
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(Refusal::Expired)?;
    if exp.saturating_add(expected.skew) <= expected.now
        || iat.saturating_sub(expected.skew) > expected.now
    {
        return Err(Refusal::Expired);
    }
    match text("nonce") {
        Some(nonce)
            if crate::crypto::constant_time_eq(nonce.as_bytes(), expected.nonce.as_bytes()) => {}
        _ => return Err(Refusal::Nonce),
    }
    let identity = mapped(claims, expected.claims);
    if identity.subject.is_empty() {
        return Err(Refusal::Subject);
    }
    Ok(identity)
}

/// The identity in a JSON object (ID token claims, or a userinfo answer) read through the
/// provider's claim mapping: a role missing from `claims` uses the standard claim. Subjects may
/// be numbers (GitHub's `id`); an absent one is empty. Some providers send `email_verified` as
/// the string `"true"`. Emails are lower-cased.
pub fn mapped(info: &Value, claims: &BTreeMap<String, String>) -> UpstreamIdentity {
    let claim = |role: &str, standard: &str| {
        let name = claims.get(role).map_or(standard, String::as_str);
        info.get(name)
    };
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    UpstreamIdentity {
        subject: text(claim("subject", "sub")).unwrap_or_default(),
        email: text(claim("email", "email")).map(|e| e.to_lowercase()),
        email_verified: match claim("emailVerified", "email_verified") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        },
        name: text(claim("name", "name")),
        picture: text(claim("picture", "picture")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn google() -> IssuerRule {
        IssuerRule::Exact("https://accounts.google.com".into())
    }

    fn expected<'a>(issuer: &'a IssuerRule, claims: &'a BTreeMap<String, String>) -> Expected<'a> {
        Expected {
            issuer,
            client_id: "vestibule-client",
            nonce: "n-123",
            now: NOW,
            skew: 60,
            claims,
        }
    }

    fn token(extra: Value) -> Value {
        let mut claims = json!({
            "iss": "https://accounts.google.com", "aud": "vestibule-client", "sub": "1234",
            "exp": NOW + 300, "iat": NOW - 10, "nonce": "n-123",
            "email": "Alice@Example.com", "email_verified": true, "name": "Alice",
        });
        if let (Value::Object(base), Value::Object(more)) = (&mut claims, extra) {
            base.extend(more);
        }
        claims
    }

    #[test]
    fn a_good_token_gives_the_identity_with_a_lower_case_email() {
        let none = BTreeMap::new();
        let identity = check(&token(json!({})), &expected(&google(), &none)).expect("accepted");
        assert_eq!(identity.subject, "1234");
        assert_eq!(identity.email.as_deref(), Some("alice@example.com"));
        assert!(identity.email_verified);
        assert_eq!(identity.name.as_deref(), Some("Alice"));
        // A claim mapping reads other names.
        let mapping = BTreeMap::from([
            ("subject".to_owned(), "oid".to_owned()),
            ("emailVerified".to_owned(), "verified".to_owned()),
        ]);
        let identity = check(
            &token(json!({"oid": "o-9", "verified": "true"})),
            &expected(&google(), &mapping),
        )
        .expect("accepted");
        assert_eq!(identity.subject, "o-9");
        assert!(identity.email_verified);
    }

    #[test]
    fn issuer_audience_time_and_nonce_are_enforced() {
        let none = BTreeMap::new();
        let rule = google();
        let at = expected(&rule, &none);
        for (claims, refusal, why) in [
            (
                token(json!({"iss": "https://evil.example"})),
                Refusal::Issuer,
                "issuer",
            ),
            (
                token(json!({"aud": "someone-else"})),
                Refusal::Audience,
                "audience",
            ),
            (
                token(json!({"aud": ["vestibule-client", "other"]})),
                Refusal::Audience,
                "several audiences without azp",
            ),
            (
                token(json!({"aud": ["vestibule-client", "other"], "azp": "other"})),
                Refusal::Audience,
                "issued to another party",
            ),
            (
                token(json!({"exp": NOW - 61})),
                Refusal::Expired,
                "expired beyond skew",
            ),
            (
                token(json!({"iat": NOW + 61})),
                Refusal::Expired,
                "from the future",
            ),
            (
                token(json!({"nonce": "n-124"})),
                Refusal::Nonce,
                "another flow's nonce",
            ),
            (token(json!({"sub": ""})), Refusal::Subject, "no subject"),
        ] {
            assert_eq!(check(&claims, &at), Err(refusal), "{why}");
        }
        let mut no_nonce = token(json!({}));
        if let Value::Object(m) = &mut no_nonce {
            m.remove("nonce");
        }
        assert_eq!(check(&no_nonce, &at), Err(Refusal::Nonce));
        assert!(
            check(&token(json!({"exp": NOW - 30})), &at).is_ok(),
            "within skew"
        );
        assert!(
            check(
                &token(json!({"aud": ["vestibule-client", "other"], "azp": "vestibule-client"})),
                &at
            )
            .is_ok()
        );
        let unverified = check(&token(json!({"email_verified": false})), &at).expect("ok");
        assert!(!unverified.email_verified);
    }

    #[test]
    fn microsoft_tenants_are_checked_against_the_tokens_tid() {
        let none = BTreeMap::new();
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0".to_owned();
        let work = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let ms = |tid: &str, iss: &str| token(json!({"tid": tid, "iss": iss}));
        let issuer_of = |tid: &str| format!("https://login.microsoftonline.com/{tid}/v2.0");
        for (tenant, tid, ok) in [
            ("common", work, true),
            ("common", MICROSOFT_CONSUMERS_TENANT, true),
            ("organizations", work, true),
            ("organizations", MICROSOFT_CONSUMERS_TENANT, false),
            ("consumers", MICROSOFT_CONSUMERS_TENANT, true),
            ("consumers", work, false),
            (work, work, true),
            (work, "00000000-0000-0000-0000-000000000001", false),
        ] {
            let rule = IssuerRule::MicrosoftTenant {
                template: template.clone(),
                tenant: tenant.to_owned(),
            };
            let result = check(&ms(tid, &issuer_of(tid)), &expected(&rule, &none));
            assert_eq!(result.is_ok(), ok, "{tenant} with tid {tid}");
        }
        // The issuer must be the template filled with the token's own tid.
        let rule = IssuerRule::MicrosoftTenant {
            template,
            tenant: "common".into(),
        };
        assert_eq!(
            check(
                &ms(work, &issuer_of(MICROSOFT_CONSUMERS_TENANT)),
                &expected(&rule, &none)
            ),
            Err(Refusal::Issuer)
        );
    }
}
