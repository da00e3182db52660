//! Reconciling one Vestibule: fetch inputs, compile, render per region, apply, write status.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Secret};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event, finalizer};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{Context, Error, FIELD_MANAGER, FINALIZER, RESYNC, STATUS_MANAGER, inputs, status};
use crate::config::bundle::namespace_of;
use crate::config::{Resources, compile};
use crate::render::{RegionObjects, RenderInput, render};
use crate::resources::vestibule::VestibuleStatus;
use crate::resources::{Application, MfaPolicy, OAuthProvider, Organization, Theme, Vestibule};

/// Reconciles one Vestibule, with the finalizer helper splitting apply from cleanup.
pub async fn reconcile(vestibule: Arc<Vestibule>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let namespace = namespace_of(vestibule.as_ref());
    let object = format!("{namespace}/{}", vestibule.name_any());
    let api: Api<Vestibule> = Api::namespaced(ctx.client.clone(), &namespace);
    let result = finalizer(&api, FINALIZER, vestibule, |event| async {
        match event {
            // Boxed: the apply future is large, and debug builds would carry it on the stack.
            Event::Apply(v) => Box::pin(apply(&v, &ctx)).await,
            Event::Cleanup(v) => Box::pin(cleanup(&v, &ctx)).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    let label = match &result {
        Ok(_) => "ok",
        Err(e) => e.label(),
    };
    ctx.metrics.reconciled(&object, label, started.elapsed());
    result
}

async fn list<K>(client: &Client, namespace: &str) -> Result<Vec<K>, Error>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    Ok(api.list(&ListParams::default()).await?.items)
}

/// Everything in the Vestibule's namespace that compile may need: from the watch caches once
/// they are synced, listed from the API server before that.
async fn load_inputs(
    ctx: &Context,
    vestibule: &Vestibule,
    namespace: &str,
) -> Result<Resources, Error> {
    let client = &ctx.client;
    let mut resources = match ctx.synced_inputs(namespace) {
        Some(stores) => {
            ctx.metrics.input_read("cache");
            Resources {
                vestibules: vec![vestibule.clone()],
                providers: inputs::in_namespace(&stores.providers, namespace),
                organizations: inputs::in_namespace(&stores.organizations, namespace),
                applications: inputs::in_namespace(&stores.applications, namespace),
                themes: inputs::in_namespace(&stores.themes, namespace),
                mfa_policies: inputs::in_namespace(&stores.mfa_policies, namespace),
                secrets: BTreeMap::new(),
            }
        }
        None => {
            ctx.metrics.input_read("list");
            Resources {
                vestibules: vec![vestibule.clone()],
                providers: list::<OAuthProvider>(client, namespace).await?,
                organizations: list::<Organization>(client, namespace).await?,
                applications: list::<Application>(client, namespace).await?,
                themes: list::<Theme>(client, namespace).await?,
                mfa_policies: list::<MfaPolicy>(client, namespace).await?,
                secrets: BTreeMap::new(),
            }
        }
    };
    let bundle = resources.bundle_for(vestibule);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for name in bundle.referenced_secrets() {
        if let Some(secret) = secrets.get_opt(&name).await? {
            let keys = secret_keys(&secret);
            resources.secrets.insert((namespace.to_owned(), name), keys);
        }
    }
    Ok(resources)
}

fn secret_keys(secret: &Secret) -> BTreeSet<String> {
    let data = secret.data.iter().flat_map(|d| d.keys());
    let string_data = secret.string_data.iter().flat_map(|d| d.keys());
    data.chain(string_data).cloned().collect()
}

/// The values the region's Secret needs, read from the source Secrets.
async fn secret_values(
    client: &Client,
    namespace: &str,
    config: &crate::config::RuntimeConfig,
) -> Result<BTreeMap<String, String>, Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut cache: BTreeMap<String, Secret> = BTreeMap::new();
    let mut values = BTreeMap::new();
    for (region_key, source) in &config.secrets {
        if !cache.contains_key(&source.name) {
            let secret = api
                .get_opt(&source.name)
                .await?
                .ok_or_else(|| Error::Secret(format!("{:?} not found", source.name)))?;
            cache.insert(source.name.clone(), secret);
        }
        let secret = &cache[&source.name];
        let value = secret
            .data
            .as_ref()
            .and_then(|d| d.get(&source.key))
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            .or_else(|| {
                secret
                    .string_data
                    .as_ref()
                    .and_then(|d| d.get(&source.key))
                    .cloned()
            })
            .ok_or_else(|| {
                Error::Secret(format!("{:?} has no key {:?}", source.name, source.key))
            })?;
        values.insert(region_key.clone(), value);
    }
    Ok(values)
}

async fn apply(vestibule: &Vestibule, ctx: &Context) -> Result<Action, Error> {
    let namespace = namespace_of(vestibule);
    let generation = vestibule.metadata.generation;
    let now = Timestamp::now();
    if vestibule.spec.paused {
        write_status(ctx, vestibule, status::paused(generation, now)).await?;
        return Ok(Action::await_change());
    }
    let inputs = load_inputs(ctx, vestibule, &namespace).await?;
    let bundle = inputs.bundle_for(vestibule);
    let compiled = compile(&bundle);
    let no_diagnostics = Vec::new();
    let diagnostics = compiled.as_ref().err().unwrap_or(&no_diagnostics);
    // Slug conflicts the servers reported (as the last reconcile recorded them) count as
    // diagnostics of their Organizations; the ones read back this time are compared below.
    let reported = vestibule
        .status
        .as_ref()
        .map(|s| s.slug_conflicts.clone())
        .unwrap_or_default();
    let with_reported = with_slug_conflicts(diagnostics, &bundle, &reported);
    super::children::report(&ctx.client, &bundle, &with_reported, now, &ctx.metrics).await?;
    let config = match compiled {
        Ok(config) => config,
        Err(diagnostics) => {
            // Bad config is never rolled out: the previous ConfigMap stays as it is.
            write_status(
                ctx,
                vestibule,
                status::stalled(generation, &diagnostics, now),
            )
            .await?;
            return Ok(Action::requeue(RESYNC));
        }
    };
    let keys = super::signing::ensure_keys(
        &ctx.client,
        vestibule,
        &config,
        now.as_millisecond(),
        &ctx.metrics,
    )
    .await?;
    let mut values = secret_values(&ctx.client, &namespace, &config).await?;
    values.extend(
        super::client_secrets::ensure_client_secrets(
            &ctx.client,
            vestibule,
            &bundle.applications,
            &config,
            &ctx.metrics,
        )
        .await?,
    );
    // Every region gets the whole key set in the same pass: a new key is published everywhere
    // an hour before any region may sign with it (SECURITY 48).
    let keys_json = keys
        .signing
        .to_json()
        .map_err(|e| Error::Keys(e.to_string()))?;
    values.insert(
        super::signing::REGION_KEYS_FILE.to_owned(),
        String::from_utf8_lossy(&keys_json).into_owned(),
    );
    values.insert(super::signing::MFA_KEY_FILE.to_owned(), keys.mfa);
    ctx.secrets.record(
        vestibule,
        super::dependencies::secrets_of(
            vestibule,
            bundle.referenced_secrets(),
            bundle
                .applications
                .iter()
                .filter_map(|a| a.spec.secret_name.clone()),
        ),
    );
    let mut regions = Vec::new();
    let mut slug_conflicts: Vec<String> = Vec::new();
    let mut pruned_notes = Vec::new();
    let mut kept = Vec::new();
    let mut watch = Vec::new();
    for region in &vestibule.spec.regions {
        let objects = render(&RenderInput {
            vestibule,
            config: &config,
            region,
            secret_values: &values,
            image: &ctx.image,
        });
        // Each region on its own: one unreachable cluster must not hold back the others.
        let client = ctx
            .clusters
            .client_for(
                &ctx.client,
                &namespace,
                region.kubeconfig_secret_ref.as_ref(),
            )
            .await;
        let names = crate::render::Names::new(vestibule, region);
        if let Ok(cluster) = &client
            && (cluster.id != "local" || names.namespace != namespace)
        {
            // The controller's own watches do not see this region: a region watch does.
            let target = super::region_watches::WatchTarget {
                cluster: cluster.id.clone(),
                namespace: names.namespace.clone(),
            };
            watch.push((target, cluster.client.clone()));
        }
        let client = client.map(|c| c.client);
        let outcome = match (config.config_map_overflow(), client) {
            // Refused before any write; the region keeps serving its last applied config.
            (Some(reason), Ok(client)) => Err((reason, serving(&client, &objects).await)),
            (Some(reason), Err(_)) | (None, Err(reason)) => Err((reason, None)),
            (None, Ok(client)) => match apply_region(&client, &objects, &ctx.metrics).await {
                Ok(applied) => {
                    match prune_region(&client, vestibule, region, &objects, &ctx.metrics).await {
                        Ok(pruned) => {
                            pruned_notes.extend(pruned);
                            Ok(applied)
                        }
                        Err(e) => Err((e.to_string(), None)),
                    }
                }
                Err(e) => Err((e.to_string(), None)),
            },
        };
        let outcome = match &outcome {
            Ok(applied) => {
                tracing::debug!(region = %region.name, written = applied.written, ready = applied.ready_replicas, "region applied");
                slug_conflicts.extend(applied.slug_conflicts.iter().cloned());
                status::RegionOutcome::Applied {
                    ready: applied.ready_replicas,
                    desired: region.replicas,
                }
            }
            Err((reason, read)) => {
                tracing::warn!(region = %region.name, %reason, "region not applied");
                ctx.metrics.region_error(&region.name);
                // What it serves as read from the region, else as last reported.
                let serving = read
                    .clone()
                    .unwrap_or_else(|| last_serving(vestibule, &region.name));
                status::RegionOutcome::Failed { reason, serving }
            }
        };
        let mut region_status =
            status::region(&region.name, &config.hash, outcome, generation, now);
        region_status.namespace = Some(names.namespace);
        region_status.kubeconfig_secret_ref = region.kubeconfig_secret_ref.clone();
        regions.push(region_status);
    }
    ctx.region_watches.track(vestibule, watch);
    // Regions removed from the spec: their objects go, found by label where status says they
    // live. One that cannot be cleaned stays in status, degraded, and is tried again.
    for gone in removed_regions(vestibule) {
        match remove_region(ctx, vestibule, &gone).await {
            Ok(retained) => {
                pruned_notes.push(format!("region {}", gone.name));
                kept.extend(retained);
            }
            Err(reason) => {
                tracing::warn!(region = %gone.name, %reason, "removed region not cleaned up");
                ctx.metrics.region_error(&gone.name);
                let reason = format!("removed from spec.regions; cleaning up failed: {reason}");
                let serving = status::Serving {
                    config_hash: gone.applied_config_hash.clone(),
                    ready_replicas: gone.ready_replicas,
                };
                let outcome = status::RegionOutcome::Failed {
                    reason: &reason,
                    serving,
                };
                let mut kept = status::region(&gone.name, &config.hash, outcome, generation, now);
                kept.desired_config_hash = None;
                kept.namespace = gone.namespace.clone();
                kept.kubeconfig_secret_ref = gone.kubeconfig_secret_ref.clone();
                regions.push(kept);
            }
        }
    }
    let mut status = status::ready(generation, &config.hash, regions, now);
    slug_conflicts.sort();
    slug_conflicts.dedup();
    if slug_conflicts != reported {
        // What the servers say now reaches the Organizations in this reconcile.
        let diagnostics = with_slug_conflicts(&[], &bundle, &slug_conflicts);
        super::children::report(&ctx.client, &bundle, &diagnostics, now, &ctx.metrics).await?;
    }
    status.slug_conflicts = slug_conflicts;
    let progressing = status
        .regions
        .iter()
        .any(|r| r.applied_config_hash.is_some() && r.ready_replicas == 0);
    write_status(ctx, vestibule, status).await?;
    if let Some(note) = deleted_and_kept(&pruned_notes, &kept) {
        let pruned = status::Transition {
            warning: false,
            reason: "Pruned".to_owned(),
            note: format!("what the spec no longer needs: {note}"),
        };
        publish(ctx, vestibule, vec![pruned]).await;
    }
    // Remote regions' Deployments are not watched: look again soon while one is starting.
    Ok(Action::requeue(if progressing {
        super::PROGRESS_CHECK
    } else {
        RESYNC
    }))
}

/// What a region's servers run, read from its ConfigMap's hash annotation and its Deployment's
/// ready replicas; `None` when the region cannot be read.
async fn serving(client: &Client, objects: &RegionObjects) -> Option<status::Serving> {
    let name_of = |meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        meta.name.clone().unwrap_or_default()
    };
    let config_map = namespaced(client, &objects.config_map)
        .get_opt(&name_of(&objects.config_map.metadata))
        .await
        .ok()?;
    let deployment = namespaced(client, &objects.deployment)
        .get_opt(&name_of(&objects.deployment.metadata))
        .await
        .ok()?;
    Some(status::Serving {
        config_hash: config_map
            .and_then(|c| c.metadata.annotations)
            .and_then(|mut a| a.remove(crate::render::CONFIG_HASH_ANNOTATION)),
        ready_replicas: deployment
            .and_then(|d| d.status)
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0),
    })
}

