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

/// The config compiled and every region was tried: `Degraded` naming the regions that failed
/// (the others are applied regardless); else `Reconciling` while a region has no ready auth
/// server yet; else `Ready`.
pub fn ready(
    generation: Option<i64>,
    hash: &str,
    regions: Vec<RegionStatus>,
    now: Timestamp,
) -> VestibuleStatus {
    let names = |reason: &str| -> Vec<&str> {
        regions
            .iter()
            .filter(|r| {
                r.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.reason == reason)
            })
            .map(|r| r.name.as_str())
            .collect()
    };
    let failed = names(NOT_APPLIED);
    let waiting = names(PROGRESSING);
    let conditions = if !failed.is_empty() {
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
    } else if !waiting.is_empty() {
        let message = format!(
            "applied; waiting for a ready auth server in: {}",
            waiting.join(", ")
        );
        vec![
            condition("Ready", false, PROGRESSING, &message, generation, now),
            condition("Reconciling", true, PROGRESSING, &message, generation, now),
            condition("Stalled", false, PROGRESSING, "", generation, now),
            condition("Degraded", false, PROGRESSING, "", generation, now),
        ]
    } else {
        vec![
            condition(
                "Ready",
                true,
                "Reconciled",
                "every region is applied and serving",
                generation,
                now,
            ),
            condition("Reconciling", false, "Reconciled", "", generation, now),
            condition("Stalled", false, "Reconciled", "", generation, now),
            condition("Degraded", false, "Reconciled", "", generation, now),
        ]
    };
    VestibuleStatus {
        observed_generation: generation,
        conditions,
        config_hash: Some(hash.to_owned()),
        regions,
        slug_conflicts: Vec::new(),
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
        slug_conflicts: Vec::new(),
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
        slug_conflicts: Vec::new(),
    }
}

/// Reason of a region that could not be applied (its cluster unreachable or a write refused).
pub const NOT_APPLIED: &str = "NotApplied";
/// Reason of a region whose objects are applied but which has no ready auth server yet.
pub const PROGRESSING: &str = "Progressing";

/// What applying one region came to.
#[derive(Clone, Debug)]
pub enum RegionOutcome<'a> {
    /// Every object is applied; the Deployment reports this many ready and desired replicas.
    Applied {
        /// `status.readyReplicas` of the region's Deployment.
        ready: i32,
        /// `spec.replicas` of the region.
        desired: i32,
    },
    /// The region could not be applied, for this reason; it keeps serving what it served.
    Failed {
        /// Why.
        reason: &'a str,
        /// What the region's servers run, as read from the region or as last reported.
        serving: Serving,
    },
}

/// What a region's servers are running, whatever the operator wanted them to run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Serving {
    /// Hash of the config in the region's ConfigMap (the last one applied), if known.
    pub config_hash: Option<String>,
    /// Ready auth servers.
    pub ready_replicas: i32,
}

/// A region's state after applying it (or failing to). `Ready` once at least one auth server
/// is ready: that is when the region serves sign-ins.
pub fn region(
    name: &str,
    hash: &str,
    outcome: RegionOutcome<'_>,
    generation: Option<i64>,
    now: Timestamp,
) -> RegionStatus {
    let (conditions, ready_replicas, applied_hash) = match outcome {
        RegionOutcome::Applied { ready, desired } if ready > 0 => {
            let message = format!("{ready}/{desired} auth servers ready");
            let ready_now = condition("Ready", true, "Available", &message, generation, now);
            (vec![ready_now], ready, Some(hash.to_owned()))
        }
        RegionOutcome::Applied { ready, desired } => {
            let message = format!("applied; {ready}/{desired} auth servers ready");
            let waiting = condition("Ready", false, PROGRESSING, &message, generation, now);
            (vec![waiting], ready, Some(hash.to_owned()))
        }
        RegionOutcome::Failed { reason, serving } => (
            vec![
                condition("Ready", false, NOT_APPLIED, reason, generation, now),
                condition("Degraded", true, NOT_APPLIED, reason, generation, now),
            ],
            serving.ready_replicas,
            serving.config_hash,
        ),
    };
    RegionStatus {
        name: name.to_owned(),
        conditions,
        ready_replicas,
        desired_config_hash: Some(hash.to_owned()),
        applied_config_hash: applied_hash,
        // Where the region lives is filled in by the reconcile, which knows the spec.
        namespace: None,
        kubeconfig_secret_ref: None,
    }
}

/// One Kubernetes Event to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// `Normal` or `Warning`.
    pub warning: bool,
    /// PascalCase reason, as shown by `kubectl describe`.
    pub reason: String,
    /// Human-readable note.
    pub note: String,
}

fn ready_of(status: &VestibuleStatus) -> Option<&Condition> {
    status.conditions.iter().find(|c| c.type_ == "Ready")
}

