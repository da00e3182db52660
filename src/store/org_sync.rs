//! Declared organizations into the database: each declared organization in one transaction,
//! writing only what differs (a reload without a change writes nothing). Runtime-created
//! organizations are never touched: a declared slug that a runtime organization holds is a
//! conflict, reported and left alone.

use std::collections::BTreeMap;

use sqlx::{Any, Row, Transaction};

use super::{Store, StoreError, new_id};

/// An organization as the platform team declares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeclaredOrganization {
    /// Slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Roles the organization adds: name → permissions (sorted).
    pub roles: BTreeMap<String, Vec<String>>,
    /// Domains → enrollment (`autoJoin`, `suggest`, `none`).
    pub domains: BTreeMap<String, String>,
    /// Members: lower-case email → role.
    pub members: BTreeMap<String, String>,
    /// Delete it (not just release it) once it is no longer declared.
    pub delete_when_undeclared: bool,
    /// A digest of everything above: recorded once a sync leaves nothing pending, so the next
    /// one can skip an organization whose declaration is unchanged.
    pub fingerprint: String,
}

/// What syncing one declared organization did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncOutcome {
    /// Rows written (0: it was up to date).
    pub writes: u64,
    /// A runtime-created organization holds the slug: nothing was written.
    pub slug_conflict: bool,
    /// Declared domains another organization holds (not taken over).
    pub domain_conflicts: Vec<String>,
    /// Declared members with no account yet, with their role (the sync invites them).
    pub missing_members: Vec<(String, String)>,
    /// The organization's id.
    pub organization_id: Option<String>,
    /// SQL statements run (reads and writes).
    pub statements: u64,
}

impl Store {
    /// Several replicas load the same config at once: one syncs at a time (SQLite's write
    /// transaction is already exclusive).
    async fn sync_lock(&self, tx: &mut Transaction<'static, Any>) -> Result<(), StoreError> {
        if self.backend() == super::Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7236155102)")
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Brings the database in line with `declared`, in one transaction.
    pub async fn sync_declared_organization(
        &self,
        declared: &DeclaredOrganization,
        now: i64,
    ) -> Result<SyncOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        self.sync_lock(&mut tx).await?;
        let outcome = sync_one(&mut tx, declared, now).await?;
        if outcome.writes == 0 {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(outcome)
    }

    /// Managed organizations that are no longer declared: deleted where their deletion policy
    /// says `Delete`, else released (kept, unmanaged; declaring the slug again adopts it). How
    /// many changed.
    pub async fn release_undeclared_organizations(
        &self,
        declared_slugs: &[String],
        now: i64,
    ) -> Result<u64, StoreError> {
        let rows =
            sqlx::query("SELECT id, slug, deletion_policy FROM organizations WHERE managed = 1")
                .fetch_all(&self.pool)
                .await?;
        let mut changed = 0;
        for row in rows {
            let slug: String = row.try_get("slug")?;
            if declared_slugs.contains(&slug) {
                continue;
            }
            let id: String = row.try_get("id")?;
            let policy: String = row.try_get("deletion_policy")?;
            // One statement each: memberships, invitations, roles and domains go by cascade.
            let done = if policy == "Delete" {
                sqlx::query("DELETE FROM organizations WHERE id = $1 AND managed = 1")
                    .bind(&id)
                    .execute(&self.pool)
                    .await?
            } else {
                sqlx::query(
                    "UPDATE organizations SET managed = 0, released_at = $2, updated_at = $2 \
                     WHERE id = $1 AND managed = 1",
                )
                .bind(&id)
                .bind(now)
                .execute(&self.pool)
                .await?
            };
            changed += done.rows_affected();
        }
        Ok(changed)
    }

    /// The fingerprints of the declarations managed organizations were last fully synced
    /// from, by slug (one statement).
    pub async fn declared_fingerprints(
        &self,
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let rows = sqlx::query(
            "SELECT slug, declared_hash FROM organizations \
             WHERE managed = 1 AND declared_hash IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            out.insert(row.try_get("slug")?, row.try_get("declared_hash")?);
        }
        Ok(out)
    }

