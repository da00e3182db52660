//! Organizations and who belongs to them: the organization (created by a user, or `managed`:
//! declared as a resource and kept in step by the server's sync), memberships with a role,
//! invitations by email (only the token's hash is stored; single use, revocable, expiring) and
//! domains (at most one organization each).
//!
//! What a role may do is not decided here: the store keeps names, the auth layer checks them.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use super::{Store, StoreError, new_id};

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Random id, stable across renames (the `org_id` claim).
    pub id: String,
    /// Unique slug (the `org_slug` claim, `?organization=`).
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Logo URL, if any.
    pub logo_url: Option<String>,
    /// Public metadata (JSON object), for tokens.
    pub public_metadata: String,
    /// Private metadata (JSON object), for the server only.
    pub private_metadata: String,
    /// Declared as a resource and synced from it.
    pub managed: bool,
    /// The user who created it (runtime organizations), while that user exists.
    pub created_by: Option<String>,
    /// When it was created.
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

/// What a new organization starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrganization {
    /// Unique slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Declared as a resource.
    pub managed: bool,
    /// The creating user, who becomes a member with `creator_role` (runtime organizations).
    pub creator: Option<(String, String)>,
    /// When.
    pub now: i64,
}

/// A user's place in an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The organization.
    pub organization_id: String,
    /// The member.
    pub user_id: String,
    /// The member's role name.
    pub role: String,
    /// When they joined.
    pub created_at: i64,
    /// When their role last changed.
    pub updated_at: i64,
}

/// An invitation to join an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Random id (for revoking it from the organization's page).
    pub id: String,
    /// The organization.
    pub organization_id: String,
    /// The invited address, lower-case: a verified address of the accepting user must match.
    pub email: String,
    /// The role the invitee gets.
    pub role: String,
    /// Who invited, while that user exists.
    pub invited_by: Option<String>,
    /// When it was sent.
    pub created_at: i64,
    /// When it stops working.
    pub expires_at: i64,
}

/// A new invitation; `token_hash` is the hash of the token mailed to `email`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvitation {
    /// The organization.
    pub organization_id: String,
    /// The invited address, lower-case.
    pub email: String,
    /// The role the invitee gets.
    pub role: String,
    /// Hash of the mailed token.
    pub token_hash: String,
    /// Who invites.
    pub invited_by: Option<String>,
    /// When.
    pub now: i64,
    /// When it stops working.
    pub expires_at: i64,
}

impl Organization {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let managed: i64 = row.try_get("managed")?;
        Ok(Self {
            id: row.try_get("id")?,
            slug: row.try_get("slug")?,
            name: row.try_get("name")?,
            logo_url: row.try_get("logo_url")?,
            public_metadata: row.try_get("public_metadata")?,
            private_metadata: row.try_get("private_metadata")?,
            managed: managed != 0,
            created_by: row.try_get("created_by")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

impl Membership {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            organization_id: row.try_get("organization_id")?,
            user_id: row.try_get("user_id")?,
            role: row.try_get("role")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

impl Invitation {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            organization_id: row.try_get("organization_id")?,
            email: row.try_get("email")?,
            role: row.try_get("role")?,
            invited_by: row.try_get("invited_by")?,
            created_at: row.try_get("created_at")?,
            expires_at: row.try_get("expires_at")?,
        })
    }
}

// Column lists as macros: sqlx takes static SQL only, and `concat!` needs literals.
macro_rules! organization_columns {
    () => {
        "id, slug, name, logo_url, public_metadata, private_metadata, managed, created_by, \
         created_at, updated_at"
    };
}
macro_rules! invitation_columns {
    () => {
        "id, organization_id, email, role, invited_by, created_at, expires_at"
    };
}

fn slug_conflict(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::SlugTaken,
        _ => StoreError::Database(error),
    }
}

