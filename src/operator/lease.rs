//! Leader election on a `coordination.k8s.io/v1` Lease, so only one operator replica reconciles
//! at a time — the protocol of client-go's `leaderelection` package, written against kube's `Api`.
//!
//! Expiry is judged the way client-go judges it: by how long *this* replica has seen the Lease's
//! spec unchanged, on its own monotonic clock, never by comparing the holder's `renewTime` with
//! the local wall clock. Clock skew between nodes therefore cannot make a follower take over a
//! lease that is still being renewed. Every write carries the `resourceVersion` last read, so of
//! two replicas racing for a lapsed lease exactly one wins; the other gets 409 Conflict.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::{Api, Client};
use tokio::time::Instant;

/// Which Lease to hold, as whom, and the timing of the protocol.
#[derive(Clone, Debug)]
pub struct LeaseSettings {
    /// Name of the Lease object.
    pub name: String,
    /// Namespace of the Lease object.
    pub namespace: String,
    /// This replica's identity, unique among replicas (the pod name).
    pub identity: String,
    /// How long a lease stays valid without renewal; written as `leaseDurationSeconds`.
    pub duration: Duration,
    /// How often the holder renews; must be well below `renew_deadline`.
    pub renew_every: Duration,
    /// How long the holder keeps leading without a successful renewal; below `duration`, so it
    /// has stopped before any follower can see the lease lapse (client-go's `RenewDeadline`).
    pub renew_deadline: Duration,
    /// How often a follower looks again, and how soon a failed renewal is retried.
    pub retry_every: Duration,
}

impl LeaseSettings {
    /// Settings with client-go's customary timing: 15 s lease, renewed every 5 s, given up 10 s
    /// after the last renewal, retried every 2 s.
    pub fn new(
        name: impl Into<String>,
        namespace: impl Into<String>,
        identity: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
            identity: identity.into(),
            duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
            renew_deadline: Duration::from_secs(10),
            retry_every: Duration::from_secs(2),
        }
    }

    fn duration_seconds(&self) -> i32 {
        // At least 1: a zero-length lease would be lapsed the moment it is written.
        i32::try_from(self.duration.as_secs())
            .unwrap_or(i32::MAX)
            .max(1)
    }
}

/// Why leader election stopped.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// The API server refused a request in a way retrying will not fix (e.g. RBAC).
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// Leadership ended: another replica may already be leading, so this one must stop.
    #[error("lease {lease} lost: {reason}")]
    Lost {
        /// `namespace/name` of the Lease.
        lease: String,
        /// What showed the loss.
        reason: String,
    },
}

/// What to do next, given the live Lease.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// No Lease exists: create this one, held by us.
    Create(Lease),
    /// We already hold it (a restart under the same identity): write this renewal.
    Renew(Lease),
    /// It was released or has lapsed: replace it with this one, held by us.
    TakeOver(Lease),
    /// Another replica holds it; it cannot lapse for at least this long.
    Wait(Duration),
}

/// Decides the next step of acquisition. Pure: `unchanged_for` is how long this replica has
/// seen the Lease's spec unchanged (zero on first sight), `now` stamps what we write.
///
/// A Lease with no holder was released and is free at once; one without `renewTime` was never
/// renewed and counts as lapsed. Another holder's lease lapses after its own
/// `leaseDurationSeconds` (ours if it has none), since that is the promise it made.
pub fn decide(
    live: Option<&Lease>,
    unchanged_for: Duration,
    now: Timestamp,
    settings: &LeaseSettings,
) -> Decision {
    let Some(live) = live else {
        return Decision::Create(created(settings, now));
    };
    let spec = live.spec.clone().unwrap_or_default();
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder == settings.identity {
        return Decision::Renew(renewed(live, settings, now));
    }
    let duration = spec
        .lease_duration_seconds
        .and_then(|s| u64::try_from(s).ok())
        .filter(|&s| s > 0)
        .map_or(settings.duration, Duration::from_secs);
    let lapsed = holder.is_empty() || spec.renew_time.is_none() || unchanged_for >= duration;
    if !lapsed {
        return Decision::Wait(duration - unchanged_for);
    }
    let mut lease = live.clone();
    lease.spec = Some(LeaseSpec {
        holder_identity: Some(settings.identity.clone()),
        lease_duration_seconds: Some(settings.duration_seconds()),
        acquire_time: Some(MicroTime(now)),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(spec.lease_transitions.unwrap_or(0).saturating_add(1)),
        ..spec
    });
    Decision::TakeOver(lease)
}

fn created(settings: &LeaseSettings, now: Timestamp) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(settings.name.clone()),
            namespace: Some(settings.namespace.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(settings.identity.clone()),
            lease_duration_seconds: Some(settings.duration_seconds()),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(0),
            ..LeaseSpec::default()
        }),
    }
}

