//! `compile`: a bundle of resources in, a `RuntimeConfig` or every problem found out.
//!
//! Pure and deterministic: no I/O, inputs sorted before use, maps ordered, so the same resources
//! in any order give byte-identical output and the same hash.

use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;

use super::bundle::{Bundle, id_of, namespace_of};
use super::diagnostic::{Diagnostic, ResourceId};
use super::runtime::{
    self, ApplicationConfig, DatabaseConfig, EmailConfig, MfaConfig, OrganizationConfig,
    OrganizationsConfig, PasswordConfig, ProviderConfig, RuntimeConfig, SecretSource, SecretValue,
    SessionConfig, SignUpConfig, SigningKeysConfig, SmtpConfig, ThemeConfig, VestibuleId,
};
use super::{theme, uri};
use crate::resources::application::{ApplicationType, GrantType};
use crate::resources::common::{SecretKeyRef, parse_duration_ms};
use crate::resources::mfa_policy::MfaEnforcement;
use crate::resources::oauth_provider::ProviderType;
use crate::resources::{Application, MfaPolicy, OAuthProvider, Organization, Theme};

/// The public Pwned Passwords range API.
pub const DEFAULT_BREACH_CHECK_URL: &str = "https://api.pwnedpasswords.com";

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

/// Names of the roles an organization has when it declares none.
const DEFAULT_ROLES: &[&str] = &["admin", "member"];

