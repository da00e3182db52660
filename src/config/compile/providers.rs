//! Upstream identity providers, from `OAuthProvider` resources.

use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;

use super::Compiler;
use crate::config::bundle::id_of;
use crate::config::runtime::{ProviderConfig, ProviderType};
use crate::config::uri;
use crate::resources::OAuthProvider;
use crate::resources::oauth_provider as resource;

impl From<resource::ProviderType> for ProviderType {
    fn from(provider: resource::ProviderType) -> Self {
        match provider {
            resource::ProviderType::Google => Self::Google,
            resource::ProviderType::Github => Self::Github,
            resource::ProviderType::Microsoft => Self::Microsoft,
            resource::ProviderType::Gitlab => Self::Gitlab,
            resource::ProviderType::Apple => Self::Apple,
            resource::ProviderType::Oidc => Self::Oidc,
            resource::ProviderType::Oauth2 => Self::Oauth2,
        }
    }
}

impl Compiler<'_> {
    /// Enabled providers, by slug. Disabled ones are still checked, and their Secret still
    /// recorded, so disabling a provider never hides a mistake.
    pub(super) fn providers(&mut self) -> Vec<ProviderConfig> {
        let mut sorted: Vec<&OAuthProvider> = self.bundle.providers.iter().collect();
        sorted.sort_by_key(|p| p.name_any());
        let mut slugs: BTreeMap<String, String> = BTreeMap::new();
        let mut out = Vec::new();
        for provider in sorted {
            let pid = id_of(provider);
            let s = &provider.spec;
            let slug = s.slug.clone().unwrap_or_else(|| provider.name_any());
            if let Some(other) = slugs.insert(slug.clone(), provider.name_any()) {
                let path = if s.slug.is_some() {
                    "spec.slug"
                } else {
                    "metadata.name"
                };
                self.error(
                    &pid,
                    path,
                    format!("provider slug \"{slug}\" is already used by OAuthProvider/{other}"),
                );
            }
            if s.provider_type == resource::ProviderType::Oidc && s.issuer.is_none() {
                self.error(&pid, "spec.issuer", "type oidc requires issuer");
            }
            if let Some(issuer) = &s.issuer
                && let Err(e) = uri::check_issuer(issuer)
            {
                self.error(&pid, "spec.issuer", e);
            }
            if s.tenant.is_some() && s.provider_type != resource::ProviderType::Microsoft {
                self.error(&pid, "spec.tenant", "tenant applies only to type microsoft");
            }
            let endpoints = s.endpoints.clone().unwrap_or_default();
            if s.provider_type == resource::ProviderType::Oauth2 {
                for (field, value) in [
                    ("authorization", &endpoints.authorization),
                    ("token", &endpoints.token),
                    ("userinfo", &endpoints.userinfo),
                ] {
                    if value.is_none() {
                        self.error(
                            &pid,
                            format!("spec.endpoints.{field}"),
                            "required for type oauth2",
                        );
                    }
                }
            }
            for (field, value) in [
                ("authorization", &endpoints.authorization),
                ("token", &endpoints.token),
                ("userinfo", &endpoints.userinfo),
                ("jwks", &endpoints.jwks),
                ("emails", &endpoints.emails),
            ] {
                if let Some(Err(e)) = value.as_deref().map(uri::check_endpoint) {
                    self.error(&pid, format!("spec.endpoints.{field}"), e);
                }
            }
            if endpoints.emails.is_some() && s.provider_type != resource::ProviderType::Github {
                self.error(&pid, "spec.endpoints.emails", "applies only to type github");
            }
            let openid = !matches!(
                s.provider_type,
                resource::ProviderType::Github | resource::ProviderType::Oauth2
            );
            if openid && !s.scopes.is_empty() && !s.scopes.iter().any(|scope| scope == "openid") {
                self.error(
                    &pid,
                    "spec.scopes",
                    "must include openid: this provider type signs users in with an ID token",
                );
            }
            if let Some(tenant) = &s.tenant
                && !tenant
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                self.error(
                    &pid,
                    "spec.tenant",
                    "must be common, organizations, consumers, a tenant id or a tenant domain",
                );
            }
            // Accepted fields must do something; these do not yet, so they are refused.
            let apple = s.provider_type == resource::ProviderType::Apple;
            if apple != s.apple.is_some() {
                self.error(
                    &pid,
                    "spec.apple",
                    if apple {
                        "type apple requires apple (teamId, keyId)"
                    } else {
                        "applies only to type apple"
                    },
                );
            }
            if s.claim_mapping
                .as_ref()
                .is_some_and(|m| !m.extra.is_empty())
            {
                self.error(
                    &pid,
                    "spec.claimMapping.extra",
                    "not implemented yet: users have no metadata to copy claims into",
                );
            }
            if let Some(icon) = &s.icon_url
                && !icon.starts_with("data:image/")
                && uri::check_endpoint(icon).is_err()
            {
                self.error(
                    &pid,
                    "spec.iconUrl",
                    "must be an https URL or a data:image/... URI",
                );
            }
            let mut domains = BTreeSet::new();
            for (i, d) in s.allowed_domains.iter().enumerate() {
                if let Err(e) = uri::check_domain(d) {
                    self.error(&pid, format!("spec.allowedDomains[{i}]"), e);
                }
                domains.insert(d.to_ascii_lowercase());
            }
            let client_secret = self.secret(
                &pid,
                "spec.clientSecretRef",
                &s.client_secret_ref,
                format!("oauth.{slug}.client-secret"),
            );
            if !s.enabled {
                continue;
            }
            let scopes = if s.scopes.is_empty() {
                default_scopes(s.provider_type)
            } else {
                s.scopes.clone()
            };
            let mapping = s.claim_mapping.clone().unwrap_or_default();
            let github = s.provider_type == resource::ProviderType::Github;
            let claims = [
                (
                    "subject",
                    mapping.subject,
                    if github { "id" } else { "sub" },
                ),
                ("email", mapping.email, "email"),
                ("emailVerified", mapping.email_verified, "email_verified"),
                ("name", mapping.name, "name"),
                (
                    "picture",
                    mapping.picture,
                    if github { "avatar_url" } else { "picture" },
                ),
            ]
            .into_iter()
            .map(|(field, set, default)| {
                (field.to_owned(), set.unwrap_or_else(|| default.to_owned()))
            })
            .collect();
            out.push(ProviderConfig {
                slug,
                provider_type: s.provider_type.into(),
                display_name: s
                    .display_name
                    .clone()
                    .unwrap_or_else(|| default_display_name(s.provider_type).to_owned()),
                icon_url: s.icon_url.clone(),
                client_id: s.client_id.clone(),
                client_secret,
                scopes,
                issuer: s.issuer.clone(),
                authorization_endpoint: endpoints.authorization,
                token_endpoint: endpoints.token,
                userinfo_endpoint: endpoints.userinfo,
                jwks_uri: endpoints.jwks,
                emails_endpoint: endpoints.emails,
                tenant: s.tenant.clone(),
                apple: s
                    .apple
                    .as_ref()
                    .map(|a| crate::config::runtime::AppleClientSecret {
                        team_id: a.team_id.clone(),
                        key_id: a.key_id.clone(),
                    }),
                allowed_domains: domains.into_iter().collect(),
                claims,
                extra_claims: mapping.extra,
                allow_sign_up: s.allow_sign_up,
            });
        }
        out.sort_by(|a, b| a.slug.cmp(&b.slug));
        out
    }
}

