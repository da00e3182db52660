//! Status values computed fresh on every reconcile (never read-modify-write of the old status),
//! in the kstatus shape: `Ready`, `Reconciling`, `Stalled`, `Degraded`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use crate::config::Diagnostic;
use crate::resources::vestibule::{RegionStatus, VestibuleStatus};

fn condition(
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) -> Condition {
    Condition {
        type_: kind.to_owned(),
        status: if status { "True" } else { "False" }.to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        observed_generation: generation,
        last_transition_time: Time(now),
    }
}

/// Keeps `lastTransitionTime` of conditions whose status did not change, so an unchanged state
/// serializes identically and a no-op reconcile writes nothing new.
pub fn carry_transition_times(new: &mut [Condition], old: &[Condition]) {
    for c in new.iter_mut() {
        if let Some(previous) = old
            .iter()
            .find(|o| o.type_ == c.type_ && o.status == c.status)
        {
            c.last_transition_time = previous.last_transition_time.clone();
        }
    }
}

/// The config compiled and every region was tried: `Ready` when all were applied, else
/// `Degraded` naming the regions that failed (the others are applied regardless).
pub fn ready(
    generation: Option<i64>,
    hash: &str,
    regions: Vec<RegionStatus>,
    now: Timestamp,
) -> VestibuleStatus {
    let failed: Vec<&str> = regions
        .iter()
        .filter(|r| r.applied_config_hash.is_none())
        .map(|r| r.name.as_str())
        .collect();
    let conditions = if failed.is_empty() {
        vec![
            condition(
                "Ready",
                true,
                "Reconciled",
                "every region is applied",
                generation,
                now,
            ),
            condition("Reconciling", false, "Reconciled", "", generation, now),
            condition("Stalled", false, "Reconciled", "", generation, now),
            condition("Degraded", false, "Reconciled", "", generation, now),
        ]
    } else {
        let message = format!(
            "regions not applied: {} (see status.regions)",
            failed.join(", ")
        );
        vec![
            condition("Ready", false, "RegionsDegraded", &message, generation, now),
            condition("Reconciling", false, "RegionsDegraded", "", generation, now),
            condition("Stalled", false, "RegionsDegraded", "", generation, now),
            condition(
                "Degraded",
                true,
                "RegionsDegraded",
                &message,
                generation,
                now,
            ),
        ]
    };
    VestibuleStatus {
        observed_generation: generation,
        conditions,
        config_hash: Some(hash.to_owned()),
        regions,
    }
}

/// The resources do not compile: nothing is rolled out, the previous config stays.
pub fn stalled(
    generation: Option<i64>,
    diagnostics: &[Diagnostic],
    now: Timestamp,
) -> VestibuleStatus {
    let message = diagnostics
        .iter()
        .take(10)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    let more = diagnostics.len().saturating_sub(10);
    let message = if more > 0 {
        format!("{message}; and {more} more")
    } else {
        message
    };
    VestibuleStatus {
        observed_generation: generation,
        conditions: vec![
            condition("Ready", false, "InvalidConfig", &message, generation, now),
            condition("Reconciling", false, "InvalidConfig", "", generation, now),
            condition("Stalled", true, "InvalidConfig", &message, generation, now),
        ],
        config_hash: None,
        regions: Vec::new(),
    }
}

/// Paused: nothing is written but status.
pub fn paused(generation: Option<i64>, now: Timestamp) -> VestibuleStatus {
    VestibuleStatus {
        observed_generation: generation,
        conditions: vec![
            condition(
                "Ready",
                false,
                "Paused",
                "spec.paused is true; no changes are applied",
                generation,
                now,
            ),
            condition("Reconciling", false, "Paused", "", generation, now),
            condition("Stalled", false, "Paused", "", generation, now),
        ],
        config_hash: None,
        regions: Vec::new(),
    }
}

/// A region's state after applying it (or failing to).
pub fn region(
    name: &str,
    hash: &str,
    error: Option<&str>,
    generation: Option<i64>,
    now: Timestamp,
) -> RegionStatus {
    let conditions = match error {
        None => vec![condition("Ready", true, "Applied", "", generation, now)],
        Some(e) => vec![
            condition("Ready", false, "Unreachable", e, generation, now),
            condition("Degraded", true, "Unreachable", e, generation, now),
        ],
    };
    RegionStatus {
        name: name.to_owned(),
        conditions,
        ready_replicas: 0,
        desired_config_hash: Some(hash.to_owned()),
        applied_config_hash: error.is_none().then(|| hash.to_owned()),
    }
}