    /// Whether the sync already invited `email` into the organization (invited once, even if
    /// that invitation expired since).
    pub async fn declared_invitation_sent(
        &self,
        organization_id: &str,
        email: &str,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM invitations WHERE organization_id = $1 AND email = $2 \
             AND from_declaration = 1 LIMIT 1",
        )
        .bind(organization_id)
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Marks the invitation as the one the sync sent for a declared member.
    pub async fn mark_declared_invitation(&self, invitation_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE invitations SET from_declaration = 1 WHERE id = $1")
            .bind(invitation_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

async fn sync_one(
    tx: &mut Transaction<'static, Any>,
    declared: &DeclaredOrganization,
    now: i64,
) -> Result<SyncOutcome, StoreError> {
    let mut outcome = SyncOutcome::default();
    let deletion_policy = if declared.delete_when_undeclared {
        "Delete"
    } else {
        "Retain"
    };
    let existing = sqlx::query(
        "SELECT id, name, managed, released_at, deletion_policy FROM organizations \
             WHERE slug = $1",
    )
    .bind(&declared.slug)
    .fetch_optional(counted(&mut outcome.statements, tx))
    .await?;
    let id = match existing {
        Some(row) => {
            let managed: i64 = row.try_get("managed")?;
            let released: Option<i64> = row.try_get("released_at")?;
            let id: String = row.try_get("id")?;
            if managed == 0 && released.is_none() {
                outcome.slug_conflict = true;
                return Ok(outcome);
            }
            if managed == 0 {
                // Released earlier, declared again: managed once more.
                outcome.writes += sqlx::query(
                    "UPDATE organizations SET managed = 1, released_at = NULL, updated_at = $2 \
                     WHERE id = $1",
                )
                .bind(&id)
                .bind(now)
                .execute(counted(&mut outcome.statements, tx))
                .await?
                .rows_affected();
            }
            let policy: String = row.try_get("deletion_policy")?;
            if policy != deletion_policy {
                outcome.writes += sqlx::query(
                    "UPDATE organizations SET deletion_policy = $2, updated_at = $3 WHERE id = $1",
                )
                .bind(&id)
                .bind(deletion_policy)
                .bind(now)
                .execute(counted(&mut outcome.statements, tx))
                .await?
                .rows_affected();
            }
            let name: String = row.try_get("name")?;
            if name != declared.name {
                outcome.writes += sqlx::query(
                    "UPDATE organizations SET name = $2, updated_at = $3 WHERE id = $1",
                )
                .bind(&id)
                .bind(&declared.name)
                .bind(now)
                .execute(counted(&mut outcome.statements, tx))
                .await?
                .rows_affected();
            }
            id
        }
        None => {
            let id = new_id();
            outcome.writes += sqlx::query(
                "INSERT INTO organizations (id, slug, name, logo_url, public_metadata, \
                 private_metadata, managed, created_by, created_at, updated_at, deletion_policy) \
                 VALUES ($1, $2, $3, NULL, '{}', '{}', 1, NULL, $4, $4, $5)",
            )
            .bind(&id)
            .bind(&declared.slug)
            .bind(&declared.name)
            .bind(now)
            .bind(deletion_policy)
            .execute(counted(&mut outcome.statements, tx))
            .await?
            .rows_affected();
            id
        }
    };
    outcome.organization_id = Some(id.clone());

    // Roles.
    let mut roles: BTreeMap<String, String> = BTreeMap::new();
    for row in
        sqlx::query("SELECT name, permissions FROM organization_roles WHERE organization_id = $1")
            .bind(&id)
            .fetch_all(counted(&mut outcome.statements, tx))
            .await?
    {
        roles.insert(row.try_get("name")?, row.try_get("permissions")?);
    }
    for (name, permissions) in &declared.roles {
        let permissions = permissions.join(" ");
        if roles.remove(name).as_deref() == Some(permissions.as_str()) {
            continue;
        }
        outcome.writes += sqlx::query(
            "INSERT INTO organization_roles (organization_id, name, permissions) VALUES ($1, $2, $3) \
             ON CONFLICT (organization_id, name) DO UPDATE SET permissions = excluded.permissions",
        )
        .bind(&id)
        .bind(name)
        .bind(&permissions)
        .execute(counted(&mut outcome.statements, tx))
        .await?
        .rows_affected();
    }
    for gone in roles.keys() {
        outcome.writes +=
            sqlx::query("DELETE FROM organization_roles WHERE organization_id = $1 AND name = $2")
                .bind(&id)
                .bind(gone)
                .execute(counted(&mut outcome.statements, tx))
                .await?
                .rows_affected();
    }

    // Domains: this organization's, and conflicts with others'.
    let mut domains: BTreeMap<String, String> = BTreeMap::new();
    for row in sqlx::query(
        "SELECT domain, enrollment FROM organization_domains WHERE organization_id = $1",
    )
    .bind(&id)
    .fetch_all(counted(&mut outcome.statements, tx))
    .await?
    {
        domains.insert(row.try_get("domain")?, row.try_get("enrollment")?);
    }
    for (domain, enrollment) in &declared.domains {
        if domains.remove(domain).as_deref() == Some(enrollment.as_str()) {
            continue;
        }
        let owner =
            sqlx::query("SELECT organization_id FROM organization_domains WHERE domain = $1")
                .bind(domain)
                .fetch_optional(counted(&mut outcome.statements, tx))
                .await?;
        if let Some(owner) = owner {
            let owner: String = owner.try_get("organization_id")?;
            if owner != id {
                outcome.domain_conflicts.push(domain.clone());
                continue;
            }
            outcome.writes +=
                sqlx::query("UPDATE organization_domains SET enrollment = $2 WHERE domain = $1")
                    .bind(domain)
                    .bind(enrollment)
                    .execute(counted(&mut outcome.statements, tx))
                    .await?
                    .rows_affected();
        } else {
            // Declared by the platform team: verified by declaration.
            outcome.writes += sqlx::query(
                "INSERT INTO organization_domains (domain, organization_id, enrollment, verified_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(domain)
            .bind(&id)
            .bind(enrollment)
            .bind(now)
            .execute(counted(&mut outcome.statements, tx))
            .await?
            .rows_affected();
        }
    }
    for gone in domains.keys() {
        outcome.writes += sqlx::query(
            "DELETE FROM organization_domains WHERE domain = $1 AND organization_id = $2",
        )
        .bind(gone)
        .bind(&id)
        .execute(counted(&mut outcome.statements, tx))
        .await?
        .rows_affected();
    }

    // Declared members whose accounts exist; the rest are reported. Members the declaration
    // made and no longer lists are removed; runtime members (invited, joined by domain) stay.
    let mut current: BTreeMap<String, (String, String, bool)> = BTreeMap::new();
    for row in sqlx::query(
        "SELECT u.email, m.user_id, m.role, m.from_declaration FROM memberships m \
         JOIN users u ON u.id = m.user_id WHERE m.organization_id = $1",
    )
    .bind(&id)
    .fetch_all(counted(&mut outcome.statements, tx))
    .await?
    {
        let declared: i64 = row.try_get("from_declaration")?;
        current.insert(
            row.try_get("email")?,
            (row.try_get("user_id")?, row.try_get("role")?, declared == 1),
        );
    }
    for (email, role) in &declared.members {
        let user_id = match current.get(email) {
            Some((_, have, true)) if have == role => continue,
            Some((user_id, _, _)) => user_id.clone(),
            None => {
                let user = sqlx::query("SELECT id FROM users WHERE email = $1")
                    .bind(email)
                    .fetch_optional(counted(&mut outcome.statements, tx))
                    .await?;
                let Some(user) = user else {
                    outcome.missing_members.push((email.clone(), role.clone()));
                    continue;
                };
                user.try_get("id")?
            }
        };
        outcome.writes += sqlx::query(
            "INSERT INTO memberships (organization_id, user_id, role, created_at, updated_at, \
             from_declaration) VALUES ($1, $2, $3, $4, $4, 1) \
             ON CONFLICT (organization_id, user_id) DO UPDATE SET role = excluded.role, \
             updated_at = excluded.updated_at, from_declaration = 1",
        )
        .bind(&id)
        .bind(&user_id)
        .bind(role)
        .bind(now)
        .execute(counted(&mut outcome.statements, tx))
        .await?
        .rows_affected();
    }
    for (email, (user_id, _, from_declaration)) in &current {
        if *from_declaration && !declared.members.contains_key(email) {
            outcome.writes += sqlx::query(
                "DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2 \
                 AND from_declaration = 1",
            )
            .bind(&id)
            .bind(user_id)
            .execute(counted(&mut outcome.statements, tx))
            .await?
            .rows_affected();
        }
    }

    // Nothing pending: the next sync may skip this declaration while it stays the same.
    let fingerprint = outcome
        .missing_members
        .is_empty()
        .then_some(declared.fingerprint.as_str())
        .filter(|f| !f.is_empty());
    outcome.writes += sqlx::query(
        "UPDATE organizations SET declared_hash = $2 WHERE id = $1 \
         AND declared_hash IS DISTINCT FROM $2",
    )
    .bind(&id)
    .bind(fingerprint)
    .execute(counted(&mut outcome.statements, tx))
    .await?
    .rows_affected();
    Ok(outcome)
}

/// `tx`'s connection, counting one statement.
fn counted<'t>(
    statements: &mut u64,
    tx: &'t mut Transaction<'static, Any>,
) -> &'t mut sqlx::AnyConnection {
    *statements += 1;
    tx
}
