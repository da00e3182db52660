//! Passkeys: a user's WebAuthn credentials (stored as the credential record webauthn-rs keeps,
//! JSON) and the single-use challenges of ceremonies under way.
//!
//! Adding or removing a passkey bumps the user's factor epoch in the same transaction, as every
//! change of factors does (remembered devices end with it).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::mfa::bump_epoch;
use super::{Store, StoreError, new_id};

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// Our id (forms name it).
    pub id: String,
    /// Its user.
    pub user_id: String,
    /// The credential id, base64url.
    pub credential_id: String,
    /// The user's name for it.
    pub name: String,
    /// webauthn-rs' credential record, JSON.
    pub credential: String,
    /// When it was registered.
    pub created_at: i64,
    /// When it last signed someone in.
    pub last_used_at: Option<i64>,
}

impl StoredPasskey {
    fn from_row(row: &AnyRow) -> Result<StoredPasskey, sqlx::Error> {
        Ok(StoredPasskey {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            credential_id: row.try_get("credential_id")?,
            name: row.try_get("name")?,
            credential: row.try_get("credential")?,
            created_at: row.try_get("created_at")?,
            last_used_at: row.try_get("last_used_at")?,
        })
    }
}

/// What a ceremony's challenge is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyPurpose {
    /// Registering a passkey from `/account`.
    Register,
    /// A known user's passkey as a second factor or for step-up.
    Authenticate,
    /// Signing in with a passkey (the user is found from the credential).
    Discover,
}

impl CeremonyPurpose {
    fn as_str(self) -> &'static str {
        match self {
            CeremonyPurpose::Register => "register",
            CeremonyPurpose::Authenticate => "authenticate",
            CeremonyPurpose::Discover => "discover",
        }
    }
}

/// A ceremony's stored state, used up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// The user it was started for (none for a sign-in with a passkey).
    pub user_id: Option<String>,
    /// webauthn-rs' state, JSON.
    pub state: String,
}

impl Store {
    /// The user's passkeys, oldest first.
    pub async fn passkeys_of(&self, user_id: &str) -> Result<Vec<StoredPasskey>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, credential_id, name, credential, created_at, last_used_at \
             FROM passkeys WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(StoredPasskey::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Registers a passkey. `IdentityTaken` if that credential is registered already, to this
    /// user or another.
    pub async fn add_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        name: &str,
        credential: &str,
        now: i64,
    ) -> Result<StoredPasskey, StoreError> {
        let id = new_id();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO passkeys (id, user_id, credential_id, name, credential, created_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(credential_id)
        .bind(name)
        .bind(credential)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::IdentityTaken,
            _ => StoreError::Database(e),
        })?;
        bump_epoch(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(StoredPasskey {
            id,
            user_id: user_id.to_owned(),
            credential_id: credential_id.to_owned(),
            name: name.to_owned(),
            credential: credential.to_owned(),
            created_at: now,
            last_used_at: None,
        })
    }

    /// Records a use of the passkey: its updated credential record (signature counter) and when.
    pub async fn passkey_used(
        &self,
        user_id: &str,
        id: &str,
        credential: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE passkeys SET credential = $3, last_used_at = $4 WHERE user_id = $1 AND id = $2",
        )
        .bind(user_id)
        .bind(id)
        .bind(credential)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Renames one of the user's passkeys. Returns whether it was theirs.
    pub async fn rename_passkey(
        &self,
        user_id: &str,
        id: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query("UPDATE passkeys SET name = $3 WHERE user_id = $1 AND id = $2")
            .bind(user_id)
            .bind(id)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Removes one of the user's passkeys (a revoked credential signs nobody in again, SECURITY
    /// 33). Returns whether it was theirs.
    pub async fn remove_passkey(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND id = $2")
            .bind(user_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if removed {
            // Backup codes recover the other factors; with none left they go too.
            sqlx::query(
                "DELETE FROM backup_codes WHERE user_id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1) \
                 AND NOT EXISTS (SELECT 1 FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL)",
            )
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            bump_epoch(&mut tx, user_id).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    /// Stores a ceremony's state under the hash of the id the browser holds.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_ceremony(
        &self,
        id_hash: &str,
        user_id: Option<&str>,
        purpose: CeremonyPurpose,
        binding: &str,
        state: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webauthn_challenges \
             (id_hash, user_id, purpose, binding, state, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(binding)
        .bind(state)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Uses up a ceremony: its state if it is live, of this purpose and bound to `binding`; it
    /// is deleted either way, so a challenge answers once.
    pub async fn take_ceremony(
        &self,
        id_hash: &str,
        purpose: CeremonyPurpose,
        binding: &str,
        now: i64,
    ) -> Result<Option<Ceremony>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM webauthn_challenges WHERE id_hash = $1 \
             RETURNING user_id, purpose, binding, state, expires_at",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored_purpose: String = row.try_get("purpose")?;
        let stored_binding: String = row.try_get("binding")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        if stored_purpose != purpose.as_str()
            || !crate::crypto::constant_time_eq(stored_binding.as_bytes(), binding.as_bytes())
            || expires_at <= now
        {
            return Ok(None);
        }
        Ok(Some(Ceremony {
            user_id: row.try_get("user_id")?,
            state: row.try_get("state")?,
        }))
    }
}
