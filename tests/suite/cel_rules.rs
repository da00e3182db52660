//! The CEL rules in the CRDs, evaluated client-side with kube's `cel` feature: valid objects
//! pass, each broken object fails with its rule's message, transition rules guard immutability.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use vestibule::resources::{Application, MfaPolicy, OAuthProvider, Organization, Vestibule};

fn object<K: DeserializeOwned>(kind: &str, spec: Value) -> K {
    serde_json::from_value(json!({
        "apiVersion": "vestibule.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "default"},
        "spec": spec,
    }))
    .unwrap_or_else(|e| panic!("{kind}: {e}"))
}

fn messages(result: Result<(), kube::core::cel::ValidationErrors>) -> Vec<String> {
    match result {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field_path, e.message))
            .collect(),
    }
}

fn assert_rejected(result: Result<(), kube::core::cel::ValidationErrors>, expected: &str) {
    let found = messages(result);
    assert!(
        found.iter().any(|m| m.contains(expected)),
        "expected a violation containing {expected:?}, got {found:?}"
    );
}

fn vestibule(spec: Value) -> Vestibule {
    object("Vestibule", spec)
}

#[test]
fn a_minimal_vestibule_passes_every_rule() {
    let v = vestibule(json!({"issuer": "https://auth.example.com", "regions": [{"name": "eu"}]}));
    assert_eq!(messages(v.validate_cel()), Vec::<String>::new());
}

#[test]
fn sqlite_allows_one_region_with_one_replica() {
    let three_replicas = vestibule(json!({
        "issuer": "https://auth.example.com",
        "regions": [{"name": "eu", "replicas": 3}],
    }));
    assert_rejected(
        three_replicas.validate_cel(),
        "SQLite allows exactly one region",
    );
    let two_regions = vestibule(json!({
        "issuer": "https://auth.example.com",
        "regions": [{"name": "eu"}, {"name": "us"}],
    }));
    assert_rejected(
        two_regions.validate_cel(),
        "SQLite allows exactly one region",
    );
    let postgres = vestibule(json!({
        "issuer": "https://auth.example.com",
        "regions": [{"name": "eu", "replicas": 3}, {"name": "us", "replicas": 2}],
        "database": {"postgres": {"urlSecretRef": {"name": "db", "key": "url"}}},
    }));
    assert_eq!(messages(postgres.validate_cel()), Vec::<String>::new());
}

#[test]
fn region_names_are_unique() {
    let v = vestibule(json!({
        "issuer": "https://auth.example.com",
        "regions": [{"name": "eu"}, {"name": "eu"}],
        "database": {"postgres": {"urlSecretRef": {"name": "db", "key": "url"}}},
    }));
    assert_rejected(v.validate_cel(), "region names must be unique");
}

#[test]
fn database_is_exactly_one_engine() {
    let both = vestibule(json!({
        "issuer": "https://auth.example.com",
        "regions": [{"name": "eu"}],
        "database": {"sqlite": {}, "postgres": {"urlSecretRef": {"name": "db", "key": "url"}}},
    }));
    assert_rejected(both.validate_cel(), "set exactly one of sqlite or postgres");
}

#[test]
fn idle_timeout_cannot_exceed_lifetime() {
    let v = vestibule(json!({
        "issuer": "https://auth.example.com",
        "regions": [{"name": "eu"}],
        "sessions": {"lifetime": "1h", "idleTimeout": "2h"},
    }));
    assert_rejected(
        v.validate_cel(),
        "idleTimeout must not be longer than lifetime",
    );
}

#[test]
fn ingress_needs_a_hostname() {
    let v = vestibule(json!({
        "issuer": "https://auth.example.com",
        "regions": [{"name": "eu", "ingress": {}}],
    }));
    assert_rejected(v.validate_cel(), "an ingress needs a hostname");
}

#[test]
fn password_max_length_is_not_below_min() {
    let v = vestibule(json!({
        "issuer": "https://auth.example.com",
        "regions": [{"name": "eu"}],
        "passwords": {"minLength": 64, "maxLength": 64},
    }));
    assert_eq!(messages(v.validate_cel()), Vec::<String>::new());
}

fn provider(spec: Value) -> OAuthProvider {
    let mut full = json!({
        "vestibuleRef": {"name": "main"},
        "clientId": "client",
        "clientSecretRef": {"name": "s", "key": "k"},
    });
    if let (Some(base), Some(extra)) = (full.as_object_mut(), spec.as_object()) {
        base.extend(extra.clone());
    }
    object("OAuthProvider", full)
}

#[test]
fn oidc_provider_requires_issuer() {
    assert_rejected(
        provider(json!({"type": "oidc"})).validate_cel(),
        "type oidc requires issuer",
    );
    let ok = provider(json!({"type": "oidc", "issuer": "https://idp.example.com"}));
    assert_eq!(messages(ok.validate_cel()), Vec::<String>::new());
}

