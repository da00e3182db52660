//! `compile`: a bundle of resources in, a `RuntimeConfig` or every problem found out.
//!
//! Pure and deterministic: no I/O, inputs sorted before use, maps ordered, so the same resources
//! in any order give byte-identical output and the same hash.
//!
//! One `Compiler` walks the bundle. Each part of the config has its own module, with its rules
//! and their tests: `vestibule` (issuer, regions, database, network, signing keys), `accounts`
//! (sessions, sign-up, passwords, email), `theme`, `mfa`, `providers`, `organizations` and
//! `applications`; `checks` holds what several of them share. Every part reports into the one
//! diagnostic list, sorted at the end, so the order the parts run in never shows.

use std::collections::BTreeMap;

use kube::ResourceExt;

use super::bundle::{Bundle, id_of};
use super::diagnostic::{Diagnostic, ResourceId};
use super::runtime::{self, RuntimeConfig, SecretSource, VestibuleId};
use crate::resources::{MfaPolicy, Theme};

mod accounts;
mod applications;
mod checks;
mod mfa;
mod organizations;
mod providers;
mod theme;
mod vestibule;

#[cfg(test)]
mod test_support;

/// The runtime config of the smallest valid Vestibule, for tests elsewhere that change a part of it.
#[cfg(test)]
pub(crate) use test_support::minimal_runtime_config;

pub use accounts::DEFAULT_BREACH_CHECK_URL;
pub(crate) use checks::is_dns_label;
pub use theme::{FONT_HOSTS, TokenDoc, contrast_warnings, font_files_origin, token_reference};

/// Compiles one Vestibule's bundle into its runtime config, or returns every problem found.
pub fn compile(bundle: &Bundle) -> Result<RuntimeConfig, Vec<Diagnostic>> {
    let mut compiler = Compiler::new(bundle);
    let config = compiler.run();
    if compiler.diagnostics.is_empty() {
        Ok(config.seal())
    } else {
        let mut diagnostics = compiler.diagnostics;
        diagnostics.sort();
        diagnostics.dedup();
        Err(diagnostics)
    }
}

/// State shared by the parts of one compilation.
struct Compiler<'a> {
    bundle: &'a Bundle,
    /// The Vestibule's id, for diagnostics on the Vestibule itself.
    id: ResourceId,
    themes: BTreeMap<String, &'a Theme>,
    policies: BTreeMap<String, &'a MfaPolicy>,
    /// Keys of the region's Secret gathered so far, with where each is copied from.
    secrets: BTreeMap<String, SecretSource>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Compiler<'a> {
    fn new(bundle: &'a Bundle) -> Self {
        Self {
            bundle,
            id: id_of(&bundle.vestibule),
            themes: bundle.themes.iter().map(|t| (t.name_any(), t)).collect(),
            policies: bundle
                .mfa_policies
                .iter()
                .map(|m| (m.name_any(), m))
                .collect(),
            secrets: BTreeMap::new(),
            diagnostics: Vec::new(),
        }
    }

    fn run(&mut self) -> RuntimeConfig {
        let id = self.id.clone();
        let spec = &self.bundle.vestibule.spec;

        let issuer = self.issuer();
        let regions = self.regions();
        let database = self.database();
        let sessions = self.sessions();
        let sign_up = self.sign_up();
        let passwords = self.passwords();
        let email = self.email();
        let trusted_proxies = self.trusted_proxies();

        self.check_themes();
        let theme = self.theme_for(
            spec.theme_ref.as_ref().map(|r| r.name.as_str()),
            &id,
            "spec.themeRef.name",
        );
        let mfa = self.mfa_for(
            spec.mfa_policy_ref.as_ref().map(|r| r.name.as_str()),
            &id,
            "spec.mfaPolicyRef.name",
        );
        let providers = self.providers();
        let organizations = self.organizations(&providers, &theme, &mfa);
        let applications = self.applications();
        let signing_keys = self.signing_keys();

        RuntimeConfig {
            api_version: runtime::API_VERSION.into(),
            kind: runtime::KIND.into(),
            hash: String::new(),
            vestibule: VestibuleId {
                namespace: id.namespace,
                name: id.name,
            },
            issuer,
            regions,
            database,
            sessions,
            sign_up,
            passwords,
            email,
            theme,
            mfa,
            providers,
            organizations,
            applications,
            signing_keys,
            secrets: std::mem::take(&mut self.secrets),
            trusted_proxies,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{
        SPEC, application, bundle, has_diagnostic, provider, vestibule, with_base,
    };
    use super::*;

    #[test]
    fn a_valid_bundle_compiles_to_a_sealed_config() {
        let config = compile(&with_base(&[])).unwrap_or_else(|d| panic!("{d:#?}"));
        assert_eq!(config.api_version, runtime::API_VERSION);
        assert_eq!(config.kind, runtime::KIND);
        assert_eq!(
            config.vestibule,
            VestibuleId {
                namespace: "default".into(),
                name: "test".into()
            }
        );
        assert_eq!(config.issuer, "https://auth.example.com");
        assert!(config.hash_is_valid(), "the hash is set from the content");
    }

    #[test]
    fn a_config_over_a_config_maps_limit_says_so_with_its_size() {
        let mut config = compile(&with_base(&[])).unwrap_or_else(|d| panic!("{d:#?}"));
        assert_eq!(config.config_map_overflow(), None);
        // Theme CSS counts like anything else the region's ConfigMap carries.
        config.theme.css = vec!["a".repeat(1100 * 1024)];
        let reason = config.config_map_overflow().expect("too large");
        let kib: usize = reason
            .strip_prefix("the compiled config is ")
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{reason}"));
        // The CSS plus the rest of the config, pretty-printed as the ConfigMap carries it.
        assert!((1100..1110).contains(&kib), "{reason}");
        assert!(
            reason.contains(
                "KiB without its declared Organizations, over the 1 MiB a ConfigMap holds"
            ),
            "{reason}"
        );
    }

    #[test]
    fn every_part_reports_into_one_sorted_list_without_duplicates() {
        // Two applications with the same bad redirect URI: one diagnostic each, not merged.
        let text = [
            vestibule(&format!("{SPEC}sessions: {{idleTimeout: 48h}}")),
            provider(
                "gh",
                "type: github\nclientId: x\nclientSecretRef: {name: missing, key: k}",
            ),
            application("b", "type: spa\nclientId: b-app\nredirectUris: [ftp://x]"),
            application("a", "type: spa\nclientId: a-app\nredirectUris: [ftp://x]"),
        ]
        .join("\n---\n");
        let diagnostics = compile(&bundle(&text)).expect_err("broken");
        let mut sorted = diagnostics.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(diagnostics, sorted, "sorted and deduplicated");
        has_diagnostic(
            &diagnostics,
            ("Vestibule", "test"),
            "spec.sessions.idleTimeout",
            "longer than the session lifetime",
        );
        has_diagnostic(
            &diagnostics,
            ("OAuthProvider", "gh"),
            "spec.clientSecretRef.name",
            "Secret \"missing\" not found",
        );
        for app in ["a", "b"] {
            has_diagnostic(
                &diagnostics,
                ("Application", app),
                "spec.redirectUris[0]",
                "must be an https URL",
            );
        }
    }
}
