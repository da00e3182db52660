//! What the auth domain counts: sign-in results, email delivery and breached-password checks.
//! Results are typed here; the HTTP layer registers these families with its own.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: String,
    result: &'static str,
}

/// How a sign-in attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInResult {
    /// Signed in.
    Success,
    /// Wrong credentials.
    Invalid,
    /// Per-IP limit reached.
    Throttled,
    /// The account is temporarily locked.
    Locked,
    /// Right password, address not verified yet.
    Unverified,
    /// Hashing saturated.
    Busy,
}

/// How an email send ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailResult {
    /// Handed to the transport.
    Sent,
    /// The transport failed.
    Failed,
}

/// How a breached-password check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreachResult {
    /// Not in the corpus.
    Clean,
    /// In the corpus: refused.
    Breached,
    /// The range API failed; the check was skipped (fail open).
    Skipped,
}

impl SignInResult {
    /// The label value, fixed by dashboards and alerts.
    fn label(self) -> &'static str {
        match self {
            SignInResult::Success => "success",
            SignInResult::Invalid => "invalid",
            SignInResult::Throttled => "throttled",
            SignInResult::Locked => "locked",
            SignInResult::Unverified => "unverified",
            SignInResult::Busy => "busy",
        }
    }
}

impl EmailResult {
    fn label(self) -> &'static str {
        match self {
            EmailResult::Sent => "sent",
            EmailResult::Failed => "failed",
        }
    }
}

impl BreachResult {
    fn label(self) -> &'static str {
        match self {
            BreachResult::Clean => "clean",
            BreachResult::Breached => "breached",
            BreachResult::Skipped => "skipped",
        }
    }
}

/// The auth domain's counters. Clones share the same counters.
#[derive(Clone, Default)]
pub struct AuthMetrics {
    sign_ins: Family<ResultLabels, Counter>,
    emails: Family<ResultLabels, Counter>,
    breach_checks: Family<ResultLabels, Counter>,
    provider_sign_ins: Family<ProviderLabels, Counter>,
    organization_syncs: Family<ResultLabels, Counter>,
    organization_sync_writes: Counter,
}

impl AuthMetrics {
    /// Adds these metrics to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "sign_ins",
            "Sign-in attempts by result",
            self.sign_ins.clone(),
        );
        registry.register(
            "emails",
            "Emails by result (sent, failed)",
            self.emails.clone(),
        );
        registry.register(
            "breach_checks",
            "Breached-password checks by result (clean, breached, skipped: the range API failed)",
            self.breach_checks.clone(),
        );
        registry.register(
            "provider_sign_ins",
            "Sign-ins through upstream identity providers by provider slug and result \
             (success, or the failure's reason: state, expired, denied, unreachable, token, ...)",
            self.provider_sign_ins.clone(),
        );
        registry.register(
            "organization_syncs",
            "Syncs of the declared Organizations into the database, by result (unchanged: \
             nothing written, changed, failed)",
            self.organization_syncs.clone(),
        );
        registry.register(
            "organization_sync_writes",
            "Rows the declared-Organization syncs wrote",
            self.organization_sync_writes.clone(),
        );
    }

    /// Counts one sync of the declared organizations and the rows it wrote (`None`: failed).
    pub fn organization_sync(&self, writes: Option<u64>) {
        let result = match writes {
            None => "failed",
            Some(0) => "unchanged",
            Some(_) => "changed",
        };
        self.organization_syncs
            .get_or_create(&ResultLabels { result })
            .inc();
        self.organization_sync_writes.inc_by(writes.unwrap_or(0));
    }

    /// Counts one provider callback by its result (`success` or a failure reason).
    pub fn provider_sign_in(&self, provider: &str, result: &'static str) {
        self.provider_sign_ins
            .get_or_create(&ProviderLabels {
                provider: provider.to_owned(),
                result,
            })
            .inc();
    }

    /// Counts one sign-in attempt.
    pub fn sign_in(&self, result: SignInResult) {
        let result = result.label();
        self.sign_ins.get_or_create(&ResultLabels { result }).inc();
    }

    /// Counts one email.
    pub fn email(&self, result: EmailResult) {
        let result = result.label();
        self.emails.get_or_create(&ResultLabels { result }).inc();
    }

    /// Counts one breached-password check.
    pub fn breach_check(&self, result: BreachResult) {
        let result = result.label();
        self.breach_checks
            .get_or_create(&ResultLabels { result })
            .inc();
    }
}