#[test]
fn oauth2_provider_requires_endpoints() {
    assert_rejected(
        provider(json!({"type": "oauth2", "endpoints": {"authorization": "https://a"}}))
            .validate_cel(),
        "type oauth2 requires endpoints",
    );
}

#[test]
fn tenant_is_only_for_microsoft() {
    assert_rejected(
        provider(json!({"type": "google", "tenant": "common"})).validate_cel(),
        "tenant applies only to type microsoft",
    );
    let ok = provider(json!({"type": "microsoft", "tenant": "common"}));
    assert_eq!(messages(ok.validate_cel()), Vec::<String>::new());
}

#[test]
fn provider_vestibule_ref_is_immutable() {
    let old = provider(json!({"type": "github"}));
    let mut new = old.clone();
    new.spec.vestibule_ref.name = "other".into();
    assert_rejected(new.validate_cel_update(&old), "vestibuleRef is immutable");
    assert_eq!(
        messages(old.validate_cel_update(&old)),
        Vec::<String>::new()
    );
}

fn organization(spec: Value) -> Organization {
    let mut full = json!({"vestibuleRef": {"name": "main"}, "slug": "acme", "displayName": "Acme"});
    if let (Some(base), Some(extra)) = (full.as_object_mut(), spec.as_object()) {
        base.extend(extra.clone());
    }
    object("Organization", full)
}

#[test]
fn organization_slug_is_immutable() {
    let old = organization(json!({}));
    let mut renamed = old.clone();
    renamed.spec.slug = "acme-inc".into();
    assert_rejected(renamed.validate_cel_update(&old), "slug is immutable");
    let mut display_changed = old.clone();
    display_changed.spec.display_name = "Acme Inc".into();
    assert_eq!(
        messages(display_changed.validate_cel_update(&old)),
        Vec::<String>::new()
    );
}

#[test]
fn organization_roles_and_domains_are_unique() {
    let roles = organization(json!({"roles": [{"name": "admin"}, {"name": "admin"}]}));
    assert_rejected(roles.validate_cel(), "role names must be unique");
    let domains =
        organization(json!({"domains": [{"domain": "acme.com"}, {"domain": "acme.com"}]}));
    assert_rejected(domains.validate_cel(), "domains must be unique");
}

fn application(spec: Value) -> Application {
    let mut full = json!({"vestibuleRef": {"name": "main"}, "clientId": "app"});
    if let (Some(base), Some(extra)) = (full.as_object_mut(), spec.as_object()) {
        base.extend(extra.clone());
    }
    object("Application", full)
}

#[test]
fn application_client_id_is_immutable() {
    let old = application(json!({"type": "spa", "redirectUris": ["https://app.example.com/cb"]}));
    let mut new = old.clone();
    new.spec.client_id = "app2".into();
    assert_rejected(new.validate_cel_update(&old), "clientId is immutable");
}

#[test]
fn application_type_rules() {
    assert_rejected(
        application(json!({"type": "spa"})).validate_cel(),
        "need at least one redirect URI",
    );
    assert_rejected(
        application(json!({"type": "m2m", "secretName": "s"})).validate_cel(),
        "m2m applications use only the client_credentials grant",
    );
    assert_rejected(
        application(json!({
            "type": "native",
            "redirectUris": ["com.example.app:/cb"],
            "grantTypes": ["client_credentials"],
        }))
        .validate_cel(),
        "public clients (spa, native) cannot use client_credentials",
    );
    assert_rejected(
        application(json!({"type": "web", "redirectUris": ["https://app.example.com/cb"]}))
            .validate_cel(),
        "need secretName",
    );
    let m2m = application(
        json!({"type": "m2m", "secretName": "s", "grantTypes": ["client_credentials"]}),
    );
    assert_eq!(messages(m2m.validate_cel()), Vec::<String>::new());
}

#[test]
fn mfa_policy_rules() {
    let roles_missing: MfaPolicy = object("MfaPolicy", json!({"enforcement": "requiredForRoles"}));
    assert_rejected(
        roles_missing.validate_cel(),
        "needs at least one entry in requiredRoles",
    );
    let no_factor: MfaPolicy = object(
        "MfaPolicy",
        json!({"enforcement": "required", "factors": {"totp": {"enabled": false}}}),
    );
    assert_rejected(
        no_factor.validate_cel(),
        "required MFA needs factors.totp enabled",
    );
    let fine: MfaPolicy = object("MfaPolicy", json!({"enforcement": "required"}));
    assert_eq!(messages(fine.validate_cel()), Vec::<String>::new());
}