/// Scopes requested when a provider lists none.
fn default_scopes(provider: resource::ProviderType) -> Vec<String> {
    let scopes: &[&str] = match provider {
        resource::ProviderType::Github => &["read:user", "user:email"],
        resource::ProviderType::Apple => &["openid", "name", "email"],
        resource::ProviderType::Oauth2 => &[],
        _ => &["openid", "profile", "email"],
    };
    scopes.iter().map(|s| s.to_string()).collect()
}

/// Button label when a provider sets none.
fn default_display_name(provider: resource::ProviderType) -> &'static str {
    match provider {
        resource::ProviderType::Google => "Google",
        resource::ProviderType::Github => "GitHub",
        resource::ProviderType::Microsoft => "Microsoft",
        resource::ProviderType::Gitlab => "GitLab",
        resource::ProviderType::Apple => "Apple",
        resource::ProviderType::Oidc | resource::ProviderType::Oauth2 => "Single sign-on",
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        has_diagnostic, maps_to_same_json, provider, run_part, secret, with_base,
    };
    use super::*;

    const SECRET: &str = "clientSecretRef: {name: social, key: k}";

    fn social() -> String {
        secret("social", &["k"])
    }

    #[test]
    fn defaults_follow_the_provider_type() {
        let github = provider(
            "github",
            &format!("type: github\nclientId: gh-id\n{SECRET}"),
        );
        let google = provider(
            "google",
            &format!(
                "type: google\nslug: g\nclientId: g-id\n{SECRET}\nallowedDomains: [b.com, a.com]"
            ),
        );
        let b = with_base(&[&github, &google, &social()]);
        let ((providers, secrets), diagnostics) =
            run_part(&b, |c| (c.providers(), c.secrets.clone()));
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let slugs: Vec<&str> = providers.iter().map(|p| p.slug.as_str()).collect();
        assert_eq!(
            slugs,
            ["g", "github"],
            "by slug; the name is the default slug"
        );

        let gh = &providers[1];
        assert_eq!(gh.provider_type, ProviderType::Github);
        assert_eq!(gh.display_name, "GitHub");
        assert_eq!(gh.scopes, ["read:user", "user:email"]);
        assert_eq!(gh.claims["subject"], "id");
        assert_eq!(gh.claims["picture"], "avatar_url");
        assert_eq!(gh.client_secret.secret_key, "oauth.github.client-secret");
        assert_eq!(secrets["oauth.github.client-secret"].name, "social");

        let g = &providers[0];
        assert_eq!(g.scopes, ["openid", "profile", "email"]);
        assert_eq!(g.claims["subject"], "sub");
        assert_eq!(g.allowed_domains, ["a.com", "b.com"]);
        assert_eq!(g.client_secret.secret_key, "oauth.g.client-secret");
    }

    #[test]
    fn slugs_are_unique() {
        let first = provider(
            "a-github",
            &format!("type: github\nslug: gh\nclientId: x\n{SECRET}"),
        );
        let second = provider("gh", &format!("type: github\nclientId: y\n{SECRET}"));
        let b = with_base(&[&second, &first, &social()]);
        let (_, diagnostics) = run_part(&b, |c| c.providers());
        has_diagnostic(
            &diagnostics,
            ("OAuthProvider", "gh"),
            "metadata.name",
            "provider slug \"gh\" is already used by OAuthProvider/a-github",
        );
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    }

    #[test]
    fn type_specific_fields_are_checked() {
        let oidc = provider(
            "sso",
            &format!("type: oidc\nclientId: x\n{SECRET}\ntenant: t"),
        );
        let oauth2 = provider(
            "legacy",
            &format!(
                "type: oauth2\nclientId: x\n{SECRET}\nendpoints: {{jwks: http://legacy.example.com/jwks}}\nallowedDomains: [Legacy]"
            ),
        );
        let b = with_base(&[&oidc, &oauth2, &social()]);
        let (_, diagnostics) = run_part(&b, |c| c.providers());
        let sso = ("OAuthProvider", "sso");
        has_diagnostic(
            &diagnostics,
            sso,
            "spec.issuer",
            "type oidc requires issuer",
        );
        has_diagnostic(&diagnostics, sso, "spec.tenant", "only to type microsoft");
        let legacy = ("OAuthProvider", "legacy");
        for field in ["authorization", "token", "userinfo"] {
            let path = format!("spec.endpoints.{field}");
            has_diagnostic(&diagnostics, legacy, &path, "required for type oauth2");
        }
        has_diagnostic(
            &diagnostics,
            legacy,
            "spec.endpoints.jwks",
            "must use https",
        );
        has_diagnostic(
            &diagnostics,
            legacy,
            "spec.allowedDomains[0]",
            "not a lower-case domain",
        );
        assert_eq!(diagnostics.len(), 7, "{diagnostics:#?}");
    }

    #[test]
    fn what_the_server_cannot_honour_yet_is_refused() {
        let apple = provider("apple", &format!("type: apple\nclientId: x\n{SECRET}"));
        let misplaced = provider(
            "gh",
            &format!("type: github\nclientId: x\n{SECRET}\napple: {{teamId: T1, keyId: K1}}"),
        );
        let extra = provider(
            "corp",
            &format!(
                "type: oidc\nissuer: https://idp.example.com\nclientId: x\n{SECRET}\nclaimMapping: {{extra: {{dept: department}}}}"
            ),
        );
        let scopes = provider(
            "noid",
            &format!("type: google\nclientId: x\n{SECRET}\nscopes: [email]"),
        );
        let emails = provider(
            "gl",
            &format!(
                "type: gitlab\nclientId: x\n{SECRET}\nendpoints: {{emails: https://gitlab.example.com/emails}}"
            ),
        );
        let b = with_base(&[&apple, &misplaced, &extra, &scopes, &emails, &social()]);
        let (_, diagnostics) = run_part(&b, |c| c.providers());
        has_diagnostic(
            &diagnostics,
            ("OAuthProvider", "apple"),
            "spec.apple",
            "type apple requires apple (teamId, keyId)",
        );
        has_diagnostic(
            &diagnostics,
            ("OAuthProvider", "gh"),
            "spec.apple",
            "applies only to type apple",
        );
        has_diagnostic(
            &diagnostics,
            ("OAuthProvider", "corp"),
            "spec.claimMapping.extra",
            "not implemented yet",
        );
        has_diagnostic(
            &diagnostics,
            ("OAuthProvider", "noid"),
            "spec.scopes",
            "must include openid",
        );
        has_diagnostic(
            &diagnostics,
            ("OAuthProvider", "gl"),
            "spec.endpoints.emails",
            "applies only to type github",
        );
        assert_eq!(diagnostics.len(), 5, "{diagnostics:#?}");
    }

    #[test]
    fn disabled_providers_are_checked_but_left_out() {
        let off = provider(
            "off",
            "type: github\nclientId: x\nenabled: false\nclientSecretRef: {name: social, key: nope}",
        );
        let b = with_base(&[&off, &social()]);
        let ((providers, secrets), diagnostics) =
            run_part(&b, |c| (c.providers(), c.secrets.clone()));
        assert!(providers.is_empty());
        assert!(secrets.contains_key("oauth.off.client-secret"));
        has_diagnostic(
            &diagnostics,
            ("OAuthProvider", "off"),
            "spec.clientSecretRef.key",
            "has no key \"nope\"",
        );
    }

    #[test]
    fn enums_keep_their_json() {
        use resource::ProviderType as P;
        maps_to_same_json::<_, ProviderType>(&[
            P::Google,
            P::Github,
            P::Microsoft,
            P::Gitlab,
            P::Apple,
            P::Oidc,
            P::Oauth2,
        ]);
    }
}
