//! Talking to upstream providers over HTTP: their endpoints (from OpenID discovery, the known
//! defaults of each provider type, or the resource's overrides), the code exchange, ID token
//! signatures against their JWKS, and userinfo (GitHub: `/user` and `/user/emails`).
//!
//! One client for all providers, with bounded timeouts and response sizes and no redirects
//! followed. Discovery documents and JWKS are cached per URL; a token signed by a key the cached
//! JWKS lacks refetches it once, at most every [`JWKS_REFETCH_MIN`], so a stream of forged
//! `kid`s cannot turn the server into a load generator against the provider.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use super::id_token::IssuerRule;
use crate::config::runtime::{ProviderConfig, ProviderType};
use crate::crypto::jws::JwsError;

/// Connecting to a provider may take this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole request to a provider may take this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Larger provider responses are refused (a JWKS or discovery document is a few KiB).
const MAX_RESPONSE_BYTES: usize = 512 * 1024;
/// How long a discovery document or JWKS is reused.
const CACHE_TTL: Duration = Duration::from_secs(3600);
/// A JWKS is fetched again for an unknown `kid` at most this often.
pub const JWKS_REFETCH_MIN: Duration = Duration::from_secs(30);

/// Why a provider could not be used.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Unreachable, slow, or answering with an HTTP error.
    #[error("provider unreachable: {0}")]
    Unreachable(String),
    /// It answered, but not with what the protocol says.
    #[error("provider answered unexpectedly: {0}")]
    Protocol(String),
    /// The token endpoint refused the code (`error` of RFC 6749 5.2; never the body).
    #[error("the provider refused the code: {0}")]
    Refused(String),
    /// The ID token's signature does not verify against the provider's keys.
    #[error("ID token signature: {0}")]
    Signature(JwsError),
}

/// How Vestibule authenticates at a provider's token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAuth {
    /// `client_secret_basic`: HTTP Basic (the OAuth default).
    Basic,
    /// `client_secret_post`: in the form.
    Post,
}

/// Everything the flow needs to know about a provider's endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoints {
    /// Where the browser is sent.
    pub authorization: String,
    /// Where the code is exchanged.
    pub token: String,
    /// Userinfo, if any.
    pub userinfo: Option<String>,
    /// The JWKS of ID token signatures (OpenID providers).
    pub jwks: Option<String>,
    /// GitHub's verified addresses (`/user/emails`).
    pub emails: Option<String>,
    /// Who issues the ID tokens; `None` for OAuth 2.0-only providers, which have none.
    pub issuer: Option<IssuerRule>,
    /// Token endpoint client authentication.
    pub token_auth: TokenAuth,
}

/// The default issuer of a known OpenID provider type (where its discovery document is).
pub fn default_issuer(provider: &ProviderConfig) -> Option<String> {
    if let Some(issuer) = &provider.issuer {
        return Some(issuer.clone());
    }
    match provider.provider_type {
        ProviderType::Google => Some("https://accounts.google.com".into()),
        ProviderType::Microsoft => Some(format!(
            "https://login.microsoftonline.com/{}/v2.0",
            provider.tenant.as_deref().unwrap_or("common")
        )),
        ProviderType::Gitlab => Some("https://gitlab.com".into()),
        ProviderType::Apple => Some("https://appleid.apple.com".into()),
        ProviderType::Oidc | ProviderType::Github | ProviderType::Oauth2 => None,
    }
}

/// Whether a provider type signs users in with OpenID Connect (an ID token), as opposed to
/// OAuth 2.0 and a userinfo call.
pub fn is_openid(provider: ProviderType) -> bool {
    !matches!(provider, ProviderType::Github | ProviderType::Oauth2)
}

struct Cached {
    document: Value,
    fetched: Instant,
}

/// The HTTP client and caches for every provider. Cheap to clone (shared).
#[derive(Clone)]
pub struct Upstreams {
    inner: std::sync::Arc<Inner>,
}

struct Inner {
    /// The client, or why there is none (building fails only without TLS trust roots).
    client: Result<reqwest::Client, String>,
    documents: Mutex<HashMap<String, Cached>>,
    /// Minted Apple client secrets by provider, team, key and key text: (JWT, expiry in Unix s).
    apple_secrets: Mutex<HashMap<String, (String, i64)>>,
}

impl Default for Upstreams {
    fn default() -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("vestibule/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string());
        Self {
            inner: std::sync::Arc::new(Inner {
                client,
                documents: Mutex::new(HashMap::new()),
                apple_secrets: Mutex::new(HashMap::new()),
            }),
        }
    }
}

/// The token endpoint's answer, as far as the flow needs it.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// For userinfo calls.
    pub access_token: String,
    /// The ID token (OpenID providers).
    pub id_token: Option<String>,
}

impl Upstreams {
    fn client(&self) -> Result<&reqwest::Client, UpstreamError> {
        self.inner
            .client
            .as_ref()
            .map_err(|e| UpstreamError::Unreachable(format!("no HTTPS client: {e}")))
    }

