//! Sign-in through upstream providers: the short-lived records of a browser's trip to a provider
//! and back ([`Flow`]), of a provider identity waiting for its owner to prove the existing
//! account ([`PendingLink`]), and the one transaction that creates an account from a provider.
//!
//! Both records are looked up by the hash of a random id the browser holds in a cookie, and used
//! up by the lookup itself (`DELETE ... RETURNING`): of two requests racing with one id, only one
//! gets the record, so a replayed callback finds nothing.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::identities::{Identity, NewIdentity};
use super::{Store, StoreError, User, email_conflict, new_id};

/// A flow to store at its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFlow {
    /// Hash of the flow id the browser holds.
    pub id_hash: String,
    /// The provider's slug.
    pub provider: String,
    /// Where the browser goes afterwards.
    pub return_to: String,
    /// The signed-in user linking this provider from `/account`, if that is what this flow is.
    pub link_user_id: Option<String>,
    /// Now, Unix ms.
    pub now: i64,
    /// When the flow dies, Unix ms.
    pub expires_at: i64,
}

/// A flow, used up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// The provider's slug.
    pub provider: String,
    /// Where the browser goes afterwards.
    pub return_to: String,
    /// The account to link to, for a flow started from `/account`.
    pub link_user_id: Option<String>,
}

/// A provider identity waiting for proof of the existing account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLink {
    /// The existing account with the identity's email address.
    pub user_id: String,
    /// The provider's slug.
    pub provider: String,
    /// The provider's subject.
    pub subject: String,
    /// The address the provider reported.
    pub email: Option<String>,
    /// Whether the provider said it verified the address.
    pub email_verified: bool,
    /// Where the browser goes afterwards.
    pub return_to: String,
}

impl PendingLink {
    fn from_row(row: &AnyRow) -> Result<PendingLink, sqlx::Error> {
        let email_verified: i64 = row.try_get("email_verified")?;
        Ok(PendingLink {
            user_id: row.try_get("user_id")?,
            provider: row.try_get("provider")?,
            subject: row.try_get("subject")?,
            email: row.try_get("email")?,
            email_verified: email_verified != 0,
            return_to: row.try_get("return_to")?,
        })
    }
}

impl Store {
    /// Stores a flow at its start.
    pub async fn create_flow(&self, flow: &NewFlow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO federation_flows \
             (id_hash, provider, return_to, link_user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&flow.id_hash)
        .bind(&flow.provider)
        .bind(&flow.return_to)
        .bind(flow.link_user_id.as_deref())
        .bind(flow.now)
        .bind(flow.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Uses up the flow with this id hash: returns it if it is still live, and deletes it either
    /// way, so it can never be used twice.
    pub async fn take_flow(&self, id_hash: &str, now: i64) -> Result<Option<Flow>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM federation_flows WHERE id_hash = $1 \
             RETURNING provider, return_to, link_user_id, expires_at",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires_at: i64 = row.try_get("expires_at")?;
        if expires_at <= now {
            return Ok(None);
        }
        Ok(Some(Flow {
            provider: row.try_get("provider")?,
            return_to: row.try_get("return_to")?,
            link_user_id: row.try_get("link_user_id")?,
        }))
    }

    /// Stores an identity waiting for proof of the account `link.user_id`.
    pub async fn create_pending_link(
        &self,
        id_hash: &str,
        link: &PendingLink,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pending_links \
             (id_hash, user_id, provider, subject, email, email_verified, return_to, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id_hash)
        .bind(&link.user_id)
        .bind(&link.provider)
        .bind(&link.subject)
        .bind(link.email.as_deref())
        .bind(i64::from(link.email_verified))
        .bind(&link.return_to)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live pending link with this id hash, without using it up (to show the proof page).
    pub async fn pending_link(
        &self,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<PendingLink>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, provider, subject, email, email_verified, return_to \
             FROM pending_links WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(PendingLink::from_row).transpose()?)
    }

    /// Uses up the pending link with this id hash (after its owner proved the account).
    pub async fn take_pending_link(
        &self,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<PendingLink>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM pending_links WHERE id_hash = $1 \
             RETURNING user_id, provider, subject, email, email_verified, return_to, expires_at",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires_at: i64 = row.try_get("expires_at")?;
        if expires_at <= now {
            return Ok(None);
        }
        Ok(Some(PendingLink::from_row(&row)?))
    }

    /// Creates an account from a provider sign-in: a user whose address the provider verified
    /// (no password; `profile` is its name and picture), and its first identity, in one transaction, so a crash never leaves an
    /// account nobody can sign in to. `EmailTaken` if the address is registered meanwhile,
    /// `IdentityTaken` if the subject was linked meanwhile; then nothing is created.
    pub async fn create_federated_user(
        &self,
        email: &str,
        profile: (Option<&str>, Option<&str>),
        identity: &NewIdentity,
    ) -> Result<(User, Identity), StoreError> {
        let now = identity.now;
        let user = User {
            id: new_id(),
            email: email.to_owned(),
            email_verified_at: Some(now),
            password_hash: None,
            name: profile.0.map(str::to_owned),
            picture: profile.1.map(str::to_owned),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO users \
             (id, email, email_verified_at, password_hash, name, picture, created_at, updated_at) \
             VALUES ($1, $2, $3, NULL, $4, $5, $3, $3)",
        )
        .bind(&user.id)
        .bind(&user.email)
        .bind(now)
        .bind(user.name.as_deref())
        .bind(user.picture.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(email_conflict)?;
        let linked = super::identities::insert_identity(
            &mut *tx,
            &NewIdentity {
                user_id: user.id.clone(),
                ..identity.clone()
            },
        )
        .await?;
        tx.commit().await?;
        Ok((user, linked))
    }
}