/// What the Vestibule's status last said region `name` serves.
fn last_serving(vestibule: &Vestibule, name: &str) -> status::Serving {
    vestibule
        .status
        .iter()
        .flat_map(|s| &s.regions)
        .find(|r| r.name == name)
        .map(|r| status::Serving {
            config_hash: r.applied_config_hash.clone(),
            ready_replicas: r.ready_replicas,
        })
        .unwrap_or_default()
}

/// Whether `live` already holds everything `desired` sets (the API server adds defaults and
/// status, so equality would never hold).
pub fn contains(live: &serde_json::Value, desired: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => d
            .iter()
            .all(|(k, v)| l.get(k).is_some_and(|lv| contains(lv, v))),
        (Value::Array(l), Value::Array(d)) => {
            l.len() == d.len() && l.iter().zip(d).all(|(lv, dv)| contains(lv, dv))
        }
        (l, d) => l == d,
    }
}

/// Server-side applies `object` unless the live object already matches (a no-op reconcile
/// must make no write); returns whether it wrote, and the object as the API server holds it.
async fn apply_one<K>(
    api: Api<K>,
    object: &K,
    metrics: &super::metrics::OperatorMetrics,
) -> Result<(bool, K), Error>
where
    K: Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + std::fmt::Debug,
{
    let name = object.meta().name.clone().unwrap_or_default();
    if let Some(live) = api.get_opt(&name).await? {
        let as_json = |o: &K| serde_json::to_value(o).unwrap_or(serde_json::Value::Null);
        if contains(&as_json(&live), &as_json(object)) {
            return Ok((false, live));
        }
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let applied = api.patch(&name, &params, &Patch::Apply(object)).await?;
    metrics.write("apply", &K::kind(&()));
    Ok((true, applied))
}

fn namespaced<K>(client: &Client, object: &K) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(
        client.clone(),
        object.meta().namespace.as_deref().unwrap_or("default"),
    )
}

