//! Single-use tokens mailed to a user: email verification, password reset and email change.
//!
//! Each token carries a link secret and, optionally, a short code for typing in; only their
//! hashes are stored. Rules (SECURITY.md 15, 17): a token is bound to one user, one purpose and one
//! address; it works once; issuing a new one voids the older ones; a code takes a bounded number
//! of guesses.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::{Store, StoreError, new_id};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
    ChangeEmail,
    /// Proves the account to link a provider identity to it (`/oauth/link`).
    LinkIdentity,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
            TokenPurpose::ChangeEmail => "change_email",
            TokenPurpose::LinkIdentity => "link_identity",
        }
    }

    fn parse(stored: &str) -> Result<TokenPurpose, sqlx::Error> {
        match stored {
            "verify_email" => Ok(TokenPurpose::VerifyEmail),
            "reset_password" => Ok(TokenPurpose::ResetPassword),
            "change_email" => Ok(TokenPurpose::ChangeEmail),
            "link_identity" => Ok(TokenPurpose::LinkIdentity),
            other => Err(sqlx::Error::Decode(
                format!("unknown token purpose {other:?}").into(),
            )),
        }
    }
}

pub struct NewToken {
    pub user_id: String,
    pub purpose: TokenPurpose,
    /// The address the token was sent to.
    pub email: String,
    pub code_hash: Option<String>,
    pub link_hash: String,
    pub expires_at: i64,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: String,
    pub user_id: String,
    pub purpose: TokenPurpose,
    pub email: String,
    pub attempts: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

impl Token {
    fn from_row(row: &AnyRow) -> Result<Token, sqlx::Error> {
        let purpose: String = row.try_get("purpose")?;
        Ok(Token {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            purpose: TokenPurpose::parse(&purpose)?,
            email: row.try_get("email")?,
            attempts: row.try_get("attempts")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
            consumed_at: row.try_get("consumed_at")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOutcome {
    /// The code matched; the token is now consumed.
    Consumed(Token),
    /// The code did not match; the attempt was counted.
    Mismatch {
        attempts_left: i64,
    },
    Expired,
    /// The token's guesses are used up; even the right code is refused now.
    TooManyAttempts,
    /// No unconsumed token with a code exists for this user and purpose.
    NoToken,
}

impl Store {
    /// Stores a new token and, in the same transaction, voids every unconsumed token of the same
    /// user and purpose, so only the newest mail works.
    pub async fn issue_token(&self, token: &NewToken) -> Result<Token, StoreError> {
        let id = new_id();
        let mut tx = self.begin_write().await?;
        // Two issues for one user must not both see "no older token" and both stay live.
        self.lock_user(&mut tx, &token.user_id).await?;
        void_outstanding(&mut *tx, &token.user_id, Some(token.purpose), token.now).await?;
        sqlx::query(
            "INSERT INTO single_use_tokens \
             (id, user_id, purpose, email, code_hash, link_hash, attempts, created_at, expires_at, consumed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, NULL)",
        )
        .bind(&id)
        .bind(&token.user_id)
        .bind(token.purpose.as_str())
        .bind(&token.email)
        .bind(token.code_hash.as_deref())
        .bind(&token.link_hash)
        .bind(token.now)
        .bind(token.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Token {
            id,
            user_id: token.user_id.clone(),
            purpose: token.purpose,
            email: token.email.clone(),
            attempts: 0,
            created_at: token.now,
            expires_at: token.expires_at,
            consumed_at: None,
        })
    }

    /// Redeems a typed code against the user's newest unconsumed token of `purpose`.
    ///
    /// The attempt is counted (and committed) before the comparison, and a token whose
    /// `max_attempts` guesses are spent refuses even the right code: a 6-digit code must not be
    /// brute-forced. All of it runs under the user's lock, so concurrent guesses are counted one
    /// by one.
    pub async fn consume_code(
        &self,
        user_id: &str,
        purpose: TokenPurpose,
        code_hash: &str,
        max_attempts: i64,
        now: i64,
    ) -> Result<CodeOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        if !self.lock_user(&mut tx, user_id).await? {
            return Ok(CodeOutcome::NoToken);
        }
        let row = sqlx::query(
            "SELECT id, user_id, purpose, email, code_hash, attempts, created_at, expires_at, consumed_at \
             FROM single_use_tokens \
             WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL \
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(user_id)
        .bind(purpose.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(CodeOutcome::NoToken);
        };
        let mut token = Token::from_row(&row)?;
        // A link-only token cannot be redeemed by typing something.
        let Some(stored_hash) = row.try_get::<Option<String>, _>("code_hash")? else {
            return Ok(CodeOutcome::NoToken);
        };
        if now >= token.expires_at {
            return Ok(CodeOutcome::Expired);
        }
        if token.attempts >= max_attempts {
            return Ok(CodeOutcome::TooManyAttempts);
        }

        sqlx::query("UPDATE single_use_tokens SET attempts = attempts + 1 WHERE id = $1")
            .bind(&token.id)
            .execute(&mut *tx)
            .await?;
        token.attempts += 1;

        let matches = crate::crypto::constant_time_eq(stored_hash.as_bytes(), code_hash.as_bytes());
        if !matches {
            tx.commit().await?;
            return Ok(CodeOutcome::Mismatch {
                attempts_left: (max_attempts - token.attempts).max(0),
            });
        }
        // `consumed_at IS NULL` again: the link of this token may have been used meanwhile
        // (consume_link does not take the user's lock).
        let consumed = sqlx::query(
            "UPDATE single_use_tokens SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL",
        )
        .bind(&token.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if consumed.rows_affected() != 1 {
            return Ok(CodeOutcome::NoToken);
        }
        token.consumed_at = Some(now);
        Ok(CodeOutcome::Consumed(token))
    }

    /// Redeems a mailed link: if `link_hash` names an unconsumed, unexpired token of `purpose`,
    /// marks it consumed and returns it. One statement, so two clicks cannot both succeed.
    pub async fn consume_link(
        &self,
        purpose: TokenPurpose,
        link_hash: &str,
        now: i64,
    ) -> Result<Option<Token>, StoreError> {
        let row = sqlx::query(
            "UPDATE single_use_tokens SET consumed_at = $3 \
             WHERE link_hash = $1 AND purpose = $2 AND consumed_at IS NULL AND expires_at > $3 \
             RETURNING id, user_id, purpose, email, attempts, created_at, expires_at, consumed_at",
        )
        .bind(link_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(Token::from_row).transpose()?)
    }

    /// The newest token of the user and purpose, consumed or not (for resend throttling).
    pub async fn latest_token(
        &self,
        user_id: &str,
        purpose: TokenPurpose,
    ) -> Result<Option<Token>, StoreError> {
        // Of two tokens issued in the same millisecond, the unconsumed one superseded the other.
        let row = sqlx::query(
            "SELECT id, user_id, purpose, email, attempts, created_at, expires_at, consumed_at \
             FROM single_use_tokens WHERE user_id = $1 AND purpose = $2 \
             ORDER BY created_at DESC, CASE WHEN consumed_at IS NULL THEN 0 ELSE 1 END, id DESC \
             LIMIT 1",
        )
        .bind(user_id)
        .bind(purpose.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(Token::from_row).transpose()?)
    }
}

/// Marks the user's unconsumed tokens (of `purpose`, or of every purpose) consumed.
pub(super) async fn void_outstanding<'c>(
    executor: impl Executor<'c, Database = Any>,
    user_id: &str,
    purpose: Option<TokenPurpose>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let result = match purpose {
        Some(purpose) => {
            sqlx::query(
                "UPDATE single_use_tokens SET consumed_at = $3 \
                 WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL",
            )
            .bind(user_id)
            .bind(purpose.as_str())
            .bind(now)
            .execute(executor)
            .await?
        }
        None => {
            sqlx::query(
                "UPDATE single_use_tokens SET consumed_at = $2 \
                 WHERE user_id = $1 AND consumed_at IS NULL",
            )
            .bind(user_id)
            .bind(now)
            .execute(executor)
            .await?
        }
    };
    Ok(result.rows_affected())
}
