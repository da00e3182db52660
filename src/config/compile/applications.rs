//! OIDC clients, from `Application` resources.

use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;

use super::Compiler;
use crate::config::bundle::id_of;
use crate::config::runtime::{ApplicationConfig, ApplicationType, GrantType, SecretValue};
use crate::config::uri;
use crate::resources::Application;
use crate::resources::application as resource;

impl From<resource::ApplicationType> for ApplicationType {
    fn from(application: resource::ApplicationType) -> Self {
        match application {
            resource::ApplicationType::Web => Self::Web,
            resource::ApplicationType::Spa => Self::Spa,
            resource::ApplicationType::Native => Self::Native,
            resource::ApplicationType::M2m => Self::M2m,
        }
    }
}

impl From<resource::GrantType> for GrantType {
    fn from(grant: resource::GrantType) -> Self {
        match grant {
            resource::GrantType::AuthorizationCode => Self::AuthorizationCode,
            resource::GrantType::RefreshToken => Self::RefreshToken,
            resource::GrantType::ClientCredentials => Self::ClientCredentials,
        }
    }
}

impl Compiler<'_> {
    /// Applications, by client id. Web and m2m clients are confidential: the operator generates
    /// their secret, and the config names where its hash is.
    pub(super) fn applications(&mut self) -> Vec<ApplicationConfig> {
        let mut sorted: Vec<&Application> = self.bundle.applications.iter().collect();
        sorted.sort_by_key(|a| a.name_any());
        let mut client_ids: BTreeMap<String, String> = BTreeMap::new();
        let mut out = Vec::new();
        for app in sorted {
            let aid = id_of(app);
            let s = &app.spec;
            let kind = s.application_type;
            if let Some(other) = client_ids.insert(s.client_id.clone(), app.name_any()) {
                self.error(
                    &aid,
                    "spec.clientId",
                    format!(
                        "client id \"{}\" is already used by Application/{other}",
                        s.client_id
                    ),
                );
            }
            let check_uris =
                |this: &mut Self,
                 field: &str,
                 uris: &[String],
                 check: &dyn Fn(&str) -> Result<(), String>| {
                    let mut seen = BTreeSet::new();
                    for (i, u) in uris.iter().enumerate() {
                        let path = format!("spec.{field}[{i}]");
                        if let Err(e) = check(u) {
                            this.error(&aid, &path, e);
                        } else if !seen.insert(u.as_str()) {
                            this.error(&aid, &path, format!("{u:?} is listed twice"));
                        }
                    }
                };
            check_uris(self, "redirectUris", &s.redirect_uris, &|u| {
                uri::check_redirect_uri(u, kind)
            });
            check_uris(
                self,
                "postLogoutRedirectUris",
                &s.post_logout_redirect_uris,
                &|u| uri::check_redirect_uri(u, kind),
            );
            check_uris(
                self,
                "allowedOrigins",
                &s.allowed_origins,
                &uri::check_origin,
            );
            check_uris(self, "resources", &s.resources, &uri::check_resource);

            let confidential = matches!(
                kind,
                resource::ApplicationType::Web | resource::ApplicationType::M2m
            );
            match kind {
                resource::ApplicationType::M2m => {
                    if !s.redirect_uris.is_empty() {
                        self.error(
                            &aid,
                            "spec.redirectUris",
                            "m2m applications have no redirect URIs",
                        );
                    }
                    if s.grant_types
                        .iter()
                        .any(|g| *g != resource::GrantType::ClientCredentials)
                    {
                        self.error(
                            &aid,
                            "spec.grantTypes",
                            "m2m applications use only client_credentials",
                        );
                    }
                }
                _ => {
                    if s.redirect_uris.is_empty() {
                        self.error(
                            &aid,
                            "spec.redirectUris",
                            "at least one redirect URI is required",
                        );
                    }
                    if !confidential
                        && s.grant_types
                            .contains(&resource::GrantType::ClientCredentials)
                    {
                        self.error(
                            &aid,
                            "spec.grantTypes",
                            "public clients (spa, native) cannot use client_credentials",
                        );
                    }
                    if !s.scopes.iter().any(|sc| sc == "openid") {
                        self.error(&aid, "spec.scopes", "must include openid");
                    }
                    if s.require_organization && !self.bundle.vestibule.spec.organizations.enabled {
                        self.error(
                            &aid,
                            "spec.requireOrganization",
                            "the Vestibule does not enable organizations (spec.organizations.enabled)",
                        );
                    }
                }
            }
            if !s.allowed_origins.is_empty() && kind != resource::ApplicationType::Spa {
                self.error(
                    &aid,
                    "spec.allowedOrigins",
                    "only spa applications call the token endpoint from a browser",
                );
            }
            if confidential && s.secret_name.is_none() {
                self.error(&aid, "spec.secretName", "confidential clients (web, m2m) need secretName for their generated client secret");
            }
            let lifetimes = &s.token_lifetimes;
            let access = self.duration_seconds(
                &aid,
                "spec.tokenLifetimes.accessToken",
                &lifetimes.access_token,
            );
            let id_token =
                self.duration_seconds(&aid, "spec.tokenLifetimes.idToken", &lifetimes.id_token);
            let refresh = self.duration_seconds(
                &aid,
                "spec.tokenLifetimes.refreshToken",
                &lifetimes.refresh_token,
            );
            if access > 24 * 3600 {
                self.error(
                    &aid,
                    "spec.tokenLifetimes.accessToken",
                    "must be at most 24h; use refresh tokens for longer access",
                );
            }
            let mut scopes = s.scopes.clone();
            scopes.sort();
            scopes.dedup();
            let mut grant_types: Vec<GrantType> =
                s.grant_types.iter().map(|&g| GrantType::from(g)).collect();
            grant_types.sort();
            grant_types.dedup();
            out.push(ApplicationConfig {
                client_id: s.client_id.clone(),
                application_type: kind.into(),
                display_name: s.display_name.clone().unwrap_or_else(|| app.name_any()),
                confidential,
                client_secret_hash: confidential.then(|| SecretValue {
                    secret_key: format!("application.{}.client-secret-hash", s.client_id),
                }),
                redirect_uris: s.redirect_uris.clone(),
                post_logout_redirect_uris: s.post_logout_redirect_uris.clone(),
                allowed_origins: s.allowed_origins.clone(),
                resources: s.resources.clone(),
                scopes,
                grant_types,
                access_token_seconds: access,
                id_token_seconds: id_token,
                refresh_token_seconds: refresh,
                require_consent: s.require_consent,
                require_organization: s.require_organization,
            });
        }
        out.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        application, has_diagnostic, maps_to_same_json, run_part, with_base,
    };
    use super::*;

    #[test]
    fn requiring_an_organization_needs_the_vestibule_to_have_them() {
        let spa = application(
            "spa",
            "type: spa\nclientId: spa\nredirectUris: [https://app.example.com/cb]\nrequireOrganization: true",
        );
        let b = with_base(&[&spa]);
        let (apps, diagnostics) = run_part(&b, |c| c.applications());
        assert!(apps[0].require_organization);
        has_diagnostic(
            &diagnostics,
            ("Application", "spa"),
            "spec.requireOrganization",
            "does not enable organizations",
        );
    }

    #[test]
    fn a_web_application_is_a_confidential_client() {
        let web = application(
            "portal",
            "type: web
clientId: portal-app
redirectUris: [https://app.example.com/cb]
scopes: [profile, openid, openid]
grantTypes: [refresh_token, authorization_code, refresh_token]
secretName: portal-oidc",
        );
        let b = with_base(&[&web]);
        let (apps, diagnostics) = run_part(&b, |c| c.applications());
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let [app] = apps.as_slice() else {
            panic!("{apps:?}");
        };
        assert_eq!(app.client_id, "portal-app");
        assert_eq!(app.application_type, ApplicationType::Web);
        assert_eq!(app.display_name, "portal", "defaults to the resource name");
        assert!(app.confidential);
        assert_eq!(
            app.client_secret_hash
                .as_ref()
                .map(|s| s.secret_key.as_str()),
            Some("application.portal-app.client-secret-hash")
        );
        assert_eq!(app.scopes, ["openid", "profile"], "sorted, deduplicated");
        assert_eq!(
            app.grant_types,
            [GrantType::AuthorizationCode, GrantType::RefreshToken]
        );
        assert_eq!(
            (
                app.access_token_seconds,
                app.id_token_seconds,
                app.refresh_token_seconds
            ),
            (600, 3600, 720 * 3600)
        );
    }

    #[test]
    fn client_ids_are_unique() {
        let spa = "type: spa\nclientId: shared\nredirectUris: [https://app.example.com/cb]";
        let b = with_base(&[&application("b", spa), &application("a", spa)]);
        let (apps, diagnostics) = run_part(&b, |c| c.applications());
        assert!(
            apps.iter()
                .all(|a| !a.confidential && a.client_secret_hash.is_none())
        );
        has_diagnostic(
            &diagnostics,
            ("Application", "b"),
            "spec.clientId",
            "client id \"shared\" is already used by Application/a",
        );
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    }

    #[test]
    fn uris_grants_and_scopes_follow_the_client_type() {
        let spa = application(
            "spa",
            "type: spa
clientId: spa-app
redirectUris: [https://app.example.com/cb, https://app.example.com/cb]
postLogoutRedirectUris: [\"javascript:alert(1)\"]
allowedOrigins: [https://app.example.com/]
grantTypes: [authorization_code, client_credentials]
scopes: [profile]",
        );
        let web = application(
            "web",
            "type: web
clientId: web-app
redirectUris: [https://web.example.com/cb]
allowedOrigins: [https://web.example.com]",
        );
        let b = with_base(&[&spa, &web]);
        let (_, diagnostics) = run_part(&b, |c| c.applications());
        let on = ("Application", "spa");
        has_diagnostic(&diagnostics, on, "spec.redirectUris[1]", "is listed twice");
        has_diagnostic(
            &diagnostics,
            on,
            "spec.postLogoutRedirectUris[0]",
            "scheme javascript:",
        );
        has_diagnostic(
            &diagnostics,
            on,
            "spec.allowedOrigins[0]",
            "is not an origin",
        );
        has_diagnostic(
            &diagnostics,
            on,
            "spec.grantTypes",
            "public clients (spa, native)",
        );
        has_diagnostic(&diagnostics, on, "spec.scopes", "must include openid");
        let on = ("Application", "web");
        has_diagnostic(
            &diagnostics,
            on,
            "spec.allowedOrigins",
            "only spa applications",
        );
        has_diagnostic(
            &diagnostics,
            on,
            "spec.secretName",
            "confidential clients (web, m2m)",
        );
        assert_eq!(diagnostics.len(), 7, "{diagnostics:#?}");
    }

    #[test]
    fn m2m_clients_have_no_redirects_and_only_client_credentials() {
        let m2m = application(
            "batch",
            "type: m2m\nclientId: batch\nredirectUris: [https://x.example.com/cb]",
        );
        let b = with_base(&[&m2m]);
        let (_, diagnostics) = run_part(&b, |c| c.applications());
        let on = ("Application", "batch");
        has_diagnostic(
            &diagnostics,
            on,
            "spec.redirectUris",
            "m2m applications have no redirect URIs",
        );
        has_diagnostic(
            &diagnostics,
            on,
            "spec.grantTypes",
            "m2m applications use only client_credentials",
        );
        has_diagnostic(&diagnostics, on, "spec.secretName", "need secretName");
        assert_eq!(diagnostics.len(), 3, "{diagnostics:#?}");

        let ok = "type: m2m\nclientId: batch\ngrantTypes: [client_credentials]\nsecretName: s";
        let b = with_base(&[&application("batch", ok)]);
        let (apps, diagnostics) = run_part(&b, |c| c.applications());
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert!(apps[0].confidential);
    }

    #[test]
    fn token_lifetimes_are_checked() {
        let spa = application(
            "spa",
            "type: spa
clientId: spa-app
redirectUris: [https://app.example.com/cb]
tokenLifetimes: {accessToken: 48h, idToken: soon}",
        );
        let b = with_base(&[&spa]);
        let (_, diagnostics) = run_part(&b, |c| c.applications());
        let on = ("Application", "spa");
        has_diagnostic(
            &diagnostics,
            on,
            "spec.tokenLifetimes.accessToken",
            "at most 24h",
        );
        has_diagnostic(
            &diagnostics,
            on,
            "spec.tokenLifetimes.idToken",
            "is not a duration",
        );
        assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");
    }

    #[test]
    fn enums_keep_their_json() {
        use resource::{ApplicationType as A, GrantType as G};
        maps_to_same_json::<_, ApplicationType>(&[A::Web, A::Spa, A::Native, A::M2m]);
        maps_to_same_json::<_, GrantType>(&[
            G::AuthorizationCode,
            G::RefreshToken,
            G::ClientCredentials,
        ]);
    }

    #[test]
    fn resources_must_be_absolute_uris_without_fragments() {
        for (bad, why) in [
            ("api", "not an absolute URI"),
            ("https://api.example.com/#x", "fragment"),
        ] {
            let yaml = format!(
                "type: spa\nclientId: shop\nredirectUris: [https://shop.example/cb]\nresources: [\"{bad}\"]"
            );
            let app = application("shop", &yaml);
            let (_, diagnostics) = run_part(&with_base(&[&app]), |c| c.applications());
            has_diagnostic(
                &diagnostics,
                ("Application", "shop"),
                "spec.resources[0]",
                why,
            );
        }
        let ok = application(
            "shop",
            "type: spa\nclientId: shop\nredirectUris: [https://shop.example/cb]\nresources: [https://api.example.com, \"urn:example:api\"]",
        );
        let (apps, diagnostics) = run_part(&with_base(&[&ok]), |c| c.applications());
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert_eq!(
            apps[0].resources,
            ["https://api.example.com", "urn:example:api"]
        );
    }
}
