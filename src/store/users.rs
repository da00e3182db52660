//! User accounts: the email address that identifies them and the password that proves them.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Backend, Store, StoreError, TokenPurpose, email_conflict, new_id, sessions, tokens};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub email_verified_at: Option<i64>,
    pub password_hash: Option<String>,
    /// Display name (OIDC `name`), from a provider sign-in.
    pub name: Option<String>,
    /// Picture URL (OIDC `picture`), from a provider sign-in.
    pub picture: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl User {
    /// Reads a user from columns named `{prefix}id`, `{prefix}email`, ... so a join can select a
    /// user beside another row.
    pub(super) fn from_row(row: &AnyRow, prefix: &str) -> Result<User, sqlx::Error> {
        let column = |name: &str| format!("{prefix}{name}");
        Ok(User {
            id: row.try_get(column("id").as_str())?,
            email: row.try_get(column("email").as_str())?,
            email_verified_at: row.try_get(column("email_verified_at").as_str())?,
            password_hash: row.try_get(column("password_hash").as_str())?,
            name: row.try_get(column("name").as_str())?,
            picture: row.try_get(column("picture").as_str())?,
            created_at: row.try_get(column("created_at").as_str())?,
            updated_at: row.try_get(column("updated_at").as_str())?,
        })
    }
}

impl Store {
    /// Creates an unverified user. The caller normalizes `email` (lower case); the database keeps
    /// it unique, so two sign-ups racing for one address cannot both succeed.
    pub async fn create_user_with_email(
        &self,
        email: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<User, StoreError> {
        let user = User {
            id: new_id(),
            email: email.to_owned(),
            email_verified_at: None,
            password_hash: Some(password_hash.to_owned()),
            name: None,
            picture: None,
            created_at: now,
            updated_at: now,
        };
        sqlx::query(
            "INSERT INTO users (id, email, email_verified_at, password_hash, created_at, updated_at) \
             VALUES ($1, $2, NULL, $3, $4, $4)",
        )
        .bind(&user.id)
        .bind(&user.email)
        .bind(password_hash)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(email_conflict)?;
        Ok(user)
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, email_verified_at, password_hash, name, picture, created_at, updated_at \
             FROM users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| User::from_row(&row, "")).transpose()?)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT id, email, email_verified_at, password_hash, name, picture, created_at, updated_at \
             FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| User::from_row(&row, "")).transpose()?)
    }

    /// Fills the profile fields the user does not have yet (a provider's `name` and
    /// `picture`); writes nothing when there is nothing new.
    pub async fn fill_profile(
        &self,
        user_id: &str,
        name: Option<&str>,
        picture: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET name = COALESCE(name, $2), picture = COALESCE(picture, $3), \
             updated_at = $4 \
             WHERE id = $1 AND ((name IS NULL AND $2 IS NOT NULL) OR (picture IS NULL AND $3 IS NOT NULL))",
        )
        .bind(user_id)
        .bind(name)
        .bind(picture)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records that the user proved control of their address. Verifying again keeps the first
    /// verification time.
    pub async fn mark_email_verified(&self, user_id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $2), updated_at = $2 \
             WHERE id = $1",
        )
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets the password hash and nothing else, e.g. a transparent rehash after sign-in (stronger
    /// parameters, an imported legacy format), which must not end any session. A password
    /// *change* goes through [`Store::replace_password`].
    pub async fn set_password_hash(
        &self,
        user_id: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(user_id)
            .bind(password_hash)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sets a new, verified email address and, in the same transaction, revokes every session
    /// but `keep_session` and voids every outstanding single-use token (a reset link mailed to the
    /// old address must not outlive the change). `EmailTaken` if another user has the address;
    /// then nothing changes.
    pub async fn change_email(
        &self,
        user_id: &str,
        new_email: &str,
        keep_session: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE users SET email = $2, email_verified_at = $3, updated_at = $3 WHERE id = $1",
        )
        .bind(user_id)
        .bind(new_email)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(email_conflict)?;
        sessions::revoke_all_but(&mut *tx, user_id, keep_session, now).await?;
        super::mfa::drop_pending(&mut tx, user_id).await?;
        tokens::void_outstanding(&mut *tx, user_id, None, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a new password hash and, in the same transaction, revokes every session of the user
    /// but `keep_session` (whoever knew the old password is signed out) and voids outstanding
    /// password-reset links. Returns how many sessions were revoked.
    pub async fn replace_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep_session: Option<&str>,
        now: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(user_id)
            .bind(password_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let revoked = sessions::revoke_all_but(&mut *tx, user_id, keep_session, now).await?;
        // Half-signed-in records were made with the old password: they end with it.
        super::mfa::drop_pending(&mut tx, user_id).await?;
        tokens::void_outstanding(&mut *tx, user_id, Some(TokenPurpose::ResetPassword), now).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// Locks the user's row until the transaction ends, so concurrent token operations of one
    /// user run one after another instead of interleaving (two issues both leaving a live token,
    /// two guesses both passing the attempt check). Returns false when the user does not exist.
    pub(super) async fn lock_user(
        &self,
        tx: &mut Transaction<'static, Any>,
        user_id: &str,
    ) -> Result<bool, sqlx::Error> {
        let sql = match self.backend {
            // NO KEY UPDATE: excludes other lockers but not inserts that reference the user.
            Backend::Postgres => "SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE",
            // The transaction's BEGIN IMMEDIATE already excludes every other writer.
            Backend::Sqlite => "SELECT id FROM users WHERE id = $1",
        };
        let row = sqlx::query(sql)
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(row.is_some())
    }
}
