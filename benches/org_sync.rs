//! Syncing declared Organizations into the database at scale: 10,000 Organizations with 10
//! members each (100,000 existing users), first sync and then a reload that changed one
//! Organization, on SQLite (a file, as `vestibule dev` and a single region use it) and on
//! PostgreSQL (`VESTIBULE_BENCH_POSTGRES_URL`, default the CI server on 127.0.0.1:5432; skipped
//! with a notice when unreachable). Timed whole, not sampled: one first sync takes seconds.
//!
//! `cargo bench --bench org_sync` (`ORGS=2000` for a quicker run). Figures go to
//! docs/benchmarks.md.

use std::collections::BTreeMap;
use std::time::Instant;

use sqlx::{Connection, Executor};
use vestibule::auth::{ClientInfo, Ctx, Services};
use vestibule::config::RuntimeConfig;
use vestibule::config::runtime::OrganizationConfig;
use vestibule::runtime::live::{Active, SecretValues};
use vestibule::store::Store;

const MEMBERS: usize = 10;

fn config(orgs: usize, renamed: Option<usize>) -> RuntimeConfig {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let report = vestibule::manifest::validate::validate_paths(&[dir], &[]).expect("quickstart");
    let mut config = report.configs[0].1.clone();
    config.organizations.enabled = true;
    config.organizations.declared = (0..orgs)
        .map(|i| OrganizationConfig {
            slug: format!("org-{i:05}"),
            display_name: if renamed == Some(i) {
                format!("Renamed {i}")
            } else {
                format!("Organization {i}")
            },
            domains: [(format!("org-{i:05}.example"), Default::default())].into(),
            roles: BTreeMap::from([("billing".to_owned(), vec!["billing:manage".to_owned()])]),
            members: (0..MEMBERS)
                .map(|m| {
                    let role = if m == 0 { "admin" } else { "member" };
                    (user_email(i, m), role.to_owned())
                })
                .collect(),
            theme: None,
            mfa: None,
            allowed_providers: Vec::new(),
            password_sign_in: true,
            delete_when_undeclared: false,
        })
        .collect();
    config
        .organizations
        .declared
        .sort_by(|a, b| a.slug.cmp(&b.slug));
    config.seal()
}

fn user_email(org: usize, member: usize) -> String {
    format!("user{member}@org-{org:05}.example")
}

/// The users the declarations name, inserted in one transaction on a connection of its own.
async fn seed_users(url: &str, orgs: usize) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let mut tx = conn.begin().await.expect("begin");
    for chunk in (0..orgs * MEMBERS).collect::<Vec<_>>().chunks(500) {
        let mut sql = String::from(
            "INSERT INTO users (id, email, email_verified_at, password_hash, created_at, updated_at) VALUES ",
        );
        for (n, i) in chunk.iter().enumerate() {
            if n > 0 {
                sql.push(',');
            }
            let (org, member) = (i / MEMBERS, i % MEMBERS);
            sql.push_str(&format!(
                "('{:032x}', '{}', 0, NULL, 0, 0)",
                i,
                user_email(org, member)
            ));
        }
        tx.execute(sqlx::AssertSqlSafe(sql))
            .await
            .expect("insert users");
    }
    tx.commit().await.expect("commit");
}

async fn run(label: &str, url: &str, orgs: usize) {
    let store = Store::connect(url, 5).await.expect("store");
    seed_users(url, orgs).await;
    let services = Services::new(store);
    let client = ClientInfo::default();
    let mut rows = Vec::new();
    for (what, renamed) in [
        ("first sync", None),
        ("reload, nothing changed", None),
        ("reload, one organization renamed", Some(4321 % orgs)),
    ] {
        let config = config(orgs, renamed);
        let secrets = SecretValues::new(
            config
                .secrets
                .keys()
                .map(|k| (k.clone(), "bench".to_owned()))
                .chain([(
                    "mfa-key".to_owned(),
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
                )])
                .collect(),
        );
        let active = Active::build(config, secrets, None).expect("activates");
        let ctx = Ctx::new(&services, &active, &client);
        let started = Instant::now();
        let report = vestibule::auth::organizations::sync_declared(&ctx)
            .await
            .expect("sync");
        let took = started.elapsed();
        rows.push(format!(
            "| {label} | {what} | {:.2} s | {} | {} | {} |",
            took.as_secs_f64(),
            report.statements,
            report.writes,
            report.unchanged,
        ));
    }
    for row in rows {
        println!("{row}");
    }
}

fn main() {
    let orgs: usize = std::env::var("ORGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!(
            "{orgs} declared Organizations x {MEMBERS} members ({} users)\n",
            orgs * MEMBERS
        );
        println!("| backend | sync | time | statements | writes | skipped unchanged |");
        println!("|---|---|---|---|---|---|");
        let dir = std::env::temp_dir().join(format!("vestibule-org-sync-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("bench.sqlite");
        run(
            "SQLite",
            &format!("sqlite://{}?mode=rwc", file.display()),
            orgs,
        )
        .await;
        let _ = std::fs::remove_dir_all(&dir);

        let admin = std::env::var("VESTIBULE_BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("vestibule_bench_{}", std::process::id());
        match sqlx::PgConnection::connect(&admin).await {
            Ok(mut conn) => {
                conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create database");
                let url = match admin.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => admin.clone(),
                };
                run("PostgreSQL", &url, orgs).await;
                let _ = conn
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE {name} WITH (FORCE)"
                    )))
                    .await;
            }
            Err(e) => println!("\n(PostgreSQL skipped: {e})"),
        }
    });
}