/// What applying a region did.
struct RegionApplied {
    /// Objects written (the rest already matched).
    written: usize,
    /// Ready auth servers, from the Deployment's status.
    ready_replicas: i32,
    /// Declared slugs the region's servers could not sync (a runtime organization has them).
    slug_conflicts: Vec<String>,
}

/// `diagnostics`, plus one for each declared Organization whose slug the servers reported as
/// held by a runtime-created organization.
fn with_slug_conflicts(
    diagnostics: &[crate::config::Diagnostic],
    bundle: &crate::config::Bundle,
    conflicts: &[String],
) -> Vec<crate::config::Diagnostic> {
    let mut all = diagnostics.to_vec();
    for organization in &bundle.organizations {
        if conflicts.contains(&organization.spec.slug) {
            all.push(crate::config::Diagnostic::new(
                &crate::config::bundle::id_of(organization),
                "spec.slug",
                "a runtime-created organization already has this slug, so this Organization \
                 is not synced to the database; choose another slug",
            ));
        }
    }
    all
}

/// The slugs a sync-status ConfigMap reports (`slugConflicts.json`, a JSON array).
fn reported_conflicts(status: &k8s_openapi::api::core::v1::ConfigMap) -> Vec<String> {
    status
        .data
        .as_ref()
        .and_then(|d| d.get(crate::config::files::SYNC_STATUS_CONFLICTS))
        .and_then(|text| serde_json::from_str::<Vec<String>>(text).ok())
        .unwrap_or_default()
}

