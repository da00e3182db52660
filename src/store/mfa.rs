//! Second factors: a user's authenticator app (sealed secret, replay guard), backup codes, the
//! half-signed-in record between the first and second factor, and the per-user bookkeeping
//! (when MFA became required, the factor epoch remembered devices are bound to).
//!
//! Whatever changes a user's factors bumps their epoch in the same transaction, so a remembered
//! device can never outlive the factor it was remembered for.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::sessions::{decode_factors, encode_factors};
use super::{Store, StoreError};

/// A user's authenticator app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    /// The sealed secret (see `crypto::sealing`).
    pub secret_sealed: String,
    /// When the first code confirmed it; `None` while enrolment is unfinished.
    pub confirmed_at: Option<i64>,
    /// The newest accepted time step.
    pub last_step: i64,
    /// When enrolment started.
    pub created_at: i64,
}

/// What a half-signed-in record lets its browser do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingPurpose {
    /// Show a second factor the user has (`/sign-in/factor`).
    Challenge,
    /// Enrol a first factor a policy requires (`/sign-in/enrol`): only for a user who had none.
    Enrol,
}

impl PendingPurpose {
    fn as_str(self) -> &'static str {
        match self {
            PendingPurpose::Challenge => "challenge",
            PendingPurpose::Enrol => "enrol",
        }
    }
}

/// The half-signed-in state: who showed which first factor, and where they were going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaPending {
    /// What the record is for.
    pub purpose: PendingPurpose,
    /// The user.
    pub user_id: String,
    /// First factors shown.
    pub factors: Vec<String>,
    /// The provider identity, for a provider sign-in.
    pub identity_id: Option<String>,
    /// Where the browser goes afterwards.
    pub return_to: String,
    /// When it was created.
    pub created_at: i64,
    /// When it dies.
    pub expires_at: i64,
}

impl MfaPending {
    fn from_row(row: &AnyRow) -> Result<MfaPending, sqlx::Error> {
        let factors: String = row.try_get("factors")?;
        let purpose: String = row.try_get("purpose")?;
        Ok(MfaPending {
            purpose: if purpose == "enrol" {
                PendingPurpose::Enrol
            } else {
                PendingPurpose::Challenge
            },
            user_id: row.try_get("user_id")?,
            factors: decode_factors(&factors),
            identity_id: row.try_get("identity_id")?,
            return_to: row.try_get("return_to")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
        })
    }
}

/// What a user has enrolled, for the account page and the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Factors {
    /// A confirmed authenticator app, since when.
    pub totp_since: Option<i64>,
    /// Unused backup codes.
    pub backup_codes_left: u32,
    /// Registered passkeys.
    pub passkeys: u32,
    /// Whether a backup-code set was ever issued (and not all used).
    pub backup_codes_issued: bool,
    /// The factor epoch.
    pub epoch: i64,
    /// When MFA first became required of the user.
    pub required_since: Option<i64>,
}

impl Factors {
    /// Whether the user has a second factor to be challenged with (a backup code alone counts:
    /// it is how a user who lost their app gets in, SECURITY 28).
    pub fn any(&self) -> bool {
        self.totp_since.is_some() || self.backup_codes_left > 0 || self.passkeys > 0
    }
}