/// `lease` (ours) renewed at `now`; its `resourceVersion` stays, so the write fails with 409 if
/// anyone else wrote the Lease since.
fn renewed(lease: &Lease, settings: &LeaseSettings, now: Timestamp) -> Lease {
    let mut lease = lease.clone();
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    spec.holder_identity = Some(settings.identity.clone());
    spec.lease_duration_seconds = Some(settings.duration_seconds());
    spec.renew_time = Some(MicroTime(now));
    lease
}

/// The Lease changed between our read and our write: another replica won, or it was deleted.
fn lost_race(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(s) if s.is_conflict() || s.is_already_exists() || s.is_not_found())
}

/// Worth retrying: the API server is overloaded or unreachable, not refusing us.
fn transient(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(s) => s.code >= 500 || s.code == 429,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Waits until this replica holds the Lease, then returns the leadership to be renewed.
///
/// Errors only when the API server refuses outright (e.g. missing RBAC); losing a race for the
/// Lease or a transient API failure just means waiting longer.
pub async fn acquire(client: Client, settings: LeaseSettings) -> Result<Leadership, LeaseError> {
    let api: Api<Lease> = Api::namespaced(client, &settings.namespace);
    // The spec last seen and since when, on our own clock: the basis of expiry.
    let mut observed: Option<(Option<LeaseSpec>, Instant)> = None;
    loop {
        let live = match api.get_opt(&settings.name).await {
            Ok(live) => live,
            Err(e) if transient(&e) => {
                tracing::warn!(error = %e, lease = %settings.name, "reading the lease failed; retrying");
                tokio::time::sleep(settings.retry_every).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let seen = Instant::now();
        let spec = live.as_ref().and_then(|l| l.spec.clone());
        let since = match observed {
            Some((previous, since)) if previous == spec => since,
            _ => seen,
        };
        observed = Some((spec, since));
        let pp = PostParams::default();
        let written = match decide(
            live.as_ref(),
            seen.duration_since(since),
            Timestamp::now(),
            &settings,
        ) {
            Decision::Wait(lapse) => {
                tracing::debug!(lease = %settings.name, lapses_in_s = lapse.as_secs(), "lease held by another replica");
                // Look again before it could lapse: the holder may release it early.
                tokio::time::sleep(lapse.min(settings.retry_every)).await;
                continue;
            }
            Decision::Create(lease) => api.create(&pp, &lease).await,
            Decision::Renew(lease) | Decision::TakeOver(lease) => {
                api.replace(&settings.name, &pp, &lease).await
            }
        };
        match written {
            Ok(lease) => {
                let transitions = lease.spec.as_ref().and_then(|s| s.lease_transitions);
                tracing::info!(
                    identity = %settings.identity,
                    lease = %format!("{}/{}", settings.namespace, settings.name),
                    transitions,
                    "became leader"
                );
                return Ok(Leadership {
                    api,
                    settings,
                    lease,
                    renewed_at: seen,
                });
            }
            Err(e) if lost_race(&e) => {
                tracing::debug!(lease = %settings.name, "another replica won the lease");
                tokio::time::sleep(settings.retry_every).await;
            }
            Err(e) if transient(&e) => {
                tracing::warn!(error = %e, lease = %settings.name, "writing the lease failed; retrying");
                tokio::time::sleep(settings.retry_every).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// This replica holds the Lease. Keep it by running [`Leadership::renew_until_lost`] alongside
/// the work it guards; hand it over with [`Leadership::release`] on graceful shutdown.
pub struct Leadership {
    api: Api<Lease>,
    settings: LeaseSettings,
    /// The Lease as last written by us, carrying the `resourceVersion` the next write requires.
    lease: Lease,
    /// When the last successful write was sent. Followers measure from when they saw it, which
    /// is later, so giving up `renew_deadline` (below `duration`) after this is before they take over.
    renewed_at: Instant,
}

impl Leadership {
    /// Renews the Lease every `renew_every` and returns once leadership is lost: another replica
    /// wrote the Lease (409), it was deleted, or no renewal succeeded within `renew_deadline`.
    /// Transient failures are retried every `retry_every` until then. The caller must stop the
    /// guarded work at once when this returns (client-go exits the process).
    pub async fn renew_until_lost(&mut self) -> LeaseError {
        let mut wait = self.settings.renew_every;
        loop {
            let deadline =
                self.renewed_at + self.settings.renew_deadline.min(self.settings.duration);
            tokio::time::sleep_until((Instant::now() + wait).min(deadline)).await;
            let sent = Instant::now();
            if sent >= deadline {
                return self.lost(format!(
                    "not renewed within {}s",
                    self.settings.renew_deadline.as_secs()
                ));
            }
            let renewal = renewed(&self.lease, &self.settings, Timestamp::now());
            let pp = PostParams::default();
            let write = self.api.replace(&self.settings.name, &pp, &renewal);
            match tokio::time::timeout_at(deadline, write).await {
                Ok(Ok(lease)) => {
                    self.lease = lease;
                    self.renewed_at = sent;
                    wait = self.settings.renew_every;
                }
                Ok(Err(e)) if lost_race(&e) => {
                    return self.lost("the lease was changed by someone else".into());
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, lease = %self.settings.name, "renewing the lease failed; retrying");
                    wait = self.settings.retry_every;
                }
                // The next turn finds the deadline passed.
                Err(_) => wait = Duration::ZERO,
            }
        }
    }

    fn lost(&self, reason: String) -> LeaseError {
        let error = LeaseError::Lost {
            lease: format!("{}/{}", self.settings.namespace, self.settings.name),
            reason,
        };
        tracing::warn!(identity = %self.settings.identity, error = %error, "leadership lost");
        error
    }

    /// Hands the Lease over at once by clearing `holderIdentity`, instead of making the successor
    /// wait out `duration` (client-go's `ReleaseOnCancel`). Best effort, bounded by `duration`;
    /// failures are logged. Call only after the guarded work has stopped.
    pub async fn release(self) {
        let lease = format!("{}/{}", self.settings.namespace, self.settings.name);
        match tokio::time::timeout(self.settings.duration, self.clear_holder()).await {
            Ok(Ok(true)) => {
                tracing::info!(identity = %self.settings.identity, %lease, "released leadership")
            }
            Ok(Ok(false)) => tracing::info!(%lease, "lease already held by another replica"),
            Ok(Err(e)) => tracing::warn!(error = %e, %lease, "releasing the lease failed"),
            Err(_) => tracing::warn!(%lease, "releasing the lease timed out"),
        }
    }

    /// Clears the holder; whether the Lease was still ours to clear.
    async fn clear_holder(&self) -> Result<bool, kube::Error> {
        let pp = PostParams::default();
        match self
            .api
            .replace(&self.settings.name, &pp, &released(&self.lease))
            .await
        {
            Ok(_) => return Ok(true),
            Err(e) if lost_race(&e) => {}
            Err(e) => return Err(e),
        }
        // Our last renewal may have landed without us seeing the answer (the renewing future
        // was dropped mid-request); release what is there if it is still ours.
        let Some(live) = self.api.get_opt(&self.settings.name).await? else {
            return Ok(false);
        };
        let holder = live
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref());
        if holder != Some(self.settings.identity.as_str()) {
            return Ok(false);
        }
        self.api
            .replace(&self.settings.name, &pp, &released(&live))
            .await?;
        Ok(true)
    }
}

/// `lease` with no holder; `renewTime` stays, as the record of the last renewal.
fn released(lease: &Lease) -> Lease {
    let mut lease = lease.clone();
    if let Some(spec) = lease.spec.as_mut() {
        spec.holder_identity = None;
    }
    lease
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> LeaseSettings {
        LeaseSettings::new("vestibule-operator", "vestibule-system", "me")
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_750_000_000 + seconds).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn lease(holder: Option<&str>, duration: Option<i32>, renewed: Option<i64>) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some("vestibule-operator".into()),
                namespace: Some("vestibule-system".into()),
                resource_version: Some("41".into()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: holder.map(Into::into),
                lease_duration_seconds: duration,
                acquire_time: Some(MicroTime(at(-100))),
                renew_time: renewed.map(|s| MicroTime(at(s))),
                lease_transitions: Some(3),
                ..LeaseSpec::default()
            }),
        }
    }

    fn taken_over(decision: Decision) -> LeaseSpec {
        match decision {
            Decision::TakeOver(lease) => {
                assert_eq!(lease.metadata.resource_version.as_deref(), Some("41"));
                lease.spec.unwrap_or_default()
            }
            other => panic!("expected TakeOver, got {other:?}"),
        }
    }

    #[test]
    fn missing_lease_is_created_held_by_me() {
        let Decision::Create(lease) = decide(None, Duration::ZERO, at(0), &settings()) else {
            panic!("expected Create");
        };
        assert_eq!(lease.metadata.name.as_deref(), Some("vestibule-operator"));
        assert_eq!(
            lease.metadata.namespace.as_deref(),
            Some("vestibule-system")
        );
        assert_eq!(lease.metadata.resource_version, None);
        let spec = lease.spec.unwrap_or_default();
        assert_eq!(spec.holder_identity.as_deref(), Some("me"));
        assert_eq!(spec.lease_duration_seconds, Some(15));
        assert_eq!(spec.lease_transitions, Some(0));
        assert_eq!(spec.acquire_time, Some(MicroTime(at(0))));
        assert_eq!(spec.renew_time, Some(MicroTime(at(0))));
    }

    #[test]
    fn my_own_lease_is_renewed_keeping_acquire_time_and_transitions() {
        let live = lease(Some("me"), Some(15), Some(-3));
        let Decision::Renew(renewal) = decide(Some(&live), Duration::ZERO, at(0), &settings())
        else {
            panic!("expected Renew");
        };
        assert_eq!(renewal.metadata.resource_version.as_deref(), Some("41"));
        let spec = renewal.spec.unwrap_or_default();
        assert_eq!(spec.holder_identity.as_deref(), Some("me"));
        assert_eq!(spec.renew_time, Some(MicroTime(at(0))));
        assert_eq!(spec.acquire_time, Some(MicroTime(at(-100))));
        assert_eq!(spec.lease_transitions, Some(3));
    }

    #[test]
    fn fresh_lease_of_another_holder_is_waited_out_by_its_own_duration() {
        let live = lease(Some("other"), Some(40), Some(0));
        assert_eq!(
            decide(Some(&live), Duration::ZERO, at(0), &settings()),
            Decision::Wait(Duration::from_secs(40))
        );
        assert_eq!(
            decide(Some(&live), Duration::from_secs(25), at(25), &settings()),
            Decision::Wait(Duration::from_secs(15))
        );
    }

    #[test]
    fn expiry_is_judged_by_local_observation_not_the_holders_clock() {
        // renewTime far in the past by our wall clock (skew, or a stopped clock over there): the
        // holder may still be renewing, so a first sighting waits a full duration.
        let live = lease(Some("other"), Some(15), Some(-3600));
        assert_eq!(
            decide(Some(&live), Duration::ZERO, at(0), &settings()),
            Decision::Wait(Duration::from_secs(15))
        );
    }

    #[test]
    fn lapsed_lease_is_taken_over_with_one_more_transition() {
        let live = lease(Some("other"), Some(15), Some(0));
        let spec = taken_over(decide(
            Some(&live),
            Duration::from_secs(15),
            at(15),
            &settings(),
        ));
        assert_eq!(spec.holder_identity.as_deref(), Some("me"));
        assert_eq!(spec.lease_transitions, Some(4));
        assert_eq!(spec.acquire_time, Some(MicroTime(at(15))));
        assert_eq!(spec.renew_time, Some(MicroTime(at(15))));
        assert_eq!(spec.lease_duration_seconds, Some(15));
    }

    #[test]
    fn released_lease_is_taken_over_at_once() {
        for holder in [None, Some("")] {
            let live = lease(holder, Some(15), Some(0));
            let spec = taken_over(decide(Some(&live), Duration::ZERO, at(0), &settings()));
            assert_eq!(spec.holder_identity.as_deref(), Some("me"));
            assert_eq!(spec.lease_transitions, Some(4));
        }
    }

    #[test]
    fn lease_never_renewed_counts_as_lapsed() {
        let live = lease(Some("other"), Some(15), None);
        let spec = taken_over(decide(Some(&live), Duration::ZERO, at(0), &settings()));
        assert_eq!(spec.holder_identity.as_deref(), Some("me"));
    }

    #[test]
    fn lease_without_a_usable_duration_uses_ours() {
        for duration in [None, Some(0), Some(-5)] {
            let live = lease(Some("other"), duration, Some(0));
            assert_eq!(
                decide(Some(&live), Duration::from_secs(10), at(10), &settings()),
                Decision::Wait(Duration::from_secs(5)),
                "{duration:?}"
            );
        }
    }

    #[test]
    fn lease_without_spec_is_free() {
        let mut live = lease(Some("other"), Some(15), Some(0));
        live.spec = None;
        let spec = taken_over(decide(Some(&live), Duration::ZERO, at(0), &settings()));
        assert_eq!(spec.holder_identity.as_deref(), Some("me"));
        assert_eq!(spec.lease_transitions, Some(1));
    }

    #[test]
    fn transition_count_saturates_instead_of_overflowing() {
        let mut live = lease(Some("other"), Some(15), Some(0));
        if let Some(spec) = live.spec.as_mut() {
            spec.lease_transitions = Some(i32::MAX);
        }
        let spec = taken_over(decide(
            Some(&live),
            Duration::from_secs(15),
            at(15),
            &settings(),
        ));
        assert_eq!(spec.lease_transitions, Some(i32::MAX));
    }

    #[test]
    fn release_clears_only_the_holder() {
        let live = lease(Some("me"), Some(15), Some(0));
        let cleared = released(&live);
        let spec = cleared.spec.unwrap_or_default();
        assert_eq!(spec.holder_identity, None);
        assert_eq!(spec.renew_time, Some(MicroTime(at(0))));
        assert_eq!(cleared.metadata.resource_version.as_deref(), Some("41"));
    }
}