/// Server-side applies one region's objects, in order.
async fn apply_region(
    client: &Client,
    objects: &RegionObjects,
    metrics: &super::metrics::OperatorMetrics,
) -> Result<RegionApplied, Error> {
    let mut written = Vec::new();
    if let Some(ns) = &objects.namespace {
        written.push(
            apply_one(Api::<Namespace>::all(client.clone()), ns, metrics)
                .await?
                .0,
        );
    }
    macro_rules! apply {
        ($object:expr) => {{
            let (wrote, live) = apply_one(namespaced(client, $object), $object, metrics).await?;
            written.push(wrote);
            live
        }};
    }
    apply!(&objects.service_account);
    apply!(&objects.role);
    apply!(&objects.role_binding);
    // Shards first: when the main ConfigMap names new shard hashes, the shards are there.
    for shard in &objects.organization_shards {
        apply!(shard);
    }
    apply!(&objects.config_map);
    let sync_status = apply!(&objects.sync_status);
    apply!(&objects.secret);
    if let Some(claim) = &objects.volume_claim {
        apply!(claim);
    }
    let deployment = apply!(&objects.deployment);
    apply!(&objects.service);
    if let Some(pdb) = &objects.disruption_budget {
        apply!(pdb);
    }
    if let Some(ingress) = &objects.ingress {
        apply!(ingress);
    }
    let ready_replicas = deployment
        .status
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    Ok(RegionApplied {
        written: written.into_iter().filter(|w| *w).count(),
        ready_replicas,
        slug_conflicts: reported_conflicts(&sync_status),
    })
}

