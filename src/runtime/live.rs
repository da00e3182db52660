//! The config the server is running with, swapped atomically when a new one has been validated.
//!
//! A request loads one `Arc<Active>` and uses it throughout, so a swap never mixes two configs
//! inside one request. A config that fails to activate is recorded and the previous one stays.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};
use url::Url;

use crate::config::RuntimeConfig;
use crate::config::runtime::{API_VERSION, KIND};
use crate::email::{EmailError, Mailer, Outbox, SmtpCredentials};

/// Secret values by key of the region's Secret. Debug never prints a value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretValues(BTreeMap<String, String>);

impl SecretValues {
    /// Secret values from key → value pairs.
    pub fn new(values: BTreeMap<String, String>) -> Self {
        Self(values)
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// These values with `key` set to `value`.
    #[must_use]
    pub fn with(mut self, key: &str, value: String) -> Self {
        self.0.insert(key.to_owned(), value);
        self
    }
}

impl fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// Why a config cannot be activated.
#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    /// Wrong document type or version.
    #[error("unsupported config {api_version}/{kind}; this server reads {API_VERSION}/{KIND}")]
    Version {
        /// What the document said.
        api_version: String,
        /// What the document said.
        kind: String,
    },
    /// The content does not match its hash (truncated or edited).
    #[error("config hash {0} does not match its content")]
    Hash(String),
    /// The issuer is not a URL.
    #[error("issuer {0:?} is not a URL")]
    Issuer(String),
    /// A referenced key is missing from the region's Secret.
    #[error("secret key {0:?} is missing")]
    MissingSecret(String),
    /// Email cannot be set up.
    #[error(transparent)]
    Email(#[from] EmailError),
    /// A theme's template override does not pass its checks (the compiler refuses it first;
    /// this guards a config written by something else).
    #[error("theme template {0}")]
    Template(String),
    /// A trusted proxy range does not parse.
    #[error("trustedProxies: {0}")]
    TrustedProxy(#[from] crate::config::cidr::CidrError),
    /// A provider's key in the region's Secret is unusable (Sign in with Apple's team key).
    #[error("OAuthProvider {slug}: {reason}")]
    ProviderKey {
        /// The provider's slug.
        slug: String,
        /// What is wrong (never the key).
        reason: String,
    },
    /// The signing key set in the region's Secret is damaged.
    #[error("signing keys (signing-keys.json): {0}")]
    Keys(#[from] crate::crypto::keys::KeyError),
    /// The issuer cannot be a WebAuthn relying party (passkeys need a domain name).
    #[error("passkeys: the issuer cannot be a WebAuthn relying party: {0}")]
    Webauthn(String),
    /// The MFA key in the region's Secret is unusable.
    #[error("MFA key (mfa-key): {0}")]
    MfaKey(#[from] crate::crypto::sealing::SealError),
}

/// A validated config and what is derived from it.
pub struct Active {
    /// The runtime config.
    pub config: RuntimeConfig,
    /// Secret values the config refers to.
    pub secrets: SecretValues,
    /// Sends mail per `config.email` (or into the dev outbox).
    pub mailer: Mailer,
    /// The issuer's origin (`https://auth.example.com`): the only origin forms may come from.
    pub origin: String,
    /// Origins a `redirect_url` may point to: the issuer's and every application's.
    pub redirect_origins: Vec<String>,
    /// The pages' Content-Security-Policy. Its `form-action` lists every Application's
    /// redirect and post-logout origins besides our own: browsers apply `form-action` to the
    /// redirects that follow a form post, and the OpenID flow ends with one (sign-in, consent
    /// or sign-out, then 303 to the client).
    pub content_security_policy: String,
    /// The Vestibule's theme, ready to render: stylesheet, templates, locales.
    pub look: super::look::Look,
    /// The declared Organizations' themes that differ from the Vestibule's, by slug.
    pub organization_looks: std::collections::BTreeMap<String, super::look::Look>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<crate::config::cidr::Cidr>,
    /// The token-signing keys (the operator ships them in the region's Secret; `dev` keeps
    /// them in its data directory). `None`: no key set was given, so nothing can be signed and
    /// the JWKS is empty.
    pub keys: Option<crate::crypto::keys::KeySet>,
    /// The MFA key that seals TOTP secrets and keys backup-code and remembered-device MACs
    /// (`mfa-key` in the region's Secret). Required as soon as any MFA policy offers a factor.
    pub mfa_key: Option<crate::crypto::sealing::MfaKey>,
    /// The WebAuthn relying party (id and origin from the issuer), when a policy offers passkeys.
    pub webauthn: Option<webauthn_rs::Webauthn>,
}

/// The origin (scheme://host[:port]) of a URL.
pub fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl Active {
    /// The product name shown in titles and emails: the issuer's host.
    pub fn product_name(&self) -> String {
        Url::parse(&self.config.issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| self.config.vestibule.name.clone())
    }

    /// Checks a config and builds what the server needs from it. `outbox` replaces SMTP in `dev`.
    pub fn build(
        config: RuntimeConfig,
        secrets: SecretValues,
        outbox: Option<Outbox>,
    ) -> Result<Self, ActivateError> {
        if config.api_version != API_VERSION || config.kind != KIND {
            return Err(ActivateError::Version {
                api_version: config.api_version,
                kind: config.kind,
            });
        }
        if !config.hash_is_valid() {
            return Err(ActivateError::Hash(config.hash));
        }
        let issuer =
            Url::parse(&config.issuer).map_err(|_| ActivateError::Issuer(config.issuer.clone()))?;
        for key in config.secrets.keys() {
            if secrets.get(key).is_none() {
                return Err(ActivateError::MissingSecret(key.clone()));
            }
        }
        for provider in config.providers.iter().filter(|p| p.apple.is_some()) {
            let key = secrets
                .get(&provider.client_secret.secret_key)
                .ok_or_else(|| {
                    ActivateError::MissingSecret(provider.client_secret.secret_key.clone())
                })?;
            crate::crypto::apple::parse_key(key).map_err(|e| ActivateError::ProviderKey {
                slug: provider.slug.clone(),
                reason: e.to_string(),
            })?;
        }
        let trusted_proxies = config
            .trusted_proxies
            .iter()
            .map(|range| range.parse())
            .collect::<Result<Vec<_>, _>>()?;
        let email = &config.email;
        let mailer = match (outbox, &email.smtp) {
            (Some(outbox), _) => Mailer::outbox(&email.from, email.reply_to.as_deref(), outbox)?,
            // Without SMTP (and outside dev) mail stays in an outbox nobody reads; compile
            // allows it so a pool can run before email is set up.
            (None, None) => {
                Mailer::outbox(&email.from, email.reply_to.as_deref(), Outbox::default())?
            }
            (None, Some(smtp)) => {
                let credentials = match (&smtp.username, &smtp.password) {
                    (Some(u), Some(p)) => {
                        let value = |key: &str| {
                            secrets
                                .get(key)
                                .map(str::to_owned)
                                .ok_or_else(|| ActivateError::MissingSecret(key.to_owned()))
                        };
                        Some(SmtpCredentials {
                            username: value(&u.secret_key)?,
                            password: value(&p.secret_key)?,
                        })
                    }
                    _ => None,
                };
                Mailer::smtp(email, credentials)?
            }
        };
        let origin = origin_of(&issuer);
        let mut redirect_origins = vec![origin.clone()];
        for app in &config.applications {
            for uri in app
                .redirect_uris
                .iter()
                .chain(&app.post_logout_redirect_uris)
            {
                if let Ok(url) = Url::parse(uri)
                    && matches!(url.scheme(), "http" | "https")
                {
                    redirect_origins.push(origin_of(&url));
                }
            }
        }
        redirect_origins.sort();
        redirect_origins.dedup();
        let look = super::look::Look::build(&config.theme).map_err(ActivateError::Template)?;
        let organization_looks =
            super::look::organization_looks(&config).map_err(ActivateError::Template)?;
        let fonts: Vec<&str> = std::iter::once(&look)
            .chain(organization_looks.values())
            .filter_map(|l| l.theme.font_url.as_deref())
            .collect();
        let content_security_policy =
            content_security_policy(&config.applications, &origin, &fonts);
        let keys = match secrets.get(crate::config::files::REGION_KEYS_FILE) {
            Some(json) => {
                let set = crate::crypto::keys::KeySet::from_json(json.as_bytes())?;
                set.validate()?;
                Some(set)
            }
            None => None,
        };
        let mfa_key = match secrets.get(crate::config::files::REGION_MFA_KEY_FILE) {
            Some(text) => Some(crate::crypto::sealing::MfaKey::from_encoded(text)?),
            None if mfa_in_use(&config) => {
                return Err(ActivateError::MissingSecret(
                    crate::config::files::REGION_MFA_KEY_FILE.to_owned(),
                ));
            }
            None => None,
        };
        let webauthn = if webauthn_in_use(&config) {
            Some(relying_party(&issuer, &config)?)
        } else {
            None
        };
        Ok(Self {
            keys,
            mfa_key,
            webauthn,
            config,
            secrets,
            mailer,
            origin,
            redirect_origins,
            content_security_policy,
            look,
            organization_looks,
            trusted_proxies,
        })
    }
}

/// Whether any MFA policy in the config (the Vestibule's or an organization's) offers a factor
/// whose secrets the MFA key protects.
fn mfa_in_use(config: &RuntimeConfig) -> bool {
    std::iter::once(&config.mfa)
        .chain(
            config
                .organizations
                .declared
                .iter()
                .filter_map(|o| o.mfa.as_ref()),
        )
        .any(|m| m.totp || m.backup_codes)
}

/// Whether any MFA policy in the config offers passkeys.
fn webauthn_in_use(config: &RuntimeConfig) -> bool {
    std::iter::once(&config.mfa)
        .chain(
            config
                .organizations
                .declared
                .iter()
                .filter_map(|o| o.mfa.as_ref()),
        )
        .any(|m| m.webauthn)
}

/// The WebAuthn relying party: the issuer's host as its id, the issuer's origin as the one origin
/// answers may come from.
fn relying_party(
    issuer: &Url,
    config: &RuntimeConfig,
) -> Result<webauthn_rs::Webauthn, ActivateError> {
    let invalid = |e: webauthn_rs::prelude::WebauthnError| ActivateError::Webauthn(e.to_string());
    let host = match issuer.host() {
        Some(url::Host::Domain(host)) => host,
        _ => {
            return Err(ActivateError::Webauthn(format!(
                "{} is not a domain name (an IP address cannot be a relying party id)",
                config.issuer
            )));
        }
    };
    let name = host.to_owned();
    webauthn_rs::WebauthnBuilder::new(host, issuer)
        .map_err(invalid)?
        .rp_name(&name)
        .build()
        .map_err(invalid)
}

/// Pages load only our stylesheet and images (https images, for the theme's logo host); forms
/// post to ourselves and end at registered client addresses; no framing, no plugins.
fn content_security_policy(
    applications: &[crate::config::runtime::ApplicationConfig],
    own: &str,
    font_urls: &[&str],
) -> String {
    use crate::config::runtime::ApplicationType;
    let mut sources: Vec<String> = Vec::new();
    for app in applications {
        for uri in app
            .redirect_uris
            .iter()
            .chain(&app.post_logout_redirect_uris)
        {
            let Ok(url) = Url::parse(uri) else { continue };
            match url.scheme() {
                "http" | "https" => {
                    let loopback =
                        matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
                    if app.application_type == ApplicationType::Native && loopback {
                        // RFC 8252 7.3: a native app's loopback redirect may use any port.
                        sources.push(format!(
                            "{}://{}:*",
                            url.scheme(),
                            url.host_str().unwrap_or_default()
                        ));
                    } else {
                        sources.push(origin_of(&url));
                    }
                }
                // A native app's private-use scheme (RFC 8252 7.1) as a scheme source.
                scheme => sources.push(format!("{scheme}:")),
            }
        }
    }
    sources.retain(|s| s != own);
    sources.sort();
    sources.dedup();
    let mut form_action = String::from("'self'");
    for source in &sources {
        form_action.push(' ');
        form_action.push_str(source);
    }
    // The themes' web fonts: their stylesheets' origins and their font files' (checked at
    // compile).
    let (mut styles, mut files) = (vec!["'self'".to_owned()], Vec::new());
    for url in font_urls.iter().filter_map(|u| Url::parse(u).ok()) {
        if let Ok(origin) = crate::config::font_files_origin(url.as_str()) {
            styles.push(origin_of(&url));
            files.push(origin.to_owned());
        }
    }
    styles.dedup();
    files.sort();
    files.dedup();
    let style_src = styles.join(" ");
    let font_src = if files.is_empty() {
        String::new()
    } else {
        format!(" font-src {};", files.join(" "))
    };
    format!(
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src {style_src}; img-src 'self' https: data:;{font_src} \
         form-action {form_action}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
}

impl Active {
    /// The look of `organization` when it has its own theme, else the Vestibule's.
    pub fn look(&self, organization: Option<&str>) -> &super::look::Look {
        organization
            .and_then(|slug| self.organization_looks.get(slug))
            .unwrap_or(&self.look)
    }
}

/// The active config, and the reason the newest candidate was refused (if it was).
pub struct LiveConfig {
    current: ArcSwap<Active>,
    rejected: ArcSwapOption<String>,
}

impl LiveConfig {
    /// Starts with `first`.
    pub fn new(first: Active) -> Self {
        Self {
            current: ArcSwap::from_pointee(first),
            rejected: ArcSwapOption::empty(),
        }
    }

    /// The config to serve this request with.
    pub fn load(&self) -> Arc<Active> {
        self.current.load_full()
    }

    /// Replaces the active config and clears any recorded rejection.
    pub fn swap(&self, next: Active) {
        self.current.store(Arc::new(next));
        self.rejected.store(None);
    }

    /// Records why a newer config was not applied (shown in `/readyz` and metrics).
    pub fn reject(&self, reason: String) {
        self.rejected.store(Some(Arc::new(reason)));
    }

    /// Why the newest candidate was refused, if it was.
    pub fn rejected(&self) -> Option<Arc<String>> {
        self.rejected.load_full()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::runtime::{ApplicationConfig, ApplicationType};

    fn app(kind: ApplicationType, redirects: &[&str], after: &[&str]) -> ApplicationConfig {
        ApplicationConfig {
            post_logout_redirect_uris: after.iter().map(|s| (*s).to_owned()).collect(),
            ..ApplicationConfig::example(kind, redirects)
        }
    }

    #[test]
    fn form_action_lists_each_client_address_once_and_loopback_ports_for_native_apps() {
        let csp = content_security_policy(
            &[
                app(
                    ApplicationType::Web,
                    &["https://shop.example/cb", "https://shop.example/other"],
                    &[
                        "https://shop.example/bye",
                        "https://auth.example.com/signed-out",
                    ],
                ),
                app(
                    ApplicationType::Native,
                    &["http://127.0.0.1/callback", "com.example.app:/oauth"],
                    &[],
                ),
            ],
            "https://auth.example.com",
            &[],
        );
        assert!(
            csp.contains(
                "form-action 'self' com.example.app: http://127.0.0.1:* https://shop.example;"
            ),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(
            csp.contains("style-src 'self';") && !csp.contains("font-src"),
            "{csp}"
        );
    }

    #[test]
    fn a_theme_web_font_admits_its_stylesheet_and_font_files_only() {
        let csp = content_security_policy(
            &[],
            "https://auth.example.com",
            &["https://fonts.googleapis.com/css2?family=Inter&display=swap"],
        );
        assert!(
            csp.contains("style-src 'self' https://fonts.googleapis.com;"),
            "{csp}"
        );
        assert!(csp.contains("font-src https://fonts.gstatic.com;"), "{csp}");
        assert!(csp.contains("default-src 'none'"));
    }
}
