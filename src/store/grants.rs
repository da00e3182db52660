//! The OpenID Provider's grants: an authorization (who, which client, which session, which
//! scopes), the single-use code that starts it, and the family of rotating refresh tokens that
//! continues it. Only hashes of codes and tokens are stored.
//!
//! The two replay rules live here, inside one transaction each, so that two replicas racing on
//! one database agree: a code redeemed twice revokes its grant (and with it every token issued
//! from the code), and a refresh token presented after it was rotated revokes its family.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, User, new_id};

/// What a new authorization records; its code is stored in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGrant {
    /// The user who authorized.
    pub user_id: String,
    /// The Application.
    pub client_id: String,
    /// The Vestibule session the user authorized in.
    pub session_id: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// When the user last authenticated.
    pub auth_time: i64,
    /// How (`password`, ...), for `amr`.
    pub factors: Vec<String>,
    /// The client's nonce, for the ID token.
    pub nonce: Option<String>,
    /// Absolute end of the refresh family.
    pub expires_at: i64,
    /// The RFC 8707 resource its access tokens are for (`aud`); `None`: the client.
    pub resource: Option<String>,
    /// The organization its tokens speak for (`org_*` claims, while the user is a member).
    pub organization_id: Option<String>,
    /// SHA-256 of the authorization code.
    pub code_hash: String,
    /// The redirect URI the code was issued to (the token request must repeat it).
    pub redirect_uri: String,
    /// PKCE S256 challenge, if sent.
    pub code_challenge: Option<String>,
    /// When the code stops working.
    pub code_expires_at: i64,
    /// Now.
    pub now: i64,
}

/// A grant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Random id.
    pub id: String,
    /// The user who authorized.
    pub user_id: String,
    /// The Application.
    pub client_id: String,
    /// The Vestibule session it is tied to.
    pub session_id: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// When the user last authenticated.
    pub auth_time: i64,
    /// How.
    pub factors: Vec<String>,
    /// The client's nonce.
    pub nonce: Option<String>,
    /// Issued.
    pub created_at: i64,
    /// Absolute end of the refresh family.
    pub expires_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// The RFC 8707 resource its access tokens are for (`aud`); `None`: the client.
    pub resource: Option<String>,
    /// The organization its tokens speak for.
    pub organization_id: Option<String>,
}

/// A redeemed code: the grant, and what the token request must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemedCode {
    /// The grant the code started.
    pub grant: Grant,
    /// The redirect URI the code was issued to.
    pub redirect_uri: String,
    /// The PKCE challenge to verify, if one was sent.
    pub code_challenge: Option<String>,
}

/// What a user agreed an Application may have (remembered consent, OIDC Core 3.1.2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// The Application.
    pub client_id: String,
    /// The scopes agreed to, over every consent so far.
    pub scopes: Vec<String>,
    /// When consent was last given (ms).
    pub created_at: i64,
}

/// Who presents a refresh token, checked against its grant before anything is written: a
/// refusal for these reasons leaves the token usable by the client it was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presenter<'a> {
    /// The authenticated client: must be the grant's.
    pub client_id: &'a str,
    /// The RFC 8707 resource asked for, if any: must be the grant's.
    pub resource: Option<&'a str>,
}

/// Why a code or refresh token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantRefusal {
    /// A refresh token presented by a client it was not issued to.
    OtherClient,
    /// A refresh token presented for a resource its grant is not for.
    OtherResource,
    /// No such code or token.
    Unknown,
    /// Past its lifetime.
    Expired,
    /// The grant was revoked, or its session was.
    Revoked,
    /// Used before: the grant has now been revoked (`grant_id`), with everything issued from it.
    Replayed {
        /// The revoked grant, for the audit log.
        grant_id: String,
    },
}

/// The grant's columns (a macro, so queries stay `&'static str` for sqlx).
macro_rules! grant_columns {
    () => {
        "g.id, g.user_id, g.client_id, g.session_id, g.scopes, g.auth_time, g.factors, g.nonce, \
         g.created_at, g.expires_at, g.revoked_at, g.resource, g.organization_id"
    };
}

impl Grant {
    /// Whether tokens for `resource` (RFC 8707; `None`: none asked for) may come from this
    /// grant: with one resource per grant, one asked for must be the grant's (2.2 allows
    /// narrowing, which is then the same one).
    pub fn serves(&self, resource: Option<&str>) -> bool {
        resource.is_none_or(|r| self.resource.as_deref() == Some(r))
    }