/// Deletes the optional objects an earlier spec made this region need and the current one does
/// not (a PodDisruptionBudget after scaling to one replica, an Ingress switched off). Only an
/// object carrying this Vestibule's and this region's labels is deleted; anything else of the
/// same name is left alone. Returns what was deleted, as `Kind namespace/name`.
async fn prune_region(
    client: &Client,
    vestibule: &Vestibule,
    region: &crate::resources::vestibule::Region,
    objects: &RegionObjects,
    metrics: &super::metrics::OperatorMetrics,
) -> Result<Vec<String>, Error> {
    let names = crate::render::Names::new(vestibule, region);
    let labels = region_identity(vestibule, &region.name);
    let mut deleted = Vec::new();
    if objects.disruption_budget.is_none() {
        deleted.extend(
            prune::<PodDisruptionBudget>(client, &names.namespace, &names.base, &labels, metrics)
                .await?,
        );
    }
    if objects.ingress.is_none() {
        deleted.extend(
            prune::<Ingress>(client, &names.namespace, &names.base, &labels, metrics).await?,
        );
    }
    // The data of a database moved to PostgreSQL stays unless the policy says otherwise.
    if objects.volume_claim.is_none() && !vestibule.spec.deletion_policy.is_retain() {
        deleted.extend(
            prune::<PersistentVolumeClaim>(client, &names.namespace, &names.data, &labels, metrics)
                .await?,
        );
    }
    Ok(deleted)
}

/// Deletes the region's `K` called `name`, if it is ours.
async fn prune<K>(
    client: &Client,
    namespace: &str,
    name: &str,
    labels: &[(&str, String); 3],
    metrics: &super::metrics::OperatorMetrics,
) -> Result<Option<String>, Error>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let Some(live) = api.get_opt(name).await? else {
        return Ok(None);
    };
    let ours = labels.iter().all(|(k, v)| live.labels().get(*k) == Some(v));
    if !ours {
        return Ok(None);
    }
    api.delete(name, &kube::api::DeleteParams::background())
        .await?;
    metrics.write("delete", &K::kind(&()));
    Ok(Some(format!("{} {namespace}/{name}", K::kind(&()))))
}

/// Writes status through the status subresource with server-side apply, from a freshly
/// computed value; skipped when nothing but timestamps would change.
async fn write_status(
    ctx: &Context,
    vestibule: &Vestibule,
    mut status: VestibuleStatus,
) -> Result<(), Error> {
    let events = status::transitions(vestibule.status.as_ref(), &status);
    if let Some(old) = &vestibule.status {
        status::carry_transition_times(&mut status.conditions, &old.conditions);
        for region in &mut status.regions {
            if let Some(previous) = old.regions.iter().find(|r| r.name == region.name) {
                status::carry_transition_times(&mut region.conditions, &previous.conditions);
            }
        }
        if old == &status {
            return Ok(());
        }
    }
    let api: Api<Vestibule> = Api::namespaced(ctx.client.clone(), &namespace_of(vestibule));
    let patch = json!({
        "apiVersion": crate::resources::API_VERSION,
        "kind": "Vestibule",
        "status": status,
    });
    api.patch_status(
        &vestibule.name_any(),
        &PatchParams::apply(STATUS_MANAGER).force(),
        &Patch::Apply(patch),
    )
    .await?;
    ctx.metrics.write("apply_status", "Vestibule");
    publish(ctx, vestibule, events).await;
    Ok(())
}