/// Deletes the user's half-signed-in records (a credential change ends them like sessions).
pub(super) async fn drop_pending(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM mfa_pending WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(super) async fn bump_epoch(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO user_mfa (user_id, epoch) VALUES ($1, 1) \
         ON CONFLICT (user_id) DO UPDATE SET epoch = user_mfa.epoch + 1",
    )
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// What `user_id` has enrolled.
    pub async fn factors(&self, user_id: &str) -> Result<Factors, StoreError> {
        let row = sqlx::query(
            "SELECT \
               (SELECT confirmed_at FROM totp_factors WHERE user_id = $1) AS totp_since, \
               (SELECT COUNT(*) FROM backup_codes WHERE user_id = $1 AND used_at IS NULL) AS codes_left, \
               (SELECT COUNT(*) FROM backup_codes WHERE user_id = $1) AS codes_all, \
               (SELECT COUNT(*) FROM passkeys WHERE user_id = $1) AS passkeys, \
               (SELECT epoch FROM user_mfa WHERE user_id = $1) AS epoch, \
               (SELECT required_since FROM user_mfa WHERE user_id = $1) AS required_since",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        let left: i64 = row.try_get("codes_left")?;
        let all: i64 = row.try_get("codes_all")?;
        let passkeys: i64 = row.try_get("passkeys")?;
        Ok(Factors {
            totp_since: row.try_get("totp_since")?,
            backup_codes_left: u32::try_from(left).unwrap_or(0),
            backup_codes_issued: all > 0,
            passkeys: u32::try_from(passkeys).unwrap_or(0),
            epoch: row.try_get::<Option<i64>, _>("epoch")?.unwrap_or(0),
            required_since: row.try_get("required_since")?,
        })
    }

    /// Records that MFA is now required of the user, unless it already was: returns the time
    /// it first became required.
    pub async fn mfa_required_since(&self, user_id: &str, now: i64) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO user_mfa (user_id, required_since) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE \
             SET required_since = COALESCE(user_mfa.required_since, EXCLUDED.required_since) \
             RETURNING required_since",
        )
        .bind(user_id)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(row
            .try_get::<Option<i64>, _>("required_since")?
            .unwrap_or(now))
    }

    /// The user's authenticator app, confirmed or not.
    pub async fn totp_factor(&self, user_id: &str) -> Result<Option<TotpFactor>, StoreError> {
        let row = sqlx::query(
            "SELECT secret_sealed, confirmed_at, last_step, created_at \
             FROM totp_factors WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(TotpFactor {
            secret_sealed: row.try_get("secret_sealed")?,
            confirmed_at: row.try_get("confirmed_at")?,
            last_step: row.try_get("last_step")?,
            created_at: row.try_get("created_at")?,
        }))
    }

    /// Starts enrolling an authenticator app: stores the sealed secret unconfirmed, replacing an
    /// unfinished enrolment. Returns `false` (and changes nothing) when a confirmed one exists.
    pub async fn begin_totp(
        &self,
        user_id: &str,
        secret_sealed: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO totp_factors (user_id, secret_sealed, confirmed_at, last_step, created_at) \
             VALUES ($1, $2, NULL, 0, $3) \
             ON CONFLICT (user_id) DO UPDATE \
             SET secret_sealed = EXCLUDED.secret_sealed, created_at = EXCLUDED.created_at, last_step = 0 \
             WHERE totp_factors.confirmed_at IS NULL",
        )
        .bind(user_id)
        .bind(secret_sealed)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Accepts a code of time step `step` for the user's app: succeeds only if no code of this
    /// step or a later one was accepted before (one statement, so two requests racing with the
    /// same code cannot both win). `confirm` also confirms an unfinished enrolment, and then
    /// stores `backup_code_macs` as the user's first backup codes, bumping the epoch, all in one
    /// transaction.
    pub async fn accept_totp_step(
        &self,
        user_id: &str,
        step: i64,
        confirm: bool,
        backup_code_macs: &[String],
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let result = if confirm {
            sqlx::query(
                "UPDATE totp_factors SET last_step = $2, confirmed_at = $3 \
                 WHERE user_id = $1 AND confirmed_at IS NULL AND last_step < $2",
            )
            .bind(user_id)
            .bind(step)
            .bind(now)
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query(
                "UPDATE totp_factors SET last_step = $2 \
                 WHERE user_id = $1 AND confirmed_at IS NOT NULL AND last_step < $2",
            )
            .bind(user_id)
            .bind(step)
            .execute(&mut *tx)
            .await?
        };
        if result.rows_affected() != 1 {
            return Ok(false);
        }
        if confirm {
            if !backup_code_macs.is_empty() {
                replace_backup_codes(&mut tx, user_id, backup_code_macs, now).await?;
            }
            bump_epoch(&mut tx, user_id).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Drops an unfinished app enrolment (its secret was shown; a postponed enrolment must not
    /// leave it waiting for whoever gets to a confirm form next).
    pub async fn drop_unfinished_totp(&self, user_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NULL")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes the user's authenticator app. Returns whether there was one.
    pub async fn remove_totp(&self, user_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        // Backup codes recover the other factors; with none left they would be a factor of
        // their own.
        sqlx::query(
            "DELETE FROM backup_codes WHERE user_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM passkeys WHERE user_id = $1)",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        bump_epoch(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// Replaces the user's backup codes with a new set (the old ones stop working).
    pub async fn set_backup_codes(
        &self,
        user_id: &str,
        code_macs: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        replace_backup_codes(&mut tx, user_id, code_macs, now).await?;
        bump_epoch(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses up one backup code: whether it was an unused code of this user's.
    pub async fn use_backup_code(
        &self,
        user_id: &str,
        code_mac: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE backup_codes SET used_at = $3 \
             WHERE user_id = $1 AND code_mac = $2 AND used_at IS NULL",
        )
        .bind(user_id)
        .bind(code_mac)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Removes every second factor of the user (the administrator's MFA reset): the app, the
    /// backup codes, the passkeys and, through the epoch, every remembered device. The caller audits it.
    pub async fn reset_mfa(&self, user_id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for statement in [
            "DELETE FROM totp_factors WHERE user_id = $1",
            "DELETE FROM backup_codes WHERE user_id = $1",
            "DELETE FROM mfa_pending WHERE user_id = $1",
            "DELETE FROM passkeys WHERE user_id = $1",
        ] {
            sqlx::query(statement)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        bump_epoch(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a half-signed-in record under the hash of the id the browser holds.
    pub async fn create_mfa_pending(
        &self,
        id_hash: &str,
        pending: &MfaPending,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO mfa_pending \
             (id_hash, user_id, factors, identity_id, return_to, created_at, expires_at, purpose) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id_hash)
        .bind(&pending.user_id)
        .bind(encode_factors(&pending.factors)?)
        .bind(pending.identity_id.as_deref())
        .bind(&pending.return_to)
        .bind(pending.created_at)
        .bind(pending.expires_at)
        .bind(pending.purpose.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live half-signed-in record with this id hash (not used up: a wrong code may be
    /// retried, within the limits).
    pub async fn mfa_pending(
        &self,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<MfaPending>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, factors, identity_id, return_to, created_at, expires_at, purpose \
             FROM mfa_pending WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(MfaPending::from_row).transpose()?)
    }

    /// Uses up the record: returns it if it was still live, deletes it either way. Of two
    /// requests racing to finish one sign-in, only one gets it.
    pub async fn take_mfa_pending(
        &self,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<MfaPending>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM mfa_pending WHERE id_hash = $1 \
             RETURNING user_id, factors, identity_id, return_to, created_at, expires_at, purpose",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        let pending = row.as_ref().map(MfaPending::from_row).transpose()?;
        Ok(pending.filter(|p| p.expires_at > now))
    }
}

async fn replace_backup_codes(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
    code_macs: &[String],
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM backup_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for mac in code_macs {
        sqlx::query(
            "INSERT INTO backup_codes (user_id, code_mac, used_at, created_at) \
             VALUES ($1, $2, NULL, $3)",
        )
        .bind(user_id)
        .bind(mac)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