    fn from_row(row: &AnyRow) -> Result<Grant, sqlx::Error> {
        let words = |column: &str, separator: char| -> Result<Vec<String>, sqlx::Error> {
            let text: String = row.try_get(column)?;
            Ok(text
                .split(separator)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect())
        };
        Ok(Grant {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            client_id: row.try_get("client_id")?,
            session_id: row.try_get("session_id")?,
            scopes: words("scopes", ' ')?,
            auth_time: row.try_get("auth_time")?,
            factors: words("factors", ',')?,
            nonce: row.try_get("nonce")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            revoked_at: row.try_get("revoked_at")?,
            resource: row.try_get("resource")?,
            organization_id: row.try_get("organization_id")?,
        })
    }
}

fn consent_from_row(row: &AnyRow) -> Result<Consent, sqlx::Error> {
    let scopes: String = row.try_get("scopes")?;
    Ok(Consent {
        client_id: row.try_get("client_id")?,
        scopes: scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        created_at: row.try_get("created_at")?,
    })
}

/// A refresh token as stored, with its grant.
struct RefreshTokenRow {
    grant: Grant,
    /// When it was rotated, if it was.
    used_at: Option<i64>,
    /// When it was issued.
    issued_at: i64,
    /// Whether the grant's session has ended.
    session_ended: bool,
    /// The grant's user.
    user: User,
}

/// Whether the grant's session (if it has one) was revoked or has expired by `now`: the grant
/// ends with it.
fn session_ended(row: &AnyRow, now: i64) -> Result<bool, sqlx::Error> {
    let revoked: Option<i64> = row.try_get("session_revoked_at")?;
    let expires: Option<i64> = row.try_get("session_expires_at")?;
    Ok(revoked.is_some() || expires.is_some_and(|at| now >= at))
}

/// Whether a grant may still mint tokens at `now`: not revoked, not past its end, and its
/// session (if any) not ended.
fn usable(grant: &Grant, session_revoked: bool, now: i64) -> Result<(), GrantRefusal> {
    if grant.revoked_at.is_some() || session_revoked {
        return Err(GrantRefusal::Revoked);
    }
    if now >= grant.expires_at {
        return Err(GrantRefusal::Expired);
    }
    Ok(())
}

impl Store {
    /// Records an authorization and its code, in one transaction.
    pub async fn create_grant(&self, new: &NewGrant) -> Result<Grant, StoreError> {
        let grant = Grant {
            id: new_id(),
            user_id: new.user_id.clone(),
            client_id: new.client_id.clone(),
            session_id: new.session_id.clone(),
            scopes: new.scopes.clone(),
            auth_time: new.auth_time,
            factors: new.factors.clone(),
            nonce: new.nonce.clone(),
            created_at: new.now,
            expires_at: new.expires_at,
            revoked_at: None,
            resource: new.resource.clone(),
            organization_id: new.organization_id.clone(),
        };
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO oauth_grants (id, user_id, client_id, session_id, scopes, auth_time, \
             factors, nonce, created_at, expires_at, resource, organization_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&grant.id)
        .bind(&grant.user_id)
        .bind(&grant.client_id)
        .bind(grant.session_id.as_deref())
        .bind(grant.scopes.join(" "))
        .bind(grant.auth_time)
        .bind(grant.factors.join(","))
        .bind(grant.nonce.as_deref())
        .bind(grant.created_at)
        .bind(grant.expires_at)
        .bind(grant.resource.as_deref())
        .bind(grant.organization_id.as_deref())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, code_challenge, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&new.code_hash)
        .bind(&grant.id)
        .bind(&new.redirect_uri)
        .bind(new.code_challenge.as_deref())
        .bind(new.code_expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(grant)
    }