/// Publishes Events on the Vestibule. An Event that cannot be written is logged, not retried:
/// the status already says the same.
async fn publish(ctx: &Context, vestibule: &Vestibule, events: Vec<status::Transition>) {
    use kube::runtime::events::{Event as KubeEvent, EventType};
    let reference = vestibule.object_ref(&());
    for event in events {
        let event = KubeEvent {
            type_: if event.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: event.reason,
            // The Events API caps a note at 1 kB.
            note: Some(truncate(&event.note, 1000)),
            action: "Reconcile".to_owned(),
            secondary: None,
        };
        if let Err(error) = ctx.recorder.publish(&event, &reference).await {
            tracing::warn!(%error, reason = %event.reason, "event not published");
        } else {
            ctx.metrics.write("create", "Event");
        }
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Deletes every object of `kind` labelled as this Vestibule's in one region.
async fn delete_labelled<K>(
    client: &Client,
    namespace: &str,
    selector: &str,
    metrics: &super::metrics::OperatorMetrics,
) -> Result<(), Error>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let params = ListParams::default().labels(selector);
    api.delete_collection(&kube::api::DeleteParams::background(), &params)
        .await?;
    metrics.write("delete_collection", &K::kind(&()));
    Ok(())
}

/// Regions the status still lists that `spec.regions` no longer has.
fn removed_regions(vestibule: &Vestibule) -> Vec<crate::resources::vestibule::RegionStatus> {
    let wanted: BTreeSet<&str> = vestibule
        .spec
        .regions
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    vestibule
        .status
        .iter()
        .flat_map(|s| &s.regions)
        // An entry written before status recorded where a region lives has no namespace: it
        // is cleaned where a region without a namespace or kubeconfig lives, next to the
        // Vestibule (deletion is by this region's labels, so nothing else is touched).
        .filter(|r| !wanted.contains(r.name.as_str()))
        .cloned()
        .collect()
}

/// Deletes every object of a region removed from the spec, in its cluster.
async fn remove_region(
    ctx: &Context,
    vestibule: &Vestibule,
    gone: &crate::resources::vestibule::RegionStatus,
) -> Result<Vec<String>, String> {
    let home = namespace_of(vestibule);
    let client = ctx
        .clusters
        .client_for(&ctx.client, &home, gone.kubeconfig_secret_ref.as_ref())
        .await?;
    let namespace = gone.namespace.as_deref().unwrap_or(home.as_str());
    clean_region(
        &client.client,
        vestibule,
        &gone.name,
        namespace,
        &ctx.metrics,
    )
    .await
    .map_err(|e| e.to_string())
}

/// The labels that make an object this Vestibule's in region `region`: what cleanup selects by
/// and what pruning checks before it deletes anything.
fn region_identity(vestibule: &Vestibule, region: &str) -> [(&'static str, String); 3] {
    [
        (
            crate::render::MANAGED_BY_LABEL,
            crate::render::MANAGER.to_owned(),
        ),
        (crate::render::INSTANCE_LABEL, vestibule.name_any()),
        (crate::render::REGION_LABEL, region.to_owned()),
    ]
}

/// [`region_identity`] as a label selector.
fn region_selector(vestibule: &Vestibule, region: &str) -> String {
    let pairs: Vec<String> = region_identity(vestibule, region)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pairs.join(",")
}

/// Deletes every object labelled as this Vestibule's in region `region` of `namespace`, by the
/// one list of region kinds; volume claims only under `deletionPolicy: Delete`. Returns what it
/// kept (`PersistentVolumeClaim namespace/name`).
async fn clean_region(
    client: &Client,
    vestibule: &Vestibule,
    region: &str,
    namespace: &str,
    metrics: &super::metrics::OperatorMetrics,
) -> Result<Vec<String>, Error> {
    let selector = region_selector(vestibule, region);
    let retain = vestibule.spec.deletion_policy.is_retain();
    let mut kept = Vec::new();
    macro_rules! clean {
        ($kind:ty) => {
            if retain && <$kind as Resource>::kind(&()) == "PersistentVolumeClaim" {
                kept.extend(labelled::<$kind>(client, namespace, &selector).await?);
            } else {
                delete_labelled::<$kind>(client, namespace, &selector, metrics).await?;
            }
        };
    }
    super::kinds::region_kinds!(clean);
    Ok(kept)
}

/// The objects of `K` labelled as this Vestibule's in one region, as `Kind namespace/name`.
async fn labelled<K>(client: &Client, namespace: &str, selector: &str) -> Result<Vec<String>, Error>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list_metadata(&ListParams::default().labels(selector))
        .await?;
    Ok(list
        .items
        .iter()
        .map(|o| format!("{} {namespace}/{}", K::kind(&()), o.name_any()))
        .collect())
}

/// The note of an Event saying what was deleted and what `deletionPolicy: Retain` kept.
fn deleted_and_kept(deleted: &[String], kept: &[String]) -> Option<String> {
    let mut parts = Vec::new();
    if !deleted.is_empty() {
        parts.push(format!("deleted {}", deleted.join(", ")));
    }
    if !kept.is_empty() {
        parts.push(format!("kept {} (deletionPolicy: Retain)", kept.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Before the Vestibule goes, its regional objects go. Objects next to it (same cluster and
/// namespace) carry owner references and are collected by Kubernetes; the rest are found by
/// label and deleted, in remote clusters too. An unreachable cluster keeps the finalizer (and
/// the Vestibule) until it can be cleaned, and says so in the error.
async fn cleanup(vestibule: &Vestibule, ctx: &Context) -> Result<Action, Error> {
    ctx.secrets.forget(vestibule);
    ctx.region_watches.forget(vestibule);
    let home = namespace_of(vestibule);
    let sqlite = vestibule.spec.database.postgres.is_none();
    let (mut deleted, mut kept) = (Vec::new(), Vec::new());
    for region in &vestibule.spec.regions {
        let names = crate::render::Names::new(vestibule, region);
        if region.kubeconfig_secret_ref.is_none() && names.namespace == home {
            // Collected by Kubernetes through owner references, except retained data.
            if sqlite && vestibule.spec.deletion_policy.is_retain() {
                let selector = region_selector(vestibule, &region.name);
                kept.extend(
                    labelled::<PersistentVolumeClaim>(&ctx.client, &home, &selector).await?,
                );
            }
            continue;
        }
        let client = ctx
            .clusters
            .client_for(&ctx.client, &home, region.kubeconfig_secret_ref.as_ref())
            .await
            .map_err(|reason| Error::Region(region.name.clone(), reason))?;
        kept.extend(
            clean_region(
                &client.client,
                vestibule,
                &region.name,
                &names.namespace,
                &ctx.metrics,
            )
            .await?,
        );
        deleted.push(format!("region {} in {}", region.name, names.namespace));
    }
    if let Some(note) = deleted_and_kept(&deleted, &kept) {
        let cleaned = status::Transition {
            warning: false,
            reason: "CleanedUp".to_owned(),
            note,
        };
        publish(ctx, vestibule, vec![cleaned]).await;
    }
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_ignores_what_the_server_adds_but_not_what_we_set() {
        let live = json!({"metadata": {"name": "a", "uid": "u"}, "data": {"k": "v"}});
        assert!(contains(
            &live,
            &json!({"metadata": {"name": "a"}, "data": {"k": "v"}})
        ));
        assert!(!contains(&live, &json!({"data": {"k": "w"}})));
        assert!(!contains(&json!({"items": [1, 2]}), &json!({"items": [1]})));
    }

    #[test]
    fn a_removed_region_is_found_even_from_a_status_that_did_not_record_where_it_lives() {
        let vestibule: Vestibule = serde_json::from_value(json!({
            "apiVersion": "vestibule.dev/v1alpha1", "kind": "Vestibule",
            "metadata": {"name": "shop", "namespace": "auth"},
            "spec": {"issuer": "https://auth.example.com", "regions": [{"name": "eu"}]},
            "status": {"regions": [
                {"name": "eu", "namespace": "auth"},
                {"name": "us", "namespace": "auth-us"},
                {"name": "legacy"},
            ]},
        }))
        .expect("vestibule");
        let gone: Vec<String> = removed_regions(&vestibule)
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(gone, ["us", "legacy"]);
    }
}
