//! Declared Organizations kept in the database: whenever a config is applied, each declared
//! Organization is synced (one transaction each, only what changed), and managed organizations
//! no longer declared are released (kept, unmanaged: the `Retain` deletion policy).

use crate::config::RuntimeConfig;
use crate::config::runtime::DomainEnrollment;
use crate::store::{DeclaredOrganization, Store, StoreError};

/// What one sync of the declared organizations did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Declared organizations looked at.
    pub organizations: usize,
    /// Rows written in all (0 when the database already matched).
    pub writes: u64,
    /// Declared slugs held by a runtime-created organization (left alone).
    pub slug_conflicts: Vec<String>,
    /// `slug: domain` pairs whose domain another organization holds.
    pub domain_conflicts: Vec<String>,
    /// `slug: email` pairs of declared members without an account yet.
    pub missing_members: Vec<String>,
    /// Managed organizations released because they are no longer declared.
    pub released: u64,
}

fn enrollment(e: DomainEnrollment) -> &'static str {
    match e {
        DomainEnrollment::AutoJoin => "autoJoin",
        DomainEnrollment::Suggest => "suggest",
        DomainEnrollment::None => "none",
    }
}

/// Syncs `config`'s declared organizations into `store` at `now`.
pub async fn sync_declared(
    store: &Store,
    config: &RuntimeConfig,
    now: i64,
) -> Result<SyncReport, StoreError> {
    let mut report = SyncReport::default();
    let declared = &config.organizations.declared;
    for org in declared {
        let wanted = DeclaredOrganization {
            slug: org.slug.clone(),
            name: org.display_name.clone(),
            roles: org.roles.clone(),
            domains: org
                .domains
                .iter()
                .map(|(d, e)| (d.clone(), enrollment(*e).to_owned()))
                .collect(),
            members: org.members.clone(),
        };
        let outcome = store.sync_declared_organization(&wanted, now).await?;
        report.organizations += 1;
        report.writes += outcome.writes;
        if outcome.slug_conflict {
            report.slug_conflicts.push(org.slug.clone());
        }
        let tagged =
            |items: Vec<String>| items.into_iter().map(move |i| format!("{}: {i}", org.slug));
        report
            .domain_conflicts
            .extend(tagged(outcome.domain_conflicts));
        report
            .missing_members
            .extend(tagged(outcome.missing_members));
    }
    let slugs: Vec<String> = declared.iter().map(|o| o.slug.clone()).collect();
    report.released = store.release_undeclared_organizations(&slugs, now).await?;
    Ok(report)
}

/// Syncs in the background and logs the outcome (conflicts as warnings: `vestibule dev` shows
/// them on its terminal). Emails are never logged.
pub fn spawn_sync(store: Store, config: RuntimeConfig, now: i64) {
    use std::sync::atomic::{AtomicU64, Ordering};
    // One sync at a time in this process, and only of the newest config: a sync that finds a
    // newer one queued behind it steps aside, so an older config never lands last.
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    static NEWEST: AtomicU64 = AtomicU64::new(0);
    let mine = NEWEST.fetch_add(1, Ordering::SeqCst) + 1;
    tokio::spawn(async move {
        let _turn = SERIAL.lock().await;
        if NEWEST.load(Ordering::SeqCst) != mine {
            return;
        }
        match sync_declared(&store, &config, now).await {
            Ok(report) => {
                for slug in &report.slug_conflicts {
                    tracing::warn!(
                        organization = %slug,
                        "declared Organization not synced: a runtime-created organization has this slug"
                    );
                }
                for pair in &report.domain_conflicts {
                    tracing::warn!(domain = %pair, "declared domain held by another organization");
                }
                tracing::info!(
                    organizations = report.organizations,
                    writes = report.writes,
                    released = report.released,
                    members_without_account = report.missing_members.len(),
                    "declared organizations synced"
                );
            }
            Err(e) => tracing::error!(error = %e, "declared organizations not synced"),
        }
    });
}