    /// Redeems a code once. A second redemption revokes the grant, so every token issued from
    /// the first one stops working (RFC 6749 4.1.2, SECURITY).
    pub async fn redeem_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> Result<Result<RedeemedCode, GrantRefusal>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(concat!(
            "SELECT ",
            grant_columns!(),
            ", c.redirect_uri, c.code_challenge, c.expires_at AS code_expires_at, \
                    c.used_at, s.revoked_at AS session_revoked_at, s.expires_at AS session_expires_at \
             FROM oauth_codes c JOIN oauth_grants g ON g.id = c.grant_id \
             LEFT JOIN sessions s ON s.id = g.session_id \
             WHERE c.code_hash = $1"
        ))
        .bind(code_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Err(GrantRefusal::Unknown));
        };
        let grant = Grant::from_row(&row)?;
        let used_at: Option<i64> = row.try_get("used_at")?;
        // Conditional on `used_at IS NULL`: of two concurrent redemptions exactly one sets it.
        let first = used_at.is_none()
            && sqlx::query(
                "UPDATE oauth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL",
            )
            .bind(code_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
        if !first {
            revoke(&mut tx, &grant.id, "code_reuse", now).await?;
            tx.commit().await?;
            return Ok(Err(GrantRefusal::Replayed { grant_id: grant.id }));
        }
        let code_expires_at: i64 = row.try_get("code_expires_at")?;
        let session_revoked = session_ended(&row, now)?;
        if now >= code_expires_at {
            tx.commit().await?;
            return Ok(Err(GrantRefusal::Expired));
        }
        if let Err(refusal) = usable(&grant, session_revoked, now) {
            tx.commit().await?;
            return Ok(Err(refusal));
        }
        let redeemed = RedeemedCode {
            redirect_uri: row.try_get("redirect_uri")?,
            code_challenge: row.try_get("code_challenge")?,
            grant,
        };
        tx.commit().await?;
        Ok(Ok(redeemed))
    }

    /// Adds a refresh token to a grant's family (after a code redemption).
    pub async fn add_refresh_token(
        &self,
        grant_id: &str,
        token_hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_refresh_tokens (token_hash, grant_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(grant_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Rotates a refresh token: marks `old_hash` used and stores `new_hash` in its family.
    /// Presenting a token that was already rotated revokes the whole family. Gives the grant and
    /// its user (read with the token, so minting needs no further read).
    ///
    /// The token, its grant and its user are read before anything is written, so the
    /// database's write lock (SQLite has one for the whole file) is held only for the writes,
    /// which the rotation writer commits together with the other rotations waiting at the same
    /// time (`rotations.rs`). The conditional `UPDATE ... WHERE used_at IS NULL` there decides
    /// a race between two presentations: exactly one marks the token used; the other is a
    /// replay. A grant or session revoked between the read and the commit (a few milliseconds)
    /// still gets this one refresh answered, as if it had come a moment earlier; the next one
    /// is refused.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        presenter: Presenter<'_>,
        now: i64,
    ) -> Result<Result<(Grant, User), GrantRefusal>, StoreError> {
        let Some(found) = self.refresh_token_with_grant(old_hash, now).await? else {
            return Ok(Err(GrantRefusal::Unknown));
        };
        let grant = found.grant;
        if grant.client_id != presenter.client_id {
            return Ok(Err(GrantRefusal::OtherClient));
        }
        if !grant.serves(presenter.resource) {
            return Ok(Err(GrantRefusal::OtherResource));
        }
        if let Err(refusal) = usable(&grant, found.session_ended, now) {
            return Ok(Err(refusal));
        }
        let first = found.used_at.is_none()
            && self
                .rotations
                .rotate(old_hash, new_hash, &grant.id, now)
                .await?;
        if !first {
            let mut tx = self.begin_write().await?;
            revoke(&mut tx, &grant.id, "refresh_replay", now).await?;
            tx.commit().await?;
            return Ok(Err(GrantRefusal::Replayed { grant_id: grant.id }));
        }
        Ok(Ok((grant, found.user)))
    }

    /// The grant with this id, if it can still be used at `now` (for userinfo and
    /// introspection of access tokens issued from it).
    pub async fn active_grant(
        &self,
        grant_id: &str,
        now: i64,
    ) -> Result<Option<Grant>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            grant_columns!(),
            ", s.revoked_at AS session_revoked_at, s.expires_at AS session_expires_at \
             FROM oauth_grants g LEFT JOIN sessions s ON s.id = g.session_id WHERE g.id = $1"
        ))
        .bind(grant_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let grant = Grant::from_row(&row)?;
        let session_revoked = session_ended(&row, now)?;
        Ok(usable(&grant, session_revoked, now)
            .is_ok()
            .then_some(grant))
    }

    /// The grant a refresh token belongs to (any state), with its client: for RFC 7009.
    pub async fn grant_of_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT g.id, g.client_id FROM oauth_refresh_tokens t \
             JOIN oauth_grants g ON g.id = t.grant_id WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(row) => Some((row.try_get("id")?, row.try_get("client_id")?)),
            None => None,
        })
    }

    /// The grant of a refresh token that can still be used at `now` (not rotated, grant and
    /// session live), with when the token was issued: for introspection.
    pub async fn live_refresh_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(Grant, i64)>, StoreError> {
        Ok(self
            .refresh_token_with_grant(token_hash, now)
            .await?
            .filter(|f| f.used_at.is_none() && usable(&f.grant, f.session_ended, now).is_ok())
            .map(|f| (f.grant, f.issued_at)))
    }

    /// A refresh token's row with its grant, and whether the grant's session has ended.
    async fn refresh_token_with_grant(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<RefreshTokenRow>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            grant_columns!(),
            ", t.used_at, t.created_at AS token_created_at, s.revoked_at AS session_revoked_at, \
             s.expires_at AS session_expires_at, u.id AS owner_id, u.email AS owner_email, \
             u.email_verified_at AS owner_email_verified_at, u.password_hash AS owner_password_hash, \
             u.name AS owner_name, u.picture AS owner_picture, u.created_at AS owner_created_at, \
             u.updated_at AS owner_updated_at \
             FROM oauth_refresh_tokens t JOIN oauth_grants g ON g.id = t.grant_id \
             JOIN users u ON u.id = g.user_id \
             LEFT JOIN sessions s ON s.id = g.session_id \
             WHERE t.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(RefreshTokenRow {
            grant: Grant::from_row(&row)?,
            used_at: row.try_get("used_at")?,
            issued_at: row.try_get("token_created_at")?,
            session_ended: session_ended(&row, now)?,
            user: User::from_row(&row, "owner_")?,
        }))
    }

    /// The user's remembered consent for a client, if any.
    pub async fn consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Option<Consent>, StoreError> {
        let row = sqlx::query(
            "SELECT client_id, scopes, created_at FROM oauth_consents \
             WHERE user_id = $1 AND client_id = $2",
        )
        .bind(user_id)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(row) => Some(consent_from_row(&row)?),
            None => None,
        })
    }

    /// Every client the user has consented to, by client id.
    pub async fn consents_of(&self, user_id: &str) -> Result<Vec<Consent>, StoreError> {
        let rows = sqlx::query(
            "SELECT client_id, scopes, created_at FROM oauth_consents \
             WHERE user_id = $1 ORDER BY client_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(consent_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Remembers that the user agreed to `scopes` for a client, adding to what they agreed to
    /// before.
    pub async fn save_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let before: Option<String> = sqlx::query_scalar(
            "SELECT scopes FROM oauth_consents WHERE user_id = $1 AND client_id = $2",
        )
        .bind(user_id)
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await?;
        let mut all: Vec<&str> = before
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .chain(scopes.iter().map(String::as_str))
            .collect();
        all.sort_unstable();
        all.dedup();
        sqlx::query(
            "INSERT INTO oauth_consents (user_id, client_id, scopes, created_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, \
             created_at = excluded.created_at",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(all.join(" "))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the user's consent for a client and revokes every grant the user gave it (its
    /// refresh tokens stop working), in one transaction. Returns whether there was a consent.
    pub async fn revoke_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted =
            sqlx::query("DELETE FROM oauth_consents WHERE user_id = $1 AND client_id = $2")
                .bind(user_id)
                .bind(client_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        sqlx::query(
            "UPDATE oauth_grants SET revoked_at = $3, revoked_reason = 'consent_revoked' \
             WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(deleted == 1)
    }

    /// The client a grant was made to, in any state.
    pub async fn client_of_grant(&self, grant_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT client_id FROM oauth_grants WHERE id = $1")
            .bind(grant_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get("client_id")?),
            None => None,
        })
    }

    /// Revokes a grant (RFC 7009 revocation, or the user removing the client). Returns whether
    /// it was active.
    pub async fn revoke_grant(
        &self,
        grant_id: &str,
        reason: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let revoked = revoke(&mut tx, grant_id, reason, now).await?;
        tx.commit().await?;
        Ok(revoked)
    }
}

/// Marks a grant revoked (first reason wins). Returns whether it was active.
async fn revoke(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    grant_id: &str,
    reason: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE oauth_grants SET revoked_at = $2, revoked_reason = $3 \
         WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(grant_id)
    .bind(now)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}
