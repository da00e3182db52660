//! Sign-in sessions. The browser holds a random session token; the database holds only its hash,
//! so a leaked database cannot be replayed as cookies.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::{Store, StoreError, User, new_id};

pub struct NewSession {
    pub token_hash: String,
    pub user_id: String,
    /// How the user authenticated, e.g. `["password"]`; MFA appends its factor.
    pub factors: Vec<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The provider identity that signed the user in, for a provider sign-in.
    pub identity_id: Option<String>,
    /// The active organization to start with (a renewed session keeps the old one's).
    pub organization_id: Option<String>,
    pub expires_at: i64,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub factors: Vec<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The provider identity that signed the user in, for a provider sign-in.
    pub identity_id: Option<String>,
    /// The active organization, while the user is a member (checked where it is used).
    pub organization_id: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

impl Session {
    fn from_row(row: &AnyRow) -> Result<Session, sqlx::Error> {
        let factors: String = row.try_get("factors")?;
        Ok(Session {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            factors: decode_factors(&factors),
            ip: row.try_get("ip")?,
            user_agent: row.try_get("user_agent")?,
            identity_id: row.try_get("identity_id")?,
            organization_id: row.try_get("organization_id")?,
            created_at: row.try_get("created_at")?,
            last_seen_at: row.try_get("last_seen_at")?,
            expires_at: row.try_get("expires_at")?,
        })
    }
}

/// Factors are stored comma-joined; a name that would not survive the round trip is refused.
pub(super) fn encode_factors(factors: &[String]) -> Result<String, sqlx::Error> {
    if let Some(bad) = factors.iter().find(|f| f.is_empty() || f.contains(',')) {
        return Err(sqlx::Error::Encode(
            format!("session factor {bad:?} must be non-empty and contain no comma").into(),
        ));
    }
    Ok(factors.join(","))
}

pub(super) fn decode_factors(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Store {
    pub async fn create_session(&self, session: &NewSession) -> Result<Session, StoreError> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO sessions \
             (id, user_id, token_hash, factors, ip, user_agent, identity_id, created_at, last_seen_at, \
              expires_at, organization_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10)",
        )
        .bind(&id)
        .bind(&session.user_id)
        .bind(&session.token_hash)
        .bind(encode_factors(&session.factors)?)
        .bind(session.ip.as_deref())
        .bind(session.user_agent.as_deref())
        .bind(session.identity_id.as_deref())
        .bind(session.now)
        .bind(session.expires_at)
        .bind(session.organization_id.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(Session {
            id,
            user_id: session.user_id.clone(),
            factors: session.factors.clone(),
            ip: session.ip.clone(),
            user_agent: session.user_agent.clone(),
            identity_id: session.identity_id.clone(),
            organization_id: session.organization_id.clone(),
            created_at: session.now,
            last_seen_at: session.now,
            expires_at: session.expires_at,
        })
    }

    /// The session with this token hash and its user, unless revoked. Expired sessions are
    /// returned too: idle and absolute timeouts are the caller's policy.
    pub async fn session_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<(Session, User)>, StoreError> {
        let row = sqlx::query(
            "SELECT s.id, s.user_id, s.factors, s.ip, s.user_agent, s.identity_id, \
                    s.organization_id, s.created_at, s.last_seen_at, s.expires_at, \
                    u.email AS user_email, u.email_verified_at AS user_email_verified_at, \
                    u.password_hash AS user_password_hash, u.name AS user_name, u.picture AS user_picture, \
                    u.created_at AS user_created_at, u.updated_at AS user_updated_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        // The user's columns carry a `user_` prefix; its id is the session's `user_id`.
        Ok(Some((
            Session::from_row(&row)?,
            User::from_row(&row, "user_")?,
        )))
    }

    /// Records activity for the idle timeout. Never moves `last_seen_at` backwards, so replicas
    /// whose clocks differ slightly cannot shorten each other's view of activity.
    pub async fn touch_session(&self, session_id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $2 \
             WHERE id = $1 AND revoked_at IS NULL AND last_seen_at < $2",
        )
        .bind(session_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Makes `organization_id` (or none) the session's active organization.
    pub async fn set_session_organization(
        &self,
        session_id: &str,
        organization_id: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET organization_id = $2 WHERE id = $1")
            .bind(session_id)
            .bind(organization_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user's sessions that are not revoked, newest first.
    pub async fn list_sessions(&self, user_id: &str) -> Result<Vec<Session>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, factors, ip, user_agent, identity_id, organization_id, created_at, \
             last_seen_at, expires_at FROM sessions WHERE user_id = $1 AND revoked_at IS NULL \
             ORDER BY created_at DESC, id DESC",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(Session::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Revokes one session, only if it belongs to `user_id`: a session id from another account
    /// revokes nothing. Returns whether a session was revoked.
    pub async fn revoke_session(
        &self,
        user_id: &str,
        session_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE sessions SET revoked_at = $3 \
             WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(session_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Revokes every session of the user except `except`. Returns how many were revoked.
    pub async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&str>,
        now: i64,
    ) -> Result<u64, StoreError> {
        // One statement, so atomic without an explicit transaction.
        Ok(revoke_all_but(&self.pool, user_id, except, now).await?)
    }
}

/// Revokes the user's sessions except `keep`; multi-step changes pass their transaction.
pub(super) async fn revoke_all_but<'c>(
    executor: impl Executor<'c, Database = Any>,
    user_id: &str,
    keep: Option<&str>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let result = match keep {
        Some(keep) => {
            sqlx::query(
                "UPDATE sessions SET revoked_at = $3 \
                 WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL",
            )
            .bind(user_id)
            .bind(keep)
            .bind(now)
            .execute(executor)
            .await?
        }
        None => {
            sqlx::query(
                "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(user_id)
            .bind(now)
            .execute(executor)
            .await?
        }
    };
    Ok(result.rows_affected())
}
