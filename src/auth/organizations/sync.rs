//! Declared Organizations kept in the database: whenever a config is applied, each declared
//! Organization is synced (one transaction each, only what changed); declared members without
//! an account are invited (once); managed organizations no longer declared follow their
//! deletion policy (`Retain`: kept, unmanaged; `Delete`).

use std::sync::Arc;

use crate::auth::{AuthError, ClientInfo, Ctx, Services};
use crate::config::runtime::DomainEnrollment;
use crate::runtime::Active;
use crate::store::DeclaredOrganization;

/// What one sync of the declared organizations did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Declared organizations looked at.
    pub organizations: usize,
    /// Of those, skipped: the same declaration as last time, fully synced then.
    pub unchanged: usize,
    /// SQL statements run.
    pub statements: u64,
    /// Rows written in all (0 when the database already matched).
    pub writes: u64,
    /// Declared slugs held by a runtime-created organization (left alone).
    pub slug_conflicts: Vec<String>,
    /// `slug: domain` pairs whose domain another organization holds.
    pub domain_conflicts: Vec<String>,
    /// `slug: email` pairs of declared members without an account yet.
    pub missing_members: Vec<String>,
    /// Invitations sent to declared members without an account (each is sent once).
    pub invited: u64,
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

/// Syncs the declared organizations of `ctx`'s config into the store.
pub async fn sync_declared(ctx: &Ctx<'_>) -> Result<SyncReport, AuthError> {
    let store = &ctx.services.store;
    let mut report = SyncReport::default();
    let declared = &ctx.active.config.organizations.declared;
    let synced = store.declared_fingerprints().await?;
    report.statements += 1;
    for org in declared {
        report.organizations += 1;
        let mut wanted = DeclaredOrganization {
            slug: org.slug.clone(),
            name: org.display_name.clone(),
            roles: org.roles.clone(),
            domains: org
                .domains
                .iter()
                .map(|(d, e)| (d.clone(), enrollment(*e).to_owned()))
                .collect(),
            members: org.members.clone(),
            delete_when_undeclared: org.delete_when_undeclared,
            fingerprint: String::new(),
        };
        // The declaration's digest (its Debug form: stable within a release; after an upgrade
        // every organization is read once more).
        wanted.fingerprint = crate::crypto::sha256_hex(format!("{wanted:?}").as_bytes());
        if synced.get(&org.slug) == Some(&wanted.fingerprint) {
            report.unchanged += 1;
            continue;
        }
        let outcome = store.sync_declared_organization(&wanted, ctx.now).await?;
        report.writes += outcome.writes;
        report.statements += outcome.statements;
        if outcome.slug_conflict {
            report.slug_conflicts.push(org.slug.clone());
        }
        let tagged =
            |items: Vec<String>| items.into_iter().map(move |i| format!("{}: {i}", org.slug));
        report
            .domain_conflicts
            .extend(tagged(outcome.domain_conflicts));
        let Some(id) = outcome.organization_id else {
            continue;
        };
        for (email, role) in outcome.missing_members {
            if store.declared_invitation_sent(&id, &email).await? {
                continue;
            }
            let Some(organization) = store.organization_by_id(&id).await? else {
                continue;
            };
            let (invitation, token) =
                super::store_invitation(ctx, &id, &email, &role, None).await?;
            store.mark_declared_invitation(&invitation.id).await?;
            super::mail_invitation(ctx, &organization, &email, &token).await;
            report.invited += 1;
            report.writes += 1;
            report
                .missing_members
                .push(format!("{}: {email}", org.slug));
        }
    }
    let slugs: Vec<String> = declared.iter().map(|o| o.slug.clone()).collect();
    report.released = store
        .release_undeclared_organizations(&slugs, ctx.now)
        .await?;
    report.statements += 1 + report.released;
    report.writes += report.released;
    Ok(report)
}

/// Syncs in the background and logs the outcome (conflicts as warnings: `vestibule dev` shows
/// them on its terminal), counting it in the metrics. Emails are never logged.
pub fn spawn_sync(
    services: Services,
    active: Arc<Active>,
    status: Option<Arc<crate::runtime::kube_source::SyncStatusWriter>>,
) {
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
        let client = ClientInfo::default();
        let ctx = Ctx::new(&services, &active, &client);
        match sync_declared(&ctx).await {
            Ok(report) => {
                services.metrics.organization_sync(Some(report.writes));
                // In a cluster: tell the operator, which shows it on the Organizations.
                if let Some(status) = &status
                    && let Err(e) = status.write(&report.slug_conflicts).await
                {
                    tracing::warn!(error = %e, "the sync status could not be written");
                }
                for slug in &report.slug_conflicts {
                    tracing::warn!(
                        "Organization with slug \"{slug}\": spec.slug: not synced, a runtime-created organization has this slug (choose another slug)"
                    );
                }
                for pair in &report.domain_conflicts {
                    tracing::warn!(domain = %pair, "declared domain held by another organization");
                }
                tracing::info!(
                    organizations = report.organizations,
                    unchanged = report.unchanged,
                    statements = report.statements,
                    writes = report.writes,
                    released = report.released,
                    invited = report.invited,
                    "declared organizations synced"
                );
            }
            Err(e) => {
                services.metrics.organization_sync(None);
                tracing::error!(error = %e, "declared organizations not synced");
            }
        }
    });
}
