//! The Vestibule's deployment settings: issuer, regions, database, network and signing keys.

use std::collections::BTreeMap;

use super::Compiler;
use crate::config::bundle::namespace_of;
use crate::config::cidr::Cidr;
use crate::config::runtime::{DatabaseConfig, SigningAlgorithm, SigningKeysConfig};
use crate::config::uri;
use crate::resources::vestibule as resource;

impl From<resource::SigningAlgorithm> for SigningAlgorithm {
    fn from(algorithm: resource::SigningAlgorithm) -> Self {
        match algorithm {
            resource::SigningAlgorithm::ES256 => Self::ES256,
            resource::SigningAlgorithm::RS256 => Self::RS256,
            resource::SigningAlgorithm::EdDSA => Self::EdDSA,
        }
    }
}

impl Compiler<'_> {
    pub(super) fn issuer(&mut self) -> String {
        let id = self.id.clone();
        let issuer = &self.bundle.vestibule.spec.issuer;
        if let Err(e) = uri::check_issuer(issuer) {
            self.error(&id, "spec.issuer", e);
        }
        issuer.clone()
    }

    pub(super) fn regions(&mut self) -> Vec<String> {
        let id = self.id.clone();
        let spec = &self.bundle.vestibule.spec;
        let home_namespace = namespace_of(&self.bundle.vestibule);
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let mut targets: BTreeMap<(Option<String>, String), usize> = BTreeMap::new();
        for (i, region) in spec.regions.iter().enumerate() {
            let path = format!("spec.regions[{i}]");
            if let Some(first) = names.insert(&region.name, i) {
                self.error(
                    &id,
                    format!("{path}.name"),
                    format!(
                        "region name \"{}\" is already used by spec.regions[{first}]",
                        region.name
                    ),
                );
            }
            if region.replicas < 1 {
                self.error(&id, format!("{path}.replicas"), "must be at least 1");
            }
            let cluster = region
                .kubeconfig_secret_ref
                .as_ref()
                .map(|r| format!("{}/{}", r.name, r.key));
            let namespace = region
                .namespace
                .clone()
                .unwrap_or_else(|| home_namespace.clone());
            if let Some(first) = targets.insert((cluster, namespace.clone()), i) {
                self.error(
                    &id,
                    format!("{path}.namespace"),
                    format!(
                        "deploys to namespace \"{namespace}\" of the same cluster as spec.regions[{first}]; give each region its own namespace or cluster"
                    ),
                );
            }
            if let Some(kubeconfig) = &region.kubeconfig_secret_ref {
                // Kubeconfigs stay with the operator: checked, never copied to a region.
                self.check_secret_key(&id, &format!("{path}.kubeconfigSecretRef"), kubeconfig);
            }
            if region.ingress.is_some() && region.hostname.is_none() {
                self.error(
                    &id,
                    format!("{path}.hostname"),
                    "an ingress needs a hostname",
                );
            }
        }
        spec.regions.iter().map(|r| r.name.clone()).collect()
    }

    pub(super) fn database(&mut self) -> DatabaseConfig {
        let id = self.id.clone();
        let spec = &self.bundle.vestibule.spec;
        match (&spec.database.sqlite, &spec.database.postgres) {
            (Some(_), None) => {
                let replicas: i32 = spec.regions.iter().map(|r| r.replicas).sum();
                if spec.regions.len() > 1 || replicas > 1 {
                    self.error(
                        &id,
                        "spec.database.sqlite",
                        format!(
                            "SQLite allows exactly one region with at most one replica (found {} regions, {replicas} replicas); use PostgreSQL for more",
                            spec.regions.len()
                        ),
                    );
                }
                DatabaseConfig::Sqlite {}
            }
            (None, Some(pg)) => DatabaseConfig::Postgres {
                max_connections: match u32::try_from(pg.max_connections) {
                    Ok(n @ 2..=200) => n,
                    _ => {
                        self.error(
                            &id,
                            "spec.database.postgres.maxConnections",
                            format!(
                                "must be between 2 and 200 (found {}): one connection is kept by the writer that commits refresh-token rotations",
                                pg.max_connections
                            ),
                        );
                        2
                    }
                },
                url: self.secret(
                    &id,
                    "spec.database.postgres.urlSecretRef",
                    &pg.url_secret_ref,
                    "database.url".into(),
                ),
            },
            _ => {
                self.error(
                    &id,
                    "spec.database",
                    "set exactly one of sqlite or postgres",
                );
                DatabaseConfig::Sqlite {}
            }
        }
    }

    pub(super) fn trusted_proxies(&mut self) -> Vec<String> {
        let id = self.id.clone();
        let mut ranges = Vec::new();
        for (i, given) in self
            .bundle
            .vestibule
            .spec
            .network
            .trusted_proxies
            .iter()
            .enumerate()
        {
            match given.parse::<Cidr>() {
                Ok(range) => ranges.push(range.to_string()),
                Err(e) => self.error(
                    &id,
                    format!("spec.network.trustedProxies[{i}]"),
                    e.to_string(),
                ),
            }
        }
        ranges
    }

    pub(super) fn signing_keys(&mut self) -> SigningKeysConfig {
        let id = self.id.clone();
        let keys = &self.bundle.vestibule.spec.signing_keys;
        let rotation = self.duration_seconds(
            &id,
            "spec.signingKeys.rotationInterval",
            &keys.rotation_interval,
        );
        if keys.algorithm == resource::SigningAlgorithm::RS256 {
            self.error(
                &id,
                "spec.signingKeys.algorithm",
                "RS256 keys are not available in this version; use ES256 (default) or EdDSA",
            );
        }
        if rotation > 0 && rotation < 3600 {
            self.error(
                &id,
                "spec.signingKeys.rotationInterval",
                "must be at least 1h",
            );
        }
        SigningKeysConfig {
            algorithm: keys.algorithm.into(),
            rotation_interval_seconds: rotation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        bundle, has_diagnostic, maps_to_same_json, run_part, secret, vestibule, with_spec,
    };
    use super::*;

    const V: (&str, &str) = ("Vestibule", "test");

    #[test]
    fn defaults_fill_a_minimal_vestibule() {
        let b = with_spec("", &[]);
        let ((database, signing), diagnostics) = run_part(&b, |c| (c.database(), c.signing_keys()));
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert_eq!(database, DatabaseConfig::Sqlite {});
        assert_eq!(signing.algorithm, SigningAlgorithm::ES256);
        assert_eq!(signing.rotation_interval_seconds, 720 * 3600);
    }

    #[test]
    fn issuer_must_be_https() {
        let b = bundle(&vestibule(
            "issuer: http://auth.example.com\nregions: [{name: a}]",
        ));
        let (_, diagnostics) = run_part(&b, |c| c.issuer());
        has_diagnostic(&diagnostics, V, "spec.issuer", "must use https");
    }

    #[test]
    fn regions_need_unique_names_and_targets() {
        let b = bundle(&vestibule(
            "issuer: https://auth.example.com
regions:
  - name: eu
  - name: eu
    namespace: other
    replicas: 0
  - name: us
    namespace: other
    ingress: {}
  - name: ap
    kubeconfigSecretRef: {name: clusters, key: ap}",
        ));
        let ((names, secrets), diagnostics) = run_part(&b, |c| (c.regions(), c.secrets.clone()));
        assert_eq!(names, ["eu", "eu", "us", "ap"], "in spec order");
        has_diagnostic(
            &diagnostics,
            V,
            "spec.regions[1].name",
            "already used by spec.regions[0]",
        );
        has_diagnostic(&diagnostics, V, "spec.regions[1].replicas", "at least 1");
        has_diagnostic(
            &diagnostics,
            V,
            "spec.regions[2].namespace",
            "same cluster as spec.regions[1]",
        );
        has_diagnostic(
            &diagnostics,
            V,
            "spec.regions[2].hostname",
            "an ingress needs a hostname",
        );
        has_diagnostic(
            &diagnostics,
            V,
            "spec.regions[3].kubeconfigSecretRef.name",
            "Secret \"clusters\" not found",
        );
        assert_eq!(diagnostics.len(), 5, "{diagnostics:#?}");
        assert!(
            secrets.is_empty(),
            "kubeconfigs are never copied to a region"
        );
    }

    #[test]
    fn database_is_one_engine_and_sqlite_serves_one_replica() {
        let postgres = "database:\n  postgres:\n    urlSecretRef: {name: db, key: url}";
        let b = with_spec(postgres, &[&secret("db", &["url"])]);
        let ((database, secrets), diagnostics) =
            run_part(&b, |c| (c.database(), c.secrets.clone()));
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        let DatabaseConfig::Postgres {
            url,
            max_connections,
        } = database
        else {
            panic!("{database:?}");
        };
        assert_eq!(
            (url.secret_key.as_str(), max_connections),
            ("database.url", 10)
        );
        assert_eq!(secrets["database.url"].name, "db");

        let both = "database:\n  sqlite: {}\n  postgres: {urlSecretRef: {name: db, key: url}}";
        let b = with_spec(both, &[&secret("db", &["url"])]);
        let (_, diagnostics) = run_part(&b, |c| c.database());
        has_diagnostic(
            &diagnostics,
            V,
            "spec.database",
            "exactly one of sqlite or postgres",
        );

        // The rotation writer keeps one connection: a pool of one would leave none.
        let one =
            "database:\n  postgres:\n    urlSecretRef: {name: db, key: url}\n    maxConnections: 1";
        let b = with_spec(one, &[&secret("db", &["url"])]);
        let (_, diagnostics) = run_part(&b, |c| c.database());
        has_diagnostic(
            &diagnostics,
            V,
            "spec.database.postgres.maxConnections",
            "must be between 2 and 200 (found 1)",
        );

        let b = bundle(&vestibule(
            "issuer: https://auth.example.com\nregions: [{name: a, replicas: 2}]",
        ));
        let (_, diagnostics) = run_part(&b, |c| c.database());
        has_diagnostic(
            &diagnostics,
            V,
            "spec.database.sqlite",
            "1 regions, 2 replicas",
        );
    }

    #[test]
    fn trusted_proxies_are_checked_cidrs() {
        let b = with_spec(
            "network:\n  trustedProxies: [10.0.0.0/8, 10.1.0.0/8, 192.0.2.7]",
            &[],
        );
        let (ranges, diagnostics) = run_part(&b, |c| c.trusted_proxies());
        assert_eq!(ranges, ["10.0.0.0/8", "192.0.2.7/32"]);
        has_diagnostic(
            &diagnostics,
            V,
            "spec.network.trustedProxies[1]",
            "host bits set",
        );
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    }

    #[test]
    fn signing_keys_refuse_rs256_and_fast_rotation() {
        let b = with_spec(
            "signingKeys: {algorithm: RS256, rotationInterval: 30m}",
            &[],
        );
        let (_, diagnostics) = run_part(&b, |c| c.signing_keys());
        has_diagnostic(
            &diagnostics,
            V,
            "spec.signingKeys.algorithm",
            "RS256 keys are not available",
        );
        has_diagnostic(
            &diagnostics,
            V,
            "spec.signingKeys.rotationInterval",
            "at least 1h",
        );

        let b = with_spec(
            "signingKeys: {algorithm: EdDSA, rotationInterval: 24h}",
            &[],
        );
        let (keys, diagnostics) = run_part(&b, |c| c.signing_keys());
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        assert_eq!(
            (keys.algorithm, keys.rotation_interval_seconds),
            (SigningAlgorithm::EdDSA, 86400)
        );
    }

    #[test]
    fn enums_keep_their_json() {
        use resource::SigningAlgorithm as A;
        maps_to_same_json::<_, SigningAlgorithm>(&[A::ES256, A::RS256, A::EdDSA]);
    }
}
