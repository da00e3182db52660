//! `Ready` on the resources a Vestibule is built from: whether each OAuthProvider, Organization,
//! Application, Theme and MfaPolicy was accepted into its Vestibule's config and, if not, why —
//! so `kubectl get oauthproviders` answers "is it working?" for each one.

use std::fmt::Debug;

use futures::StreamExt;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::metrics::OperatorMetrics;
use super::{Error, STATUS_MANAGER};
use crate::config::bundle::{Bundle, id_of, namespace_of};
use crate::config::{Diagnostic, ResourceId};
use crate::resources::common::CommonStatus;

/// The status a child should have, given the compile diagnostics.
pub fn status_for(
    id: &ResourceId,
    vestibule: &str,
    generation: Option<i64>,
    diagnostics: &[Diagnostic],
    now: Timestamp,
) -> CommonStatus {
    let mine: Vec<String> = diagnostics
        .iter()
        .filter(|d| &d.resource == id)
        .map(|d| format!("{}: {}", d.path, d.message))
        .collect();
    let (status, reason, message) = if mine.is_empty() {
        (
            "True",
            "Accepted",
            format!("part of Vestibule {vestibule}'s config"),
        )
    } else {
        ("False", "Invalid", mine.join("; "))
    };
    CommonStatus {
        observed_generation: generation,
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: status.into(),
            reason: reason.into(),
            message,
            observed_generation: generation,
            last_transition_time: Time(now),
        }],
    }
}

async fn report_one<K>(
    client: &Client,
    child: &K,
    old: Option<&CommonStatus>,
    mut new: CommonStatus,
    metrics: &OperatorMetrics,
) -> Result<(), Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug,
{
    if let Some(old) = old {
        super::status::carry_transition_times(&mut new.conditions, &old.conditions);
        if old == &new {
            return Ok(());
        }
    }
    let api: Api<K> = Api::namespaced(client.clone(), &namespace_of(child));
    let patch = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": new,
    });
    api.patch_status(
        &child.name_any(),
        &PatchParams::apply(STATUS_MANAGER).force(),
        &Patch::Apply(patch),
    )
    .await?;
    metrics.write("apply_status", &K::kind(&()));
    Ok(())
}

/// Status writes to child resources in flight at once.
const STATUS_WRITES_IN_FLIGHT: usize = 8;

/// Writes `Ready` on every child of the bundle whose condition changed.
pub async fn report(
    client: &Client,
    bundle: &Bundle,
    diagnostics: &[Diagnostic],
    now: Timestamp,
    metrics: &OperatorMetrics,
) -> Result<(), Error> {
    let vestibule = bundle.vestibule.name_any();
    // A few writes in flight at once: a first reconcile of 1,000 Organizations makes 1,000
    // status writes, and one at a time that is seconds of round trips.
    macro_rules! each {
        ($list:expr) => {
            let writes: Vec<_> = $list
                .iter()
                .map(|child| {
                    let new = status_for(
                        &id_of(child),
                        &vestibule,
                        child.meta().generation,
                        diagnostics,
                        now,
                    );
                    report_one(client, child, child.status.as_ref(), new, metrics)
                })
                .collect();
            let mut writes =
                futures::stream::iter(writes).buffer_unordered(STATUS_WRITES_IN_FLIGHT);
            while let Some(written) = writes.next().await {
                written?;
            }
        };
    }
    each!(bundle.providers);
    each!(bundle.organizations);
    each!(bundle.applications);
    each!(bundle.themes);
    each!(bundle.mfa_policies);
    Ok(())
}