struct Compiler<'a> {
    bundle: &'a Bundle,
    id: ResourceId,
    themes: BTreeMap<String, &'a Theme>,
    policies: BTreeMap<String, &'a MfaPolicy>,
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

    fn error(&mut self, id: &ResourceId, path: impl Into<String>, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic::new(id, path, message));
    }

    /// Reports a reference to a missing Secret or Secret key.
    fn check_secret_key(&mut self, id: &ResourceId, path: &str, reference: &SecretKeyRef) {
        match self.bundle.secrets.get(&reference.name) {
            None => self.error(
                id,
                format!("{path}.name"),
                format!("Secret \"{}\" not found", reference.name),
            ),
            Some(keys) if !keys.contains(&reference.key) => self.error(
                id,
                format!("{path}.key"),
                format!(
                    "Secret \"{}\" has no key \"{}\"",
                    reference.name, reference.key
                ),
            ),
            Some(_) => {}
        }
    }

    /// Checks a referenced Secret key and records that the region's Secret gets it as `region_key`.
    fn secret(
        &mut self,
        id: &ResourceId,
        path: &str,
        reference: &SecretKeyRef,
        region_key: String,
    ) -> SecretValue {
        self.check_secret_key(id, path, reference);
        self.secrets.insert(
            region_key.clone(),
            SecretSource {
                name: reference.name.clone(),
                key: reference.key.clone(),
            },
        );
        SecretValue {
            secret_key: region_key,
        }
    }

    fn duration_seconds(&mut self, id: &ResourceId, path: &str, text: &str) -> u64 {
        match parse_duration_ms(text) {
            Some(ms) => ms / 1000,
            None => {
                self.error(
                    id,
                    path,
                    format!("{text:?} is not a duration such as 30m, 24h or 1h30m"),
                );
                0
            }
        }
    }

    fn run(&mut self) -> RuntimeConfig {
        let bundle = self.bundle;
        let id = self.id.clone();
        let spec = &bundle.vestibule.spec;

        if let Err(e) = uri::check_issuer(&spec.issuer) {
            self.error(&id, "spec.issuer", e);
        }
        let regions = self.regions();
        let database = self.database();
        let sessions = self.sessions();
        let sign_up = self.sign_up();
        let passwords = self.passwords();
        let email = self.email();
        let trusted_proxies = self.trusted_proxies();

        for t in &bundle.themes {
            theme::check(t, &mut self.diagnostics);
        }
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

        let rotation = self.duration_seconds(
            &id,
            "spec.signingKeys.rotationInterval",
            &spec.signing_keys.rotation_interval,
        );
        if spec.signing_keys.algorithm == crate::resources::vestibule::SigningAlgorithm::RS256 {
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

        RuntimeConfig {
            api_version: runtime::API_VERSION.into(),
            kind: runtime::KIND.into(),
            hash: String::new(),
            vestibule: VestibuleId {
                namespace: id.namespace.clone(),
                name: id.name.clone(),
            },
            issuer: spec.issuer.clone(),
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
            signing_keys: SigningKeysConfig {
                algorithm: spec.signing_keys.algorithm,
                rotation_interval_seconds: rotation,
            },
            secrets: std::mem::take(&mut self.secrets),
            trusted_proxies,
        }
    }

    fn regions(&mut self) -> Vec<String> {
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

    fn database(&mut self) -> DatabaseConfig {
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
                url: self.secret(
                    &id,
                    "spec.database.postgres.urlSecretRef",
                    &pg.url_secret_ref,
                    "database.url".into(),
                ),
                max_connections: u32::try_from(pg.max_connections.max(1)).unwrap_or(1),
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

    fn trusted_proxies(&mut self) -> Vec<String> {
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
            match given.parse::<super::cidr::Cidr>() {
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

    fn sessions(&mut self) -> SessionConfig {
        let id = self.id.clone();
        let s = &self.bundle.vestibule.spec.sessions;
        let lifetime = self.duration_seconds(&id, "spec.sessions.lifetime", &s.lifetime);
        let idle = self.duration_seconds(&id, "spec.sessions.idleTimeout", &s.idle_timeout);
        if parse_duration_ms(&s.lifetime).is_some() && lifetime < 60 {
            self.error(&id, "spec.sessions.lifetime", "must be at least 1m");
        }
        if idle > lifetime {
            self.error(
                &id,
                "spec.sessions.idleTimeout",
                format!(
                    "idle timeout {} is longer than the session lifetime {}",
                    s.idle_timeout, s.lifetime
                ),
            );
        }
        SessionConfig {
            lifetime_seconds: lifetime,
            idle_timeout_seconds: idle,
        }
    }

    fn sign_up(&mut self) -> SignUpConfig {
        let id = self.id.clone();
        let s = &self.bundle.vestibule.spec.sign_up;
        let mut domains = BTreeSet::new();
        for (i, domain) in s.allowed_domains.iter().enumerate() {
            if let Err(e) = uri::check_domain(domain) {
                self.error(&id, format!("spec.signUp.allowedDomains[{i}]"), e);
            }
            domains.insert(domain.to_ascii_lowercase());
        }
        SignUpConfig {
            mode: s.mode,
            allowed_domains: domains.into_iter().collect(),
            require_email_verification: s.require_email_verification,
        }
    }

    fn passwords(&mut self) -> PasswordConfig {
        let id = self.id.clone();
        let p = &self.bundle.vestibule.spec.passwords;
        if p.max_length < p.min_length {
            self.error(
                &id,
                "spec.passwords.maxLength",
                format!(
                    "maxLength {} is below minLength {}",
                    p.max_length, p.min_length
                ),
            );
        }
        // The argon2id floor (OWASP: m=19456 KiB, t=2) is a security bar, not a preference.
        let h = &p.hashing;
        if h.memory_kib < 19456 {
            self.error(
                &id,
                "spec.passwords.hashing.memoryKib",
                "must be at least 19456 (OWASP floor)",
            );
        }
        if h.iterations < 2 {
            self.error(
                &id,
                "spec.passwords.hashing.iterations",
                "must be at least 2 (OWASP floor)",
            );
        }
        let breach_check_url = p.breach_check.then(|| {
            p.breach_check_url
                .clone()
                .unwrap_or_else(|| DEFAULT_BREACH_CHECK_URL.to_owned())
        });
        if let Some(url) = &breach_check_url
            && let Err(e) = uri::check_endpoint(url)
        {
            self.error(&id, "spec.passwords.breachCheckUrl", e);
        }
        if p.min_length < 8 {
            self.error(
                &id,
                "spec.passwords.minLength",
                "must be at least 8 (NIST SP 800-63B)",
            );
        }
        let positive = |v: i32| u32::try_from(v.max(1)).unwrap_or(1);
        PasswordConfig {
            min_length: positive(p.min_length),
            max_length: positive(p.max_length),
            reject_common: p.reject_common,
            breach_check: p.breach_check,
            breach_check_url,
            argon2_memory_kib: positive(h.memory_kib),
            argon2_iterations: positive(h.iterations),
            argon2_parallelism: positive(h.parallelism),
        }
    }

    fn email(&mut self) -> EmailConfig {
        let id = self.id.clone();
        let spec = &self.bundle.vestibule.spec;
        let Some(email) = &spec.email else {
            let host = url::Url::parse(&spec.issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "localhost".into());
            return EmailConfig {
                from: format!("no-reply@{host}"),
                reply_to: None,
                smtp: None,
            };
        };
        if !looks_like_mailbox(&email.from) {
            self.error(
                &id,
                "spec.email.from",
                format!(
                    "{:?} is not an email address such as \"Acme <no-reply@acme.com>\"",
                    email.from
                ),
            );
        }
        if let Some(reply_to) = email.reply_to.as_deref().filter(|r| !looks_like_mailbox(r)) {
            self.error(
                &id,
                "spec.email.replyTo",
                format!("{reply_to:?} is not an email address"),
            );
        }
        let smtp = email.smtp.as_ref().map(|smtp| {
            let (username, password) = match &smtp.credentials_secret_ref {
                Some(creds) => {
                    let path = "spec.email.smtp.credentialsSecretRef";
                    let user_ref = SecretKeyRef {
                        name: creds.name.clone(),
                        key: creds.username_key.clone(),
                    };
                    let pass_ref = SecretKeyRef {
                        name: creds.name.clone(),
                        key: creds.password_key.clone(),
                    };
                    let user = self.secret_with_key_path(
                        &id,
                        path,
                        "usernameKey",
                        &user_ref,
                        "smtp.username",
                    );
                    let pass = self.secret_with_key_path(
                        &id,
                        path,
                        "passwordKey",
                        &pass_ref,
                        "smtp.password",
                    );
                    (Some(user), Some(pass))
                }
                None => (None, None),
            };
            SmtpConfig {
                host: smtp.host.clone(),
                port: u16::try_from(smtp.port).unwrap_or(587),
                tls: smtp.tls,
                username,
                password,
            }
        });
        EmailConfig {
            from: email.from.clone(),
            reply_to: email.reply_to.clone(),
            smtp,
        }
    }

    /// Like `secret`, for a reference whose key field is not called `key`.
    fn secret_with_key_path(
        &mut self,
        id: &ResourceId,
        path: &str,
        key_field: &str,
        reference: &SecretKeyRef,
        region_key: &str,
    ) -> SecretValue {
        let before = self.diagnostics.len();
        let value = self.secret(id, path, reference, region_key.into());
        for d in &mut self.diagnostics[before..] {
            if d.path.ends_with(".key") {
                d.path = format!("{path}.{key_field}");
            }
        }
        value
    }

    fn theme_for(&mut self, name: Option<&str>, referrer: &ResourceId, path: &str) -> ThemeConfig {
        match name {
            None => theme::default_theme(),
            Some(name) => theme::resolve(name, &self.themes, referrer, path, &mut self.diagnostics)
                .unwrap_or_default(),
        }
    }

    fn mfa_for(&mut self, name: Option<&str>, referrer: &ResourceId, path: &str) -> MfaConfig {
        let Some(name) = name else {
            return MfaConfig::disabled();
        };
        let Some(policy) = self.policies.get(name).copied() else {
            self.error(referrer, path, format!("MfaPolicy \"{name}\" not found"));
            return MfaConfig::disabled();
        };
        let pid = id_of(policy);
        let s = &policy.spec;
        if s.enforcement == MfaEnforcement::RequiredForRoles && s.required_roles.is_empty() {
            self.error(
                &pid,
                "spec.requiredRoles",
                "enforcement requiredForRoles needs at least one role",
            );
        }
        if s.enforcement != MfaEnforcement::Optional
            && !s.factors.totp.enabled
            && !s.factors.webauthn.enabled
        {
            self.error(
                &pid,
                "spec.factors",
                "required MFA needs at least one of factors.totp or factors.webauthn enabled",
            );
        }
        let grace = self.duration_seconds(
            &pid,
            "spec.enrollmentGracePeriod",
            &s.enrollment_grace_period,
        );
        let remember = self.duration_seconds(
            &pid,
            "spec.rememberDevice.duration",
            &s.remember_device.duration,
        );
        let step_up = self.duration_seconds(&pid, "spec.stepUpMaxAge", &s.step_up_max_age);
        let mut required_roles = s.required_roles.clone();
        required_roles.sort();
        required_roles.dedup();
        MfaConfig {
            source: Some(policy.name_any()),
            totp: s.factors.totp.enabled,
            totp_issuer_label: s.factors.totp.issuer_label.clone(),
            webauthn: s.factors.webauthn.enabled,
            passwordless: s.factors.webauthn.enabled && s.factors.webauthn.passwordless,
            user_verification: s.factors.webauthn.user_verification,
            backup_codes: s.factors.backup_codes.enabled,
            backup_code_count: u32::try_from(s.factors.backup_codes.count).unwrap_or(10),
            enforcement: s.enforcement,
            required_roles,
            enrollment_grace_period_seconds: grace,
            remember_device: s.remember_device.enabled,
            remember_device_seconds: remember,
            step_up_max_age_seconds: step_up,
        }
    }

    fn providers(&mut self) -> Vec<ProviderConfig> {
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
            if s.provider_type == ProviderType::Oidc && s.issuer.is_none() {
                self.error(&pid, "spec.issuer", "type oidc requires issuer");
            }
            if let Some(issuer) = &s.issuer
                && let Err(e) = uri::check_issuer(issuer)
            {
                self.error(&pid, "spec.issuer", e);
            }
            if s.tenant.is_some() && s.provider_type != ProviderType::Microsoft {
                self.error(&pid, "spec.tenant", "tenant applies only to type microsoft");
            }
            let endpoints = s.endpoints.clone().unwrap_or_default();
            if s.provider_type == ProviderType::Oauth2 {
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
            ] {
                if let Some(Err(e)) = value.as_deref().map(uri::check_endpoint) {
                    self.error(&pid, format!("spec.endpoints.{field}"), e);
                }
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
            let github = s.provider_type == ProviderType::Github;
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
                provider_type: s.provider_type,
                display_name: s
                    .display_name
                    .clone()
                    .unwrap_or_else(|| default_display_name(s.provider_type).to_owned()),
                client_id: s.client_id.clone(),
                client_secret,
                scopes,
                issuer: s.issuer.clone(),
                authorization_endpoint: endpoints.authorization,
                token_endpoint: endpoints.token,
                userinfo_endpoint: endpoints.userinfo,
                jwks_uri: endpoints.jwks,
                allowed_domains: domains.into_iter().collect(),
                claims,
                extra_claims: mapping.extra,
                allow_sign_up: s.allow_sign_up,
            });
        }
        out.sort_by(|a, b| a.slug.cmp(&b.slug));
        out
    }

    fn organizations(
        &mut self,
        providers: &[ProviderConfig],
        vestibule_theme: &ThemeConfig,
        vestibule_mfa: &MfaConfig,
    ) -> OrganizationsConfig {
        let settings = self.bundle.vestibule.spec.organizations.clone();
        let mut sorted: Vec<&Organization> = self.bundle.organizations.iter().collect();
        sorted.sort_by_key(|o| o.name_any());
        let provider_slugs: BTreeSet<&str> = providers.iter().map(|p| p.slug.as_str()).collect();
        let mut slugs: BTreeMap<String, String> = BTreeMap::new();
        let mut domain_owners: BTreeMap<String, String> = BTreeMap::new();
        let mut declared = Vec::new();
        for org in sorted {
            let oid = id_of(org);
            let s = &org.spec;
            if !settings.enabled {
                self.error(
                    &oid,
                    "spec.vestibuleRef.name",
                    format!(
                        "Vestibule \"{}\" does not enable organizations (set spec.organizations.enabled: true)",
                        s.vestibule_ref.name
                    ),
                );
            }
            if !is_dns_label(&s.slug) {
                self.error(
                    &oid,
                    "spec.slug",
                    format!(
                        "{:?} is not a DNS label (lower-case letters, digits and '-', at most 63)",
                        s.slug
                    ),
                );
            }
            if let Some(other) = slugs.insert(s.slug.clone(), org.name_any()) {
                self.error(
                    &oid,
                    "spec.slug",
                    format!(
                        "slug \"{}\" is already used by Organization/{other}",
                        s.slug
                    ),
                );
            }
            let mut domains = BTreeMap::new();
            for (i, d) in s.domains.iter().enumerate() {
                let path = format!("spec.domains[{i}].domain");
                if let Err(e) = uri::check_domain(&d.domain) {
                    self.error(&oid, &path, e);
                }
                let domain = d.domain.to_ascii_lowercase();
                if let Some(owner) = domain_owners.get(&domain).filter(|o| **o != org.name_any()) {
                    self.error(
                        &oid,
                        &path,
                        format!("domain \"{domain}\" is already claimed by Organization/{owner}"),
                    );
                } else if domains.insert(domain.clone(), d.enrollment).is_some() {
                    self.error(&oid, &path, format!("domain \"{domain}\" is listed twice"));
                }
                domain_owners.insert(domain, org.name_any());
            }
            let mut roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (i, role) in s.roles.iter().enumerate() {
                let mut permissions = role.permissions.clone();
                permissions.sort();
                permissions.dedup();
                if roles.insert(role.name.clone(), permissions).is_some() {
                    self.error(
                        &oid,
                        format!("spec.roles[{i}].name"),
                        format!("role \"{}\" is defined twice", role.name),
                    );
                }
            }
            if roles.is_empty() {
                roles = DEFAULT_ROLES
                    .iter()
                    .map(|r| (r.to_string(), Vec::new()))
                    .collect();
            }
            for (field, role) in [
                ("creatorRole", &settings.creator_role),
                ("defaultRole", &settings.default_role),
            ] {
                if settings.enabled && !roles.contains_key(role) {
                    self.error(
                        &oid,
                        "spec.roles",
                        format!("has no role \"{role}\", which the Vestibule's spec.organizations.{field} needs"),
                    );
                }
            }
            let mut members = BTreeMap::new();
            for (i, m) in s.members.iter().enumerate() {
                if !looks_like_mailbox(&m.email) || m.email.contains('<') {
                    self.error(
                        &oid,
                        format!("spec.members[{i}].email"),
                        format!("{:?} is not an email address", m.email),
                    );
                }
                if !roles.contains_key(&m.role) {
                    let known: Vec<&str> = roles.keys().map(String::as_str).collect();
                    self.error(
                        &oid,
                        format!("spec.members[{i}].role"),
                        format!(
                            "role \"{}\" is not defined; roles: {}",
                            m.role,
                            known.join(", ")
                        ),
                    );
                }
                if members
                    .insert(m.email.to_ascii_lowercase(), m.role.clone())
                    .is_some()
                {
                    self.error(
                        &oid,
                        format!("spec.members[{i}].email"),
                        format!("{} is listed twice", m.email),
                    );
                }
            }
            for (i, slug) in s.allowed_providers.iter().enumerate() {
                if !provider_slugs.contains(slug.as_str()) {
                    self.error(
                        &oid,
                        format!("spec.allowedProviders[{i}]"),
                        format!("no enabled OAuthProvider with slug \"{slug}\" belongs to this Vestibule"),
                    );
                }
            }
            let theme = s
                .theme_ref
                .as_ref()
                .map(|r| self.theme_for(Some(&r.name), &oid, "spec.themeRef.name"))
                .filter(|t| t != vestibule_theme);
            let mfa = s
                .mfa_policy_ref
                .as_ref()
                .map(|r| self.mfa_for(Some(&r.name), &oid, "spec.mfaPolicyRef.name"))
                .filter(|m| m != vestibule_mfa);
            let mut allowed_providers = s.allowed_providers.clone();
            allowed_providers.sort();
            allowed_providers.dedup();
            declared.push(OrganizationConfig {
                slug: s.slug.clone(),
                display_name: s.display_name.clone(),
                domains,
                roles,
                members,
                theme,
                mfa,
                allowed_providers,
            });
        }
        declared.sort_by(|a, b| a.slug.cmp(&b.slug));
        OrganizationsConfig {
            enabled: settings.enabled,
            allow_user_created: settings.allow_user_created,
            creator_role: settings.creator_role,
            default_role: settings.default_role,
            declared,
        }
    }

    fn applications(&mut self) -> Vec<ApplicationConfig> {
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

            let confidential = matches!(kind, ApplicationType::Web | ApplicationType::M2m);
            match kind {
                ApplicationType::M2m => {
                    if !s.redirect_uris.is_empty() {
                        self.error(
                            &aid,
                            "spec.redirectUris",
                            "m2m applications have no redirect URIs",
                        );
                    }
                    if s.grant_types
                        .iter()
                        .any(|g| *g != GrantType::ClientCredentials)
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
                    if !confidential && s.grant_types.contains(&GrantType::ClientCredentials) {
                        self.error(
                            &aid,
                            "spec.grantTypes",
                            "public clients (spa, native) cannot use client_credentials",
                        );
                    }
                    if !s.scopes.iter().any(|sc| sc == "openid") {
                        self.error(&aid, "spec.scopes", "must include openid");
                    }
                }
            }
            if !s.allowed_origins.is_empty() && kind != ApplicationType::Spa {
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
            let mut grant_types = s.grant_types.clone();
            grant_types.sort();
            grant_types.dedup();
            out.push(ApplicationConfig {
                client_id: s.client_id.clone(),
                application_type: kind,
                display_name: s.display_name.clone().unwrap_or_else(|| app.name_any()),
                confidential,
                client_secret_hash: confidential.then(|| SecretValue {
                    secret_key: format!("application.{}.client-secret-hash", s.client_id),
                }),
                redirect_uris: s.redirect_uris.clone(),
                post_logout_redirect_uris: s.post_logout_redirect_uris.clone(),
                allowed_origins: s.allowed_origins.clone(),
                scopes,
                grant_types,
                access_token_seconds: access,
                id_token_seconds: id_token,
                refresh_token_seconds: refresh,
                require_consent: s.require_consent,
            });
        }
        out.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        out
    }
}

fn default_scopes(provider: ProviderType) -> Vec<String> {
    let scopes: &[&str] = match provider {
        ProviderType::Github => &["read:user", "user:email"],
        ProviderType::Apple => &["openid", "name", "email"],
        ProviderType::Oauth2 => &[],
        _ => &["openid", "profile", "email"],
    };
    scopes.iter().map(|s| s.to_string()).collect()
}

fn default_display_name(provider: ProviderType) -> &'static str {
    match provider {
        ProviderType::Google => "Google",
        ProviderType::Github => "GitHub",
        ProviderType::Microsoft => "Microsoft",
        ProviderType::Gitlab => "GitLab",
        ProviderType::Apple => "Apple",
        ProviderType::Oidc | ProviderType::Oauth2 => "Single sign-on",
    }
}

fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && !text.starts_with('-')
        && !text.ends_with('-')
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `user@host` or `Name <user@host>`: enough to catch a missing or swapped field. Delivery
/// checks the rest.
fn looks_like_mailbox(text: &str) -> bool {
    let address = match (text.find('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close && close == text.len() - 1 => {
            &text[open + 1..close]
        }
        (None, None) => text,
        _ => return false,
    };
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !address.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}