    /// The provider's endpoints: its discovery document (cached) with the resource's overrides
    /// on top, or the known defaults of an OAuth 2.0-only type.
    pub async fn endpoints(&self, provider: &ProviderConfig) -> Result<Endpoints, UpstreamError> {
        let over = |set: &Option<String>, default: Option<String>| set.clone().or(default);
        if !is_openid(provider.provider_type) {
            let github = provider.provider_type == ProviderType::Github;
            let pick =
                |set: &Option<String>, default: &str| over(set, github.then(|| default.to_owned()));
            let userinfo = pick(&provider.userinfo_endpoint, "https://api.github.com/user");
            let emails = if github {
                provider.emails_endpoint.clone().or_else(|| {
                    userinfo
                        .as_deref()
                        .map(|u| format!("{}/emails", u.trim_end_matches('/')))
                })
            } else {
                None
            };
            let missing = || UpstreamError::Protocol("endpoint not configured".into());
            return Ok(Endpoints {
                authorization: pick(
                    &provider.authorization_endpoint,
                    "https://github.com/login/oauth/authorize",
                )
                .ok_or_else(missing)?,
                token: pick(
                    &provider.token_endpoint,
                    "https://github.com/login/oauth/access_token",
                )
                .ok_or_else(missing)?,
                userinfo,
                jwks: None,
                emails,
                issuer: None,
                // GitHub documents the secret in the form; so do most OAuth 2.0-only servers.
                token_auth: TokenAuth::Post,
            });
        }
        let issuer = default_issuer(provider)
            .ok_or_else(|| UpstreamError::Protocol("no issuer configured".into()))?;
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let document = self.document(&url, false).await?;
        let text = |name: &str| {
            document
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let published = text("issuer")
            .ok_or_else(|| UpstreamError::Protocol("discovery without issuer".into()))?;
        let rule = if provider.provider_type == ProviderType::Microsoft
            && published.contains("{tenantid}")
        {
            IssuerRule::MicrosoftTenant {
                template: published,
                tenant: provider.tenant.clone().unwrap_or_else(|| "common".into()),
            }
        } else if published == issuer
            || published.trim_end_matches('/') == issuer.trim_end_matches('/')
        {
            IssuerRule::Exact(published)
        } else {
            // OpenID Discovery 4.3: a document for another issuer is not this provider's.
            return Err(UpstreamError::Protocol(format!(
                "discovery issuer {published:?} is not {issuer:?}"
            )));
        };
        let methods: Vec<&str> = document
            .get("token_endpoint_auth_methods_supported")
            .and_then(Value::as_array)
            .map(|m| m.iter().filter_map(Value::as_str).collect())
            .unwrap_or_else(|| vec!["client_secret_basic"]);
        let token_auth = if methods.contains(&"client_secret_basic") {
            TokenAuth::Basic
        } else {
            TokenAuth::Post
        };
        let required = |set: &Option<String>, name: &str| {
            over(set, text(name))
                .ok_or_else(|| UpstreamError::Protocol(format!("discovery without {name}")))
        };
        Ok(Endpoints {
            authorization: required(&provider.authorization_endpoint, "authorization_endpoint")?,
            token: required(&provider.token_endpoint, "token_endpoint")?,
            userinfo: over(&provider.userinfo_endpoint, text("userinfo_endpoint")),
            jwks: Some(required(&provider.jwks_uri, "jwks_uri")?),
            emails: None,
            issuer: Some(rule),
            token_auth,
        })
    }

    /// Sign in with Apple's client secret for `provider`, minted with the team key `key_pem`
    /// and cached until an hour before it expires. `now` in Unix seconds.
    pub fn apple_client_secret(
        &self,
        provider: &ProviderConfig,
        key_pem: &str,
        now: i64,
    ) -> Result<String, UpstreamError> {
        let settings = provider
            .apple
            .as_ref()
            .ok_or_else(|| UpstreamError::Protocol("apple settings missing".into()))?;
        let cache_key = format!(
            "{}:{}:{}:{}",
            provider.slug,
            settings.team_id,
            settings.key_id,
            crate::crypto::sha256_hex(key_pem.as_bytes())
        );
        if let Ok(cache) = self.inner.apple_secrets.lock()
            && let Some((jwt, expires)) = cache.get(&cache_key)
            && *expires - crate::crypto::apple::RENEW_BEFORE_SECONDS > now
        {
            return Ok(jwt.clone());
        }
        let audience =
            default_issuer(provider).ok_or_else(|| UpstreamError::Protocol("no issuer".into()))?;
        let jwt = crate::crypto::apple::parse_key(key_pem)
            .and_then(|key| {
                crate::crypto::apple::client_secret(
                    &key,
                    &settings.team_id,
                    &settings.key_id,
                    &provider.client_id,
                    &audience,
                    now,
                )
            })
            .map_err(|e| UpstreamError::Protocol(format!("Apple client secret: {e}")))?;
        if let Ok(mut cache) = self.inner.apple_secrets.lock() {
            cache.insert(
                cache_key,
                (jwt.clone(), now + crate::crypto::apple::LIFETIME_SECONDS),
            );
        }
        Ok(jwt)
    }

    /// Exchanges an authorization code (RFC 6749 4.1.3, with the PKCE verifier).
    pub async fn exchange(
        &self,
        endpoints: &Endpoints,
        client_id: &str,
        client_secret: &str,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<Tokens, UpstreamError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let mut request = self
            .client()?
            .post(&endpoints.token)
            .header(reqwest::header::ACCEPT, "application/json");
        match endpoints.token_auth {
            TokenAuth::Basic => {
                // RFC 6749 2.3.1: each part form-encoded before Basic.
                let enc = |s: &str| -> String {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
                };
                let pair = format!("{}:{}", enc(client_id), enc(client_secret));
                let basic = base64::engine::general_purpose::STANDARD.encode(pair);
                request = request.header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"));
            }
            TokenAuth::Post => {
                form.push(("client_id", client_id));
                form.push(("client_secret", client_secret));
            }
        }
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = request
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let json = read_json(response).await;
        // GitHub answers a bad code with 200 and an `error` member.
        if let Some(error) = json
            .as_ref()
            .ok()
            .and_then(|j| j.get("error"))
            .and_then(Value::as_str)
        {
            return Err(UpstreamError::Refused(short(error)));
        }
        if !status.is_success() {
            return Err(UpstreamError::Unreachable(format!(
                "token endpoint: {status}"
            )));
        }
        let json = json?;
        let access_token = json
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| UpstreamError::Protocol("token response without access_token".into()))?
            .to_owned();
        Ok(Tokens {
            access_token,
            id_token: json
                .get("id_token")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// The claims of an ID token whose signature verifies against the provider's JWKS.
    pub async fn verify_id_token(
        &self,
        jwks_uri: &str,
        token: &str,
    ) -> Result<Value, UpstreamError> {
        let jwks = self.document(jwks_uri, false).await?;
        match crate::crypto::jwks::verify(&jwks, token) {
            Ok(verified) => Ok(verified.claims),
            Err(JwsError::UnknownKey) => {
                // The provider may have rotated its keys since the JWKS was cached.
                let jwks = self.document(jwks_uri, true).await?;
                crate::crypto::jwks::verify(&jwks, token)
                    .map(|v| v.claims)
                    .map_err(UpstreamError::Signature)
            }
            Err(e) => Err(UpstreamError::Signature(e)),
        }
    }

    /// A JSON document fetched with the access token (userinfo, GitHub's `/user` and
    /// `/user/emails`).
    pub async fn get_with_token(
        &self,
        url: &str,
        access_token: &str,
    ) -> Result<Value, UpstreamError> {
        self.get_json(url, Some(access_token)).await
    }

    /// A JSON document by GET, with the access token when given; an HTTP error status is
    /// [`UpstreamError::Unreachable`].
    async fn get_json(
        &self,
        url: &str,
        access_token: Option<&str>,
    ) -> Result<Value, UpstreamError> {
        let mut request = self
            .client()?
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = access_token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(UpstreamError::Unreachable(format!(
                "{}: {}",
                path_of(url),
                response.status()
            )));
        }
        read_json(response).await
    }

    /// A cached JSON document; `refetch` asks again if the cached copy is older than
    /// [`JWKS_REFETCH_MIN`].
    async fn document(&self, url: &str, refetch: bool) -> Result<Value, UpstreamError> {
        {
            let cache = self
                .inner
                .documents
                .lock()
                .map_err(|_| UpstreamError::Protocol("cache poisoned".into()))?;
            if let Some(cached) = cache.get(url) {
                let age = cached.fetched.elapsed();
                let fresh = if refetch {
                    age < JWKS_REFETCH_MIN
                } else {
                    age < CACHE_TTL
                };
                if fresh {
                    return Ok(cached.document.clone());
                }
            }
        }
        let document = self.get_json(url, None).await?;
        if let Ok(mut cache) = self.inner.documents.lock() {
            cache.insert(
                url.to_owned(),
                Cached {
                    document: document.clone(),
                    fetched: Instant::now(),
                },
            );
        }
        Ok(document)
    }
}

/// A response body as JSON, refusing bodies over [`MAX_RESPONSE_BYTES`].
async fn read_json(mut response: reqwest::Response) -> Result<Value, UpstreamError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(UpstreamError::Protocol("response too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body)
        .map_err(|_| UpstreamError::Protocol("response is not JSON".into()))
}

fn unreachable(error: reqwest::Error) -> UpstreamError {
    // Without the URL: a query string could carry a code.
    UpstreamError::Unreachable(error.without_url().to_string())
}

/// A URL's path, for logs (never its query).
fn path_of(url: &str) -> String {
    url::Url::parse(url).map_or_else(|_| "endpoint".into(), |u| u.path().to_owned())
}

/// A provider's error code, bounded and printable, for logs.
fn short(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}
