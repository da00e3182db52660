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
    /// Declared members with no account yet (they get an invitation once pages can accept it).
    pub missing_members: Vec<String>,
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

    /// Marks managed organizations that are no longer declared as released (kept, unmanaged, as
    /// the `Retain` deletion policy says; declaring one again adopts it); how many changed.
    pub async fn release_undeclared_organizations(
        &self,
        declared_slugs: &[String],
        now: i64,
    ) -> Result<u64, StoreError> {
        let rows = sqlx::query("SELECT id, slug FROM organizations WHERE managed = 1")
            .fetch_all(&self.pool)
            .await?;
        let mut changed = 0;
        for row in rows {
            let slug: String = row.try_get("slug")?;
            if declared_slugs.contains(&slug) {
                continue;
            }
            let id: String = row.try_get("id")?;
            changed +=
                sqlx::query("UPDATE organizations SET managed = 0, updated_at = $2 WHERE id = $1")
                    .bind(&id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
        }
        Ok(changed)
    }
}

async fn sync_one(
    tx: &mut Transaction<'static, Any>,
    declared: &DeclaredOrganization,
    now: i64,
) -> Result<SyncOutcome, StoreError> {
    let mut outcome = SyncOutcome::default();
    let existing =
        sqlx::query("SELECT id, name, managed, released_at FROM organizations WHERE slug = $1")
            .bind(&declared.slug)
            .fetch_optional(&mut **tx)
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
                .execute(&mut **tx)
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
                .execute(&mut **tx)
                .await?
                .rows_affected();
            }
            id
        }
        None => {
            let id = new_id();
            outcome.writes += sqlx::query(
                "INSERT INTO organizations (id, slug, name, logo_url, public_metadata, \
                 private_metadata, managed, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, NULL, '{}', '{}', 1, NULL, $4, $4)",
            )
            .bind(&id)
            .bind(&declared.slug)
            .bind(&declared.name)
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            id
        }
    };

    // Roles.
    let mut roles: BTreeMap<String, String> = BTreeMap::new();
    for row in
        sqlx::query("SELECT name, permissions FROM organization_roles WHERE organization_id = $1")
            .bind(&id)
            .fetch_all(&mut **tx)
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
        .execute(&mut **tx)
        .await?
        .rows_affected();
    }
    for gone in roles.keys() {
        outcome.writes +=
            sqlx::query("DELETE FROM organization_roles WHERE organization_id = $1 AND name = $2")
                .bind(&id)
                .bind(gone)
                .execute(&mut **tx)
                .await?
                .rows_affected();
    }

    // Domains: this organization's, and conflicts with others'.
    let mut domains: BTreeMap<String, String> = BTreeMap::new();
    for row in sqlx::query(
        "SELECT domain, enrollment FROM organization_domains WHERE organization_id = $1",
    )
    .bind(&id)
    .fetch_all(&mut **tx)
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
                .fetch_optional(&mut **tx)
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
                    .execute(&mut **tx)
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
            .execute(&mut **tx)
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
        .execute(&mut **tx)
        .await?
        .rows_affected();
    }

    // Declared members whose accounts exist; the rest are reported.
    let mut current: BTreeMap<String, (String, String)> = BTreeMap::new();
    for row in sqlx::query(
        "SELECT u.email, m.user_id, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.organization_id = $1",
    )
    .bind(&id)
    .fetch_all(&mut **tx)
    .await?
    {
        current.insert(
            row.try_get("email")?,
            (row.try_get("user_id")?, row.try_get("role")?),
        );
    }
    for (email, role) in &declared.members {
        let user_id = match current.get(email) {
            Some((_, have)) if have == role => continue,
            Some((user_id, _)) => user_id.clone(),
            None => {
                let user = sqlx::query("SELECT id FROM users WHERE email = $1")
                    .bind(email)
                    .fetch_optional(&mut **tx)
                    .await?;
                let Some(user) = user else {
                    outcome.missing_members.push(email.clone());
                    continue;
                };
                user.try_get("id")?
            }
        };
        super::organizations::upsert_membership(&mut **tx, &id, &user_id, role, now).await?;
        outcome.writes += 1;
    }
    Ok(outcome)
}
