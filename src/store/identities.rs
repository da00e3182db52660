//! Sign-in identities other than the password: a subject at a provider (e.g. an OAuthProvider's
//! slug and its OIDC `sub`) that proves the user beside, or instead of, their password.
//!
//! A subject belongs to at most one account. Linking one that is already linked fails with
//! [`StoreError::IdentityTaken`] instead of moving it: silently relinking would hand an account
//! to whoever controls the other one.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::{Store, StoreError, User, new_id};

/// An identity to link to an existing user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIdentity {
    /// The account the identity signs in to.
    pub user_id: String,
    /// Who vouches for the subject, e.g. an OAuthProvider's slug.
    pub provider: String,
    /// The provider's stable identifier of the person (not their email address, which can change
    /// hands).
    pub subject: String,
    /// The address the provider reported, if any.
    pub email: Option<String>,
    /// Whether the provider said it verified `email`.
    pub email_verified: bool,
    /// When the identity is linked; also its first use.
    pub now: i64,
}

/// A linked identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Random id, for unlinking one identity from the account page.
    pub id: String,
    /// The account the identity signs in to.
    pub user_id: String,
    /// Who vouches for the subject, e.g. an OAuthProvider's slug.
    pub provider: String,
    /// The provider's stable identifier of the person.
    pub subject: String,
    /// The address the provider reported when the identity was linked, if any.
    pub email: Option<String>,
    /// Whether the provider said it verified `email`.
    pub email_verified: bool,
    /// When the identity was linked.
    pub created_at: i64,
    /// When the identity last signed the user in (see [`Store::touch_identity`]).
    pub last_used_at: i64,
}

impl Identity {
    fn from_row(row: &AnyRow) -> Result<Identity, sqlx::Error> {
        // Stored as 0 or 1 (a CHECK constraint holds it there): SQLite has no boolean type.
        let email_verified: i64 = row.try_get("email_verified")?;
        Ok(Identity {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            provider: row.try_get("provider")?,
            subject: row.try_get("subject")?,
            email: row.try_get("email")?,
            email_verified: email_verified != 0,
            created_at: row.try_get("created_at")?,
            last_used_at: row.try_get("last_used_at")?,
        })
    }
}

impl Store {
    /// Links a provider's subject to a user. `IdentityTaken` if the subject is already linked to
    /// any user, this one included; then nothing changes. The database keeps `(provider,
    /// subject)` unique, so two accounts racing for one subject cannot both get it.
    pub async fn link_identity(&self, identity: &NewIdentity) -> Result<Identity, StoreError> {
        insert_identity(&self.pool, identity).await
    }

    /// The identity with this provider and subject, and the user it signs in to.
    pub async fn identity_by_subject(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<(Identity, User)>, StoreError> {
        let row = sqlx::query(
            "SELECT i.id, i.user_id, i.provider, i.subject, i.email, i.email_verified, \
                    i.created_at, i.last_used_at, \
                    u.email AS user_email, u.email_verified_at AS user_email_verified_at, \
                    u.password_hash AS user_password_hash, u.name AS user_name, u.picture AS user_picture, \
                    u.created_at AS user_created_at, u.updated_at AS user_updated_at \
             FROM identities i JOIN users u ON u.id = i.user_id \
             WHERE i.provider = $1 AND i.subject = $2",
        )
        .bind(provider)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        // The user's columns carry a `user_` prefix; its id is the identity's `user_id`.
        Ok(Some((
            Identity::from_row(&row)?,
            User::from_row(&row, "user_")?,
        )))
    }

    /// The user's identities, in the order they were linked.
    pub async fn identities_of_user(&self, user_id: &str) -> Result<Vec<Identity>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, provider, subject, email, email_verified, created_at, last_used_at \
             FROM identities WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(Identity::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Unlinks one identity, only if it belongs to `user_id`: an identity id from another account
    /// unlinks nothing. Returns whether an identity was unlinked.
    ///
    /// Whether the user keeps a way to sign in is the caller's policy (the password and email
    /// recovery stay on the user row).
    pub async fn unlink_identity(
        &self,
        user_id: &str,
        identity_id: &str,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM identities WHERE id = $2 AND user_id = $1")
            .bind(user_id)
            .bind(identity_id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Records that the identity signed its user in. Only the owner's identity is touched, and
    /// `last_used_at` never moves backwards, so replicas whose clocks differ slightly agree.
    pub async fn touch_identity(
        &self,
        user_id: &str,
        identity_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE identities SET last_used_at = $3 \
             WHERE id = $2 AND user_id = $1 AND last_used_at < $3",
        )
        .bind(user_id)
        .bind(identity_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Inserts an identity on `executor` (the pool, or a transaction that also creates its user).
pub(super) async fn insert_identity<'c>(
    executor: impl Executor<'c, Database = Any>,
    identity: &NewIdentity,
) -> Result<Identity, StoreError> {
    let linked = Identity {
        id: new_id(),
        user_id: identity.user_id.clone(),
        provider: identity.provider.clone(),
        subject: identity.subject.clone(),
        email: identity.email.clone(),
        email_verified: identity.email_verified,
        created_at: identity.now,
        last_used_at: identity.now,
    };
    sqlx::query(
        "INSERT INTO identities \
         (id, user_id, provider, subject, email, email_verified, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&linked.id)
    .bind(&linked.user_id)
    .bind(&linked.provider)
    .bind(&linked.subject)
    .bind(linked.email.as_deref())
    .bind(i64::from(linked.email_verified))
    .bind(linked.created_at)
    .execute(executor)
    .await
    .map_err(subject_conflict)?;
    Ok(linked)
}

/// Maps a unique-constraint violation to `IdentityTaken`: the only unique value of a new
/// identity that can collide is `(provider, subject)` (ids are random).
fn subject_conflict(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::IdentityTaken,
        _ => StoreError::Database(error),
    }
}
