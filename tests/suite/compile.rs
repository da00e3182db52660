//! `compile`: deterministic, secret-free, and faithful to the resources.

use std::path::PathBuf;

use serde_json::Value;
use vestibule::config::{Resources, RuntimeConfig, compile};
use vestibule::manifest::validate::validate_paths;
use vestibule::manifest::yaml::parse_documents;

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

fn load(name: &str) -> Resources {
    let report = validate_paths(&[example(name)], &[]).expect("readable");
    assert!(!report.has_errors(), "{name}: {:?}", report.findings);
    report.accepted
}

fn compile_one(resources: &Resources) -> RuntimeConfig {
    let (bundles, dangling) = resources.bundles();
    assert!(dangling.is_empty(), "{dangling:?}");
    assert_eq!(bundles.len(), 1);
    compile(&bundles[0]).unwrap_or_else(|d| panic!("{d:?}"))
}

/// Reorders every list the same way `order` says: a deterministic stand-in for "any order".
fn reorder(resources: &Resources, order: usize) -> Resources {
    fn permute<T: Clone>(items: &[T], order: usize) -> Vec<T> {
        let mut v = items.to_vec();
        if order % 2 == 1 {
            v.reverse();
        }
        if !v.is_empty() {
            let k = order % v.len();
            v.rotate_left(k);
        }
        v
    }
    let mut r = resources.clone();
    r.providers = permute(&r.providers, order);
    r.organizations = permute(&r.organizations, order);
    r.applications = permute(&r.applications, order);
    r.themes = permute(&r.themes, order);
    r.mfa_policies = permute(&r.mfa_policies, order);
    for org in &mut r.organizations {
        // Order inside a resource that carries no meaning must not matter either.
        org.spec.members = permute(&org.spec.members, order);
        for role in &mut org.spec.roles {
            role.permissions = permute(&role.permissions, order);
        }
    }
    r
}

#[test]
fn compile_is_deterministic_under_any_input_order() {
    for name in [
        "quickstart",
        "multi-region",
        "b2b-organizations",
        "branded-theme",
    ] {
        let resources = load(name);
        let reference = compile_one(&resources);
        let reference_bytes = serde_json::to_vec(&reference).expect("serialize");
        for order in 1..8 {
            let shuffled = compile_one(&reorder(&resources, order));
            assert_eq!(shuffled.hash, reference.hash, "{name} order {order}");
            assert_eq!(
                serde_json::to_vec(&shuffled).expect("serialize"),
                reference_bytes,
                "{name} order {order}"
            );
        }
    }
}

#[test]
fn hash_covers_the_content() {
    let resources = load("quickstart");
    let config = compile_one(&resources);
    assert!(config.hash.starts_with("sha256:") && config.hash.len() == 7 + 64);
    assert!(config.hash_is_valid());
    let mut edited = resources.clone();
    edited.vestibules[0].spec.passwords.min_length = 12;
    let changed = compile_one(&edited);
    assert_ne!(changed.hash, config.hash);
    let mut tampered = config.clone();
    tampered.passwords.min_length = 8;
    assert!(!tampered.hash_is_valid());
}

#[test]
fn runtime_config_round_trips_and_rejects_unknown_fields() {
    let config = compile_one(&load("b2b-organizations"));
    let json = serde_json::to_value(&config).expect("serialize");
    assert_eq!(json["apiVersion"], "config.vestibule.dev/v1alpha1");
    assert_eq!(json["kind"], "RuntimeConfig");
    let back: RuntimeConfig = serde_json::from_value(json.clone()).expect("deserialize");
    assert_eq!(back, config);
    let mut with_typo = json;
    with_typo["sesions"] = Value::Bool(true);
    assert!(serde_json::from_value::<RuntimeConfig>(with_typo).is_err());
}

/// Every value of every Secret document in an example.
fn secret_values(name: &str) -> Vec<String> {
    let mut values = Vec::new();
    for entry in std::fs::read_dir(example(name)).expect("example dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        for doc in parse_documents(&text).expect("yaml") {
            if doc.value["kind"] == "Secret" {
                for field in ["stringData", "data"] {
                    // An Application Secret's `client_id` is public by design (RFC 6749 2.2).
                    for v in doc.value[field]
                        .as_object()
                        .into_iter()
                        .flat_map(|m| m.iter())
                        .filter(|(k, _)| k.as_str() != "client_id")
                        .map(|(_, v)| v)
                    {
                        values.extend(v.as_str().map(str::to_owned));
                    }
                }
            }
        }
    }
    values
}