impl Store {
    /// Creates an organization, and the creator's membership with it in one transaction.
    /// `SlugTaken` if the slug is in use; then nothing is written.
    pub async fn create_organization(
        &self,
        new: &NewOrganization,
    ) -> Result<Organization, StoreError> {
        let organization = Organization {
            id: new_id(),
            slug: new.slug.clone(),
            name: new.name.clone(),
            logo_url: None,
            public_metadata: "{}".into(),
            private_metadata: "{}".into(),
            managed: new.managed,
            created_by: new.creator.as_ref().map(|(user, _)| user.clone()),
            created_at: new.now,
            updated_at: new.now,
        };
        let mut tx = self.begin_write().await?;
        sqlx::query(concat!(
            "INSERT INTO organizations (",
            organization_columns!(),
            ") \
             VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8, $8)"
        ))
        .bind(&organization.id)
        .bind(&organization.slug)
        .bind(&organization.name)
        .bind(&organization.public_metadata)
        .bind(&organization.private_metadata)
        .bind(i64::from(organization.managed))
        .bind(&organization.created_by)
        .bind(new.now)
        .execute(&mut *tx)
        .await
        .map_err(slug_conflict)?;
        if let Some((user, role)) = &new.creator {
            upsert_membership(&mut *tx, &organization.id, user, role, new.now).await?;
        }
        tx.commit().await?;
        Ok(organization)
    }