/// Events for what changed between the status a Vestibule had and the one just written: the
/// `Ready` condition's status or reason, or the config hash that is rolled out. Nothing when
/// nothing changed, so a resync does not repeat events.
pub fn transitions(old: Option<&VestibuleStatus>, new: &VestibuleStatus) -> Vec<Transition> {
    let mut out = Vec::new();
    let before = old.and_then(ready_of);
    if let Some(now) = ready_of(new) {
        let changed = before.is_none_or(|b| b.status != now.status || b.reason != now.reason);
        if changed {
            let note = if now.message.is_empty() {
                now.reason.clone()
            } else {
                now.message.clone()
            };
            out.push(Transition {
                warning: matches!(now.reason.as_str(), "InvalidConfig" | "RegionsDegraded"),
                reason: now.reason.clone(),
                note,
            });
        }
    }
    let old_hash = old.and_then(|o| o.config_hash.as_deref());
    // Only a config that every region took is announced as applied; a refused one is told by
    // the Ready transition above.
    let serving_everywhere = ready_of(new).is_some_and(|c| c.status == "True");
    if let Some(hash) = new.config_hash.as_deref()
        && old_hash.is_some_and(|h| h != hash)
        && serving_everywhere
    {
        out.push(Transition {
            warning: false,
            reason: "ConfigChanged".to_owned(),
            note: format!("config {hash} applied to every reachable region"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::UNIX_EPOCH
    }

    fn applied(ready: i32) -> RegionOutcome<'static> {
        RegionOutcome::Applied { ready, desired: 2 }
    }

    #[test]
    fn ready_needs_a_ready_server_in_every_region() {
        let regions = vec![
            region("eu", "sha256:a", applied(2), Some(1), now()),
            region("us", "sha256:a", applied(0), Some(1), now()),
        ];
        let status = ready(Some(1), "sha256:a", regions, now());
        let ready = ready_of(&status).expect("Ready");
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", PROGRESSING)
        );
        assert!(ready.message.contains("us"), "{}", ready.message);
        let reconciling = status.conditions.iter().find(|c| c.type_ == "Reconciling");
        assert_eq!(reconciling.map(|c| c.status.as_str()), Some("True"));
        assert_eq!(status.regions[1].ready_replicas, 0);
        assert_eq!(
            status.regions[1].applied_config_hash.as_deref(),
            Some("sha256:a")
        );
    }

    #[test]
    fn a_failed_region_degrades_and_is_not_applied() {
        let regions = vec![
            region("eu", "sha256:a", applied(1), Some(1), now()),
            region(
                "us",
                "sha256:a",
                RegionOutcome::Failed {
                    reason: "connection refused",
                    serving: Serving::default(),
                },
                Some(1),
                now(),
            ),
        ];
        let status = ready(Some(1), "sha256:a", regions, now());
        let degraded = status.conditions.iter().find(|c| c.type_ == "Degraded");
        assert_eq!(degraded.map(|c| c.status.as_str()), Some("True"));
        assert_eq!(status.regions[1].applied_config_hash, None);
        let all_ready = ready(
            Some(1),
            "sha256:a",
            vec![region("eu", "sha256:a", applied(1), Some(1), now())],
            now(),
        );
        assert_eq!(
            ready_of(&all_ready).map(|c| c.status.as_str()),
            Some("True")
        );
    }

    #[test]
    fn a_refused_region_reports_what_it_still_serves() {
        let serving = Serving {
            config_hash: Some("sha256:old".into()),
            ready_replicas: 2,
        };
        let refused = region(
            "eu",
            "sha256:new",
            RegionOutcome::Failed {
                reason: "the compiled config is 1100 KiB",
                serving,
            },
            Some(2),
            now(),
        );
        assert_eq!(refused.applied_config_hash.as_deref(), Some("sha256:old"));
        assert_eq!(refused.desired_config_hash.as_deref(), Some("sha256:new"));
        assert_eq!(refused.ready_replicas, 2);
        let ready = refused.conditions.iter().find(|c| c.type_ == "Ready");
        assert_eq!(ready.map(|c| c.reason.as_str()), Some(NOT_APPLIED));
        assert!(ready.is_some_and(|c| c.message.contains("1100 KiB")));
    }

    #[test]
    fn events_only_on_transitions() {
        let serving = |hash: &str| {
            ready(
                Some(1),
                hash,
                vec![region("eu", hash, applied(1), Some(1), now())],
                now(),
            )
        };
        let first = transitions(None, &serving("sha256:a"));
        assert_eq!(first.len(), 1);
        assert_eq!(
            (first[0].reason.as_str(), first[0].warning),
            ("Reconciled", false)
        );
        // A resync that changes nothing says nothing.
        assert!(transitions(Some(&serving("sha256:a")), &serving("sha256:a")).is_empty());
        // A new config while staying Ready: one event naming the hash.
        let rolled = transitions(Some(&serving("sha256:a")), &serving("sha256:b"));
        assert_eq!(rolled.len(), 1);
        assert!(rolled[0].note.contains("sha256:b"));
        // Going bad is a warning, carrying the diagnostics.
        let diagnostic = crate::config::Diagnostic::new(
            &crate::config::ResourceId::new("Vestibule", "default", "x"),
            "spec.themeRef.name",
            "Theme \"missing\" not found",
        );
        let bad = transitions(
            Some(&serving("sha256:a")),
            &stalled(Some(2), &[diagnostic], now()),
        );
        assert_eq!(bad.len(), 1);
        assert!(bad[0].warning);
        assert!(bad[0].note.contains("missing"), "{}", bad[0].note);
    }
}