#[test]
fn no_secret_value_reaches_the_runtime_config() {
    for name in ["quickstart", "multi-region", "b2b-organizations"] {
        let values = secret_values(name);
        assert!(!values.is_empty(), "{name} has Secrets to check");
        let config = serde_json::to_string(&compile_one(&load(name))).expect("serialize");
        for value in values {
            assert!(
                !config.contains(&value),
                "{name}: a Secret value leaked into the config"
            );
        }
    }
}

#[test]
fn secrets_are_referenced_by_region_key_with_their_source() {
    let config = compile_one(&load("multi-region"));
    let secrets = serde_json::to_value(&config.secrets).expect("json");
    assert_eq!(secrets["database.url"]["name"], "auth-database");
    assert_eq!(secrets["smtp.password"]["key"], "password");
    // Kubeconfigs are for the operator only; a region never receives another cluster's credentials.
    assert!(
        !serde_json::to_string(&config)
            .expect("json")
            .contains("cluster-us-east")
    );
    let quickstart = compile_one(&load("quickstart"));
    let github = quickstart
        .providers
        .iter()
        .find(|p| p.slug == "github")
        .expect("github");
    assert_eq!(
        github.client_secret.secret_key,
        "oauth.github.client-secret"
    );
    assert_eq!(
        quickstart.secrets["oauth.github.client-secret"].name,
        "social-login"
    );
}

#[test]
fn organization_theme_extends_the_product_theme() {
    let config = compile_one(&load("b2b-organizations"));
    assert_eq!(config.theme.tokens["primary"], "#0f766e");
    let globex = config
        .organizations
        .declared
        .iter()
        .find(|o| o.slug == "globex")
        .expect("globex");
    let theme = globex.theme.as_ref().expect("globex has its own theme");
    assert_eq!(theme.sources, ["saas", "globex"]);
    assert_eq!(theme.tokens["primary"], "#b91c1c", "the child overrides");
    assert_eq!(
        theme.tokens["radius"], "6px",
        "the parent's tokens are inherited"
    );
    let mfa = globex.mfa.as_ref().expect("globex has its own MFA policy");
    assert_eq!(mfa.required_roles, ["admin"]);
    let acme = config
        .organizations
        .declared
        .iter()
        .find(|o| o.slug == "acme")
        .expect("acme");
    assert!(
        acme.theme.is_none() && acme.mfa.is_none(),
        "acme inherits the Vestibule's"
    );
    assert_eq!(acme.members["finance@acme.com"], "billing");
}

#[test]
fn defaults_fill_what_the_resources_leave_out() {
    let config = compile_one(&load("branded-theme"));
    assert_eq!(config.sessions.lifetime_seconds, 24 * 3600);
    assert_eq!(config.sessions.idle_timeout_seconds, 3600);
    assert_eq!(config.passwords.min_length, 10);
    assert_eq!(config.passwords.argon2_memory_kib, 19456);
    assert_eq!(config.email.from, "no-reply@login.nordlicht.example");
    assert!(config.email.smtp.is_none());
    assert!(!config.mfa.totp, "no MfaPolicy, no factors");
    assert_eq!(config.theme.tokens["font-size"], "15px");
    assert_eq!(
        config.theme.strings["de"]["signIn.title"],
        "Willkommen zurück bei Nordlicht"
    );
}

#[test]
fn compile_reports_every_problem_in_one_pass() {
    let mut resources = load("quickstart");
    let v = &mut resources.vestibules[0].spec;
    v.issuer = "ftp://auth.example.com".into();
    v.sessions.idle_timeout = "48h".into();
    v.theme_ref = Some(vestibule::resources::common::ObjectRef {
        name: "nope".into(),
    });
    resources.applications[0].spec.redirect_uris = vec!["http://evil.example.com/cb".into()];
    resources.providers[0].spec.client_secret_ref.key = "wrong".into();
    let (bundles, _) = resources.bundles();
    let diagnostics = compile(&bundles[0]).expect_err("broken");
    let paths: Vec<&str> = diagnostics.iter().map(|d| d.path.as_str()).collect();
    for expected in [
        "spec.issuer",
        "spec.sessions.idleTimeout",
        "spec.themeRef.name",
        "spec.redirectUris[0]",
        "spec.clientSecretRef.key",
    ] {
        assert!(
            paths.contains(&expected),
            "missing {expected} in {diagnostics:#?}"
        );
    }
}