    /// The organization with this slug.
    pub async fn organization_by_slug(
        &self,
        slug: &str,
    ) -> Result<Option<Organization>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            organization_columns!(),
            " FROM organizations WHERE slug = $1"
        ))
        .bind(slug)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(Organization::from_row).transpose()?)
    }

    /// The organization with this id.
    pub async fn organization_by_id(&self, id: &str) -> Result<Option<Organization>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            organization_columns!(),
            " FROM organizations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(Organization::from_row).transpose()?)
    }

    /// Adds `user_id` to the organization with `role`, or changes their role.
    pub async fn set_membership(
        &self,
        organization_id: &str,
        user_id: &str,
        role: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        upsert_membership(&self.pool, organization_id, user_id, role, now).await
    }

    /// The user's membership of the organization, if any.
    pub async fn membership(
        &self,
        organization_id: &str,
        user_id: &str,
    ) -> Result<Option<Membership>, StoreError> {
        let row = sqlx::query(
            "SELECT organization_id, user_id, role, created_at, updated_at FROM memberships \
             WHERE organization_id = $1 AND user_id = $2",
        )
        .bind(organization_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(Membership::from_row).transpose()?)
    }

    /// The organizations a user belongs to, with their memberships, by slug.
    pub async fn organizations_of_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<(Organization, Membership)>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.id, o.slug, o.name, o.logo_url, o.public_metadata, o.private_metadata, \
             o.managed, o.created_by, o.created_at, o.updated_at, m.organization_id, m.user_id, \
             m.role, m.created_at AS m_created_at, m.updated_at AS m_updated_at \
             FROM memberships m JOIN organizations o ON o.id = m.organization_id \
             WHERE m.user_id = $1 ORDER BY o.slug",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let membership = Membership {
                organization_id: row.try_get("organization_id")?,
                user_id: row.try_get("user_id")?,
                role: row.try_get("role")?,
                created_at: row.try_get("m_created_at")?,
                updated_at: row.try_get("m_updated_at")?,
            };
            out.push((Organization::from_row(row)?, membership));
        }
        Ok(out)
    }

    /// The organization's members, oldest first.
    pub async fn members(&self, organization_id: &str) -> Result<Vec<Membership>, StoreError> {
        let rows = sqlx::query(
            "SELECT organization_id, user_id, role, created_at, updated_at FROM memberships \
             WHERE organization_id = $1 ORDER BY created_at, user_id",
        )
        .bind(organization_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(Membership::from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Removes a member; whether anyone was removed.
    pub async fn remove_member(
        &self,
        organization_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2")
                .bind(organization_id)
                .bind(user_id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores an invitation.
    pub async fn create_invitation(&self, new: &NewInvitation) -> Result<Invitation, StoreError> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO invitations (id, organization_id, email, role, token_hash, invited_by, \
             created_at, expires_at, accepted_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)",
        )
        .bind(&id)
        .bind(&new.organization_id)
        .bind(&new.email)
        .bind(&new.role)
        .bind(&new.token_hash)
        .bind(&new.invited_by)
        .bind(new.now)
        .bind(new.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(Invitation {
            id,
            organization_id: new.organization_id.clone(),
            email: new.email.clone(),
            role: new.role.clone(),
            invited_by: new.invited_by.clone(),
            created_at: new.now,
            expires_at: new.expires_at,
        })
    }

    /// Uses up the invitation whose token hashes to `token_hash`, if it is still pending
    /// (not accepted, not revoked, not expired at `now`); one statement, so two acceptances
    /// racing for it cannot both win.
    pub async fn take_invitation(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<Invitation>, StoreError> {
        let row = sqlx::query(concat!(
            "UPDATE invitations SET accepted_at = $2 WHERE token_hash = $1 \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
             RETURNING ",
            invitation_columns!()
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(Invitation::from_row).transpose()?)
    }

    /// Revokes a pending invitation of the organization; whether one was revoked. The
    /// organization is part of the key, so an id from another organization revokes nothing.
    pub async fn revoke_invitation(
        &self,
        organization_id: &str,
        id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE invitations SET revoked_at = $3 WHERE organization_id = $1 AND id = $2 \
             AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(organization_id)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The organization's pending invitations at `now`, newest first.
    pub async fn pending_invitations(
        &self,
        organization_id: &str,
        now: i64,
    ) -> Result<Vec<Invitation>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            invitation_columns!(),
            " FROM invitations WHERE organization_id = $1 \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC, id"
        ))
        .bind(organization_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(Invitation::from_row)
            .collect::<Result<_, _>>()?)
    }
}

/// What [`Store::change_member`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// Done.
    Done,
    /// The user is not a member.
    NotMember,
    /// Nothing was changed: no member holding a managing role would be left.
    LastManager,
}

impl Store {
    /// Changes a member's role (`Some`) or removes them (`None`), unless that leaves no member
    /// whose role is one of `manager_roles`; one transaction, with the organization's row
    /// locked so two such changes cannot both remove the last two managers.
    pub async fn change_member(
        &self,
        organization_id: &str,
        user_id: &str,
        role: Option<&str>,
        manager_roles: &[String],
        now: i64,
    ) -> Result<MemberChange, StoreError> {
        self.change_member_as(organization_id, user_id, role, manager_roles, false, now)
            .await
    }

    /// [`Store::change_member`]; `removed_by_admin` also records the removal (in the same
    /// transaction), so joining by email domain does not undo it.
    pub async fn change_member_as(
        &self,
        organization_id: &str,
        user_id: &str,
        role: Option<&str>,
        manager_roles: &[String],
        removed_by_admin: bool,
        now: i64,
    ) -> Result<MemberChange, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE organizations SET updated_at = updated_at WHERE id = $1")
            .bind(organization_id)
            .execute(&mut *tx)
            .await?;
        let managers_before = managers(&mut tx, organization_id, manager_roles).await?;
        let changed = match role {
            Some(role) => sqlx::query(
                "UPDATE memberships SET role = $3, updated_at = $4 \
                 WHERE organization_id = $1 AND user_id = $2",
            )
            .bind(organization_id)
            .bind(user_id)
            .bind(role)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            None => {
                sqlx::query("DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2")
                    .bind(organization_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            }
        };
        if changed == 0 {
            tx.rollback().await?;
            return Ok(MemberChange::NotMember);
        }
        // Only the change that takes the last manager away is refused: an organization that
        // had none (its declared admin has no account yet) still lets members leave.
        if managers_before > 0 && managers(&mut tx, organization_id, manager_roles).await? == 0 {
            tx.rollback().await?;
            return Ok(MemberChange::LastManager);
        }
        if role.is_none() && removed_by_admin {
            sqlx::query(
                "INSERT INTO organization_removals (organization_id, user_id, removed_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (organization_id, user_id) \
                 DO UPDATE SET removed_at = excluded.removed_at",
            )
            .bind(organization_id)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(MemberChange::Done)
    }

    /// Renames a runtime (unmanaged) organization; whether it was renamed.
    pub async fn rename_organization(
        &self,
        organization_id: &str,
        name: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE organizations SET name = $2, updated_at = $3 WHERE id = $1 AND managed = 0",
        )
        .bind(organization_id)
        .bind(name)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// How many organizations `user_id` created (for the per-user limit).
    pub async fn organizations_created_by(&self, user_id: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM organizations WHERE created_by = $1")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// The organization holding the verified domain, and its enrollment.
    pub async fn organization_of_domain(
        &self,
        domain: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT organization_id, enrollment FROM organization_domains \
             WHERE domain = $1 AND verified_at IS NOT NULL",
        )
        .bind(domain)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|r| {
                Ok::<_, sqlx::Error>((r.try_get("organization_id")?, r.try_get("enrollment")?))
            })
            .transpose()?)
    }

    /// The pending invitation whose token hashes to `token_hash`, at `now`.
    pub async fn pending_invitation(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<Invitation>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            invitation_columns!(),
            " FROM invitations WHERE token_hash = $1 \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(Invitation::from_row).transpose()?)
    }

    /// Whether `email` has a pending invitation to any organization (invite-only sign-up).
    pub async fn is_invited(&self, email: &str, now: i64) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM invitations WHERE email = $1 \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 LIMIT 1",
        )
        .bind(email)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Accepts the pending invitation whose token hashes to `token_hash` for `user_id`, whose
    /// verified address `email` it must have been sent to: uses it up and makes the user a
    /// member with its role, in one transaction (a member already keeps their role, so an
    /// invitation cannot demote the last admin). `None`: no such pending invitation for them.
    pub async fn accept_invitation(
        &self,
        token_hash: &str,
        email: &str,
        user_id: &str,
        now: i64,
    ) -> Result<Option<Invitation>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(concat!(
            "UPDATE invitations SET accepted_at = $3 WHERE token_hash = $1 AND email = $2 \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3 \
             RETURNING ",
            invitation_columns!()
        ))
        .bind(token_hash)
        .bind(email)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let invitation = Invitation::from_row(&row)?;
        // Invited back: a removal no longer stands.
        sqlx::query(
            "DELETE FROM organization_removals WHERE organization_id = $1 AND user_id = $2",
        )
        .bind(&invitation.organization_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO memberships (organization_id, user_id, role, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (organization_id, user_id) DO NOTHING",
        )
        .bind(&invitation.organization_id)
        .bind(user_id)
        .bind(&invitation.role)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(invitation))
    }

    /// Whether an admin removed `user_id` from the organization (and no invitation since).
    pub async fn was_removed(
        &self,
        organization_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM organization_removals WHERE organization_id = $1 AND user_id = $2",
        )
        .bind(organization_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Adds `user_id` with `role` unless they are a member already; whether they were added.
    pub async fn join_organization(
        &self,
        organization_id: &str,
        user_id: &str,
        role: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO memberships (organization_id, user_id, role, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (organization_id, user_id) DO NOTHING",
        )
        .bind(organization_id)
        .bind(user_id)
        .bind(role)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// How many members of the organization hold one of `manager_roles`.
async fn managers(
    tx: &mut sqlx::Transaction<'static, Any>,
    organization_id: &str,
    manager_roles: &[String],
) -> Result<usize, StoreError> {
    let roles: Vec<String> = sqlx::query("SELECT role FROM memberships WHERE organization_id = $1")
        .bind(organization_id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get("role"))
        .collect::<Result<_, _>>()?;
    Ok(roles.iter().filter(|r| manager_roles.contains(r)).count())
}

pub(super) async fn upsert_membership<'e>(
    executor: impl Executor<'e, Database = Any>,
    organization_id: &str,
    user_id: &str,
    role: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO memberships (organization_id, user_id, role, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (organization_id, user_id) \
         DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at",
    )
    .bind(organization_id)
    .bind(user_id)
    .bind(role)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}
