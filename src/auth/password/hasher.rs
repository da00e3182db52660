//! argon2id hashing on tokio's blocking pool, with bounded concurrency (SECURITY 1, 3, 8, 11).
//!
//! Each hash holds `m` KiB (19 MiB at the OWASP floor) for tens of milliseconds. Left unbounded, a
//! burst of logins would allocate that once per request and take the pod down; here at most
//! `max_concurrent` hashes run at once and at most `max_waiting` more wait for a slot. Anything
//! beyond is refused with [`HashError::Busy`] straight away, which the server answers with 503 and
//! `Retry-After`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, PasswordHash, Version};
use tokio::sync::Semaphore;

use super::policy::{PolicyViolation, check_policy};
use crate::config::runtime::PasswordConfig;

/// Salt length in bytes (OWASP and RFC 9106 ask for at least 16).
const SALT_LEN: usize = 16;
/// Hash output length in bytes.
const OUTPUT_LEN: usize = 32;
/// How many waiting hashes each running one may have behind it by default. At ~25 ms per hash
/// (m=19456, t=2) that is a worst-case wait of about 0.4 s before the queue is full.
const DEFAULT_WAITING_PER_SLOT: usize = 16;

/// Why a hash or verification did not happen.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every slot is busy and the queue is full; try again shortly.
    #[error("too many password checks in progress")]
    Busy,
    /// Bad parameters, a stored hash that does not parse, or a failed task.
    #[error("password hashing failed: {0}")]
    Internal(String),
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    /// The password matches.
    pub valid: bool,
    /// The stored hash is weaker than the configured parameters (or not argon2id v19 with a
    /// 16-byte salt); hash the password again and store the new hash (SECURITY 1).
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords with argon2id; cheap to clone, clones share the limits.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Limits>,
}

struct Limits {
    /// One permit per policy check allowed to run at a time.
    running: Arc<Semaphore>,
    /// Hashing jobs for the worker threads, which run them one at a time each.
    jobs: Sender<Job>,
    /// Hashes admitted: running plus waiting for a permit.
    in_flight: AtomicUsize,
    /// Upper bound of `in_flight`.
    capacity: usize,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("in_flight", &self.in_flight())
            .field("capacity", &self.inner.capacity)
            .finish()
    }
}

impl Default for PasswordHasher {
    /// One running hash per available core (`available_parallelism`, which honours cgroup CPU
    /// quotas), and 16 waiting per running slot.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(cores, cores * DEFAULT_WAITING_PER_SLOT)
    }
}

impl PasswordHasher {
    /// At most `max_concurrent` hashes run at once (0 is taken as 1), at most `max_waiting` more
    /// wait; further calls get [`HashError::Busy`].
    pub fn new(max_concurrent: usize, max_waiting: usize) -> Self {
        let max_concurrent = max_concurrent.max(1);
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..max_concurrent {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("vestibule-hash-{i}"))
                .spawn(move || hash_worker(&queue));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password-hashing thread");
            }
        }
        Self {
            inner: Arc::new(Limits {
                running: Arc::new(Semaphore::new(max_concurrent)),
                jobs,
                in_flight: AtomicUsize::new(0),
                capacity: max_concurrent.saturating_add(max_waiting),
            }),
        }
    }

    /// Hashes a new password with the configured parameters and a fresh random 16-byte salt.
    ///
    /// Returns a PHC string, `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`. The password is hashed
    /// byte for byte as given: no trimming, case folding, normalization or truncation.
    pub async fn hash(&self, password: &str, params: &PasswordConfig) -> Result<String, HashError> {
        let params = argon2_params(params)?;
        let password = password.to_owned();
        self.run_argon2(move |memory| {
            let mut salt_bytes = [0u8; Salt::RECOMMENDED_LENGTH];
            rand::fill(&mut salt_bytes);
            let salt = Salt::new(&salt_bytes).map_err(internal)?;
            let mut out = [0u8; OUTPUT_LEN];
            argon2_into(
                memory,
                Algorithm::Argon2id,
                Version::V0x13,
                params.clone(),
                password.as_bytes(),
                &salt,
                &mut out,
            )?;
            let hash = PasswordHash {
                algorithm: ARGON2ID_IDENT,
                version: Some(Version::V0x13.into()),
                params: ParamsString::try_from(&params).map_err(internal)?,
                salt: Some(salt),
                hash: Some(Output::new(&out).map_err(internal)?),
            };
            Ok(hash.to_string())
        })
        .await?
    }

    /// Checks `password` against `stored`, byte-exact, with the parameters recorded in `stored`.
    ///
    /// `stored: None` (unknown user, or an account without a password) verifies against a fixed
    /// dummy hash with the configured parameters and returns invalid, so an unknown email costs
    /// the same time as a wrong password (SECURITY 11). A stored hash that does not parse is an
    /// [`HashError::Internal`].
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
        params: &PasswordConfig,
    ) -> Result<Verification, HashError> {
        // The dummy goes through exactly the same parse-and-hash path as a real hash.
        let (phc, known_user) = match stored {
            Some(stored) => (stored.to_owned(), true),
            None => (dummy_hash(params)?.to_string(), false),
        };
        let wanted = argon2_params(params)?;
        let password = password.to_owned();
        self.run_argon2(move |memory| {
            let hash = PasswordHash::new(&phc).map_err(|e| {
                HashError::Internal(format!("stored hash is not a valid PHC string: {e}"))
            })?;
            let valid = matches(memory, &password, &hash)?;
            Ok(Verification {
                valid: valid && known_user,
                needs_rehash: known_user && needs_rehash(&hash, &wanted),
            })
        })
        .await?
    }

    /// [`check_policy`] on the same bounded pool as the hashes.
    ///
    /// zxcvbn's common-password estimate is CPU-bound and, for crafted input (100 characters full
    /// of l33t look-alikes), takes about 0.3 s in a release build: run on an async worker, a few
    /// such sign-ups would stall every other request. The outer error is capacity
    /// ([`HashError::Busy`]); the inner one is the verdict on the password.
    pub async fn check_policy(
        &self,
        password: &str,
        policy: &PasswordConfig,
        email: &str,
    ) -> Result<Result<(), PolicyViolation>, HashError> {
        let (password, policy, email) = (password.to_owned(), policy.clone(), email.to_owned());
        self.run(move || check_policy(&password, &policy, &email))
            .await
    }

    /// Hashes running plus hashes waiting for a slot, for the hash-queue-depth metric.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Acquire)
    }

    /// Runs `job` on the blocking pool once a slot is free, or refuses if the queue is full.
    async fn run<T, F>(&self, job: F) -> Result<T, HashError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let ticket = self.admit()?;
        let permit = Arc::clone(&self.inner.running)
            .acquire_owned()
            .await
            .map_err(|_| HashError::Internal("hash queue closed".into()))?;
        // The permit and ticket move into the blocking task: if the caller goes away mid-hash,
        // the memory stays accounted for until the hash really finishes.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _ticket = ticket;
            job()
        })
        .await
        .map_err(|e| HashError::Internal(format!("hash task failed: {e}")))
    }

    /// Runs `job` on a hashing worker (with that worker's reusable argon2 memory), or refuses if
    /// the queue is full.
    async fn run_argon2<T, F>(&self, job: F) -> Result<T, HashError>
    where
        F: FnOnce(&mut Vec<Block>) -> T + Send + 'static,
        T: Send + 'static,
    {
        let ticket = self.admit()?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        // The ticket moves into the job: if the caller goes away, the hash still counts until it
        // has really finished.
        let job: Job = Box::new(move |memory| {
            let _ticket = ticket;
            let _ = reply.send(job(memory));
        });
        self.inner
            .jobs
            .send(job)
            .map_err(|_| HashError::Internal("password-hashing threads stopped".into()))?;
        answer
            .await
            .map_err(|_| HashError::Internal("password-hashing job failed".into()))
    }

    fn admit(&self) -> Result<Ticket, HashError> {
        let capacity = self.inner.capacity;
        self.inner
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < capacity).then_some(n + 1)
            })
            .map_err(|_| HashError::Busy)?;
        Ok(Ticket(Arc::clone(&self.inner)))
    }
}

/// One admitted hash; it leaves `in_flight` when dropped.
struct Ticket(Arc<Limits>);

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

fn argon2_params(params: &PasswordConfig) -> Result<Params, HashError> {
    Params::new(
        params.argon2_memory_kib,
        params.argon2_iterations,
        params.argon2_parallelism,
        Some(OUTPUT_LEN),
    )
    .map_err(|e| HashError::Internal(format!("invalid argon2 parameters: {e}")))
}

/// A hashing job: gets the worker's argon2 memory, kept between jobs.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// A hashing thread. Each keeps one argon2 memory buffer for its whole life, so a burst of
/// sign-ins costs exactly `max_concurrent` × m KiB, allocated once: no allocator churn, no
/// 19 MiB of fresh page faults per hash, and resident memory that cannot creep up.
fn hash_worker(queue: &Mutex<Receiver<Job>>) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = match queue.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else {
            // Every PasswordHasher handle is gone.
            return;
        };
        // A panicking job must not take the worker (and its share of capacity) with it; its
        // caller sees the dropped reply as an internal error.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut memory)));
    }
}

fn internal(e: impl std::fmt::Display) -> HashError {
    HashError::Internal(e.to_string())
}

/// argon2 into `out`, using (and growing if needed) the worker's memory.
fn argon2_into(
    memory: &mut Vec<Block>,
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), HashError> {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    let memory = memory
        .get_mut(..blocks)
        .ok_or_else(|| internal("argon2 memory"))?;
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, out, memory)
        .map_err(internal)
}

/// Recomputes `hash` for `password` with the algorithm, version, parameters and salt recorded in
/// it; the output comparison is constant-time.
fn matches(
    memory: &mut Vec<Block>,
    password: &str,
    hash: &PasswordHash,
) -> Result<bool, HashError> {
    let algorithm = Algorithm::try_from(hash.algorithm.as_str()).map_err(internal)?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).map_err(internal)?,
        None => Version::default(),
    };
    let params = Params::try_from(hash).map_err(internal)?;
    let salt = hash
        .salt
        .ok_or_else(|| internal("stored hash has no salt"))?;
    let expected = hash
        .hash
        .ok_or_else(|| internal("stored hash has no output"))?;
    let mut out = vec![0u8; expected.len()];
    argon2_into(
        memory,
        algorithm,
        version,
        params,
        password.as_bytes(),
        &salt,
        &mut out,
    )?;
    Ok(crate::crypto::constant_time_eq(
        out.as_slice(),
        expected.as_bytes(),
    ))
}

fn needs_rehash(hash: &PasswordHash, wanted: &Params) -> bool {
    let Ok(have) = Params::try_from(hash) else {
        return true;
    };
    hash.algorithm != ARGON2ID_IDENT
        || hash.version != Some(Version::V0x13.into())
        || hash.salt.as_ref().is_none_or(|salt| salt.len() < SALT_LEN)
        || have.m_cost() < wanted.m_cost()
        || have.t_cost() < wanted.t_cost()
        || have.p_cost() < wanted.p_cost()
}

/// A well-formed argon2id hash with the configured parameters whose password nobody knows: the
/// output is a fixed byte string, not the hash of anything.
fn dummy_hash(params: &PasswordConfig) -> Result<PasswordHash, HashError> {
    fn internal(e: impl std::fmt::Display) -> HashError {
        HashError::Internal(format!("dummy hash: {e}"))
    }
    let params = ParamsString::try_from(&argon2_params(params)?).map_err(internal)?;
    Ok(PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params,
        salt: Some(Salt::new(b"vestibule-dummy!").map_err(internal)?),
        hash: Some(Output::new(&[0x5a; OUTPUT_LEN]).map_err(internal)?),
    })
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher as _;
    use std::sync::mpsc;

    use super::*;

    /// Production parameters: the OWASP floor the config compiler enforces.
    fn floor() -> PasswordConfig {
        PasswordConfig {
            min_length: 10,
            max_length: 128,
            reject_common: true,
            breach_check: false,
            breach_check_url: None,
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
        }
    }

    /// Tiny parameters for tests about something other than the cost.
    fn tiny() -> PasswordConfig {
        PasswordConfig {
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            ..floor()
        }
    }

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(4, 64)
    }

    fn salt_of(phc: &str) -> Vec<u8> {
        PasswordHash::new(phc).unwrap().salt.unwrap().to_vec()
    }

    #[tokio::test]
    async fn hash_is_phc_argon2id_with_configured_params() {
        let phc = hasher().hash("correct horse", &floor()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(phc.split('$').count(), 6, "{phc}");
        assert_eq!(salt_of(&phc).len(), 16);
        let verified = hasher()
            .verify("correct horse", Some(&phc), &floor())
            .await
            .unwrap();
        assert_eq!(
            verified,
            Verification {
                valid: true,
                needs_rehash: false
            }
        );
    }

    #[tokio::test]
    async fn salts_are_unique() {
        let h = hasher();
        let a = h.hash("same password", &tiny()).await.unwrap();
        let b = h.hash("same password", &tiny()).await.unwrap();
        assert_ne!(a, b);
        assert_ne!(salt_of(&a), salt_of(&b));
    }

    #[tokio::test]
    async fn wrong_password_fails() {
        let h = hasher();
        let phc = h.hash("right password", &tiny()).await.unwrap();
        let v = h
            .verify("wrong password", Some(&phc), &tiny())
            .await
            .unwrap();
        assert!(!v.valid);
    }

    #[tokio::test]
    async fn verification_is_byte_exact() {
        let h = hasher();
        let nfc = "caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e";
        let nfd = "cafe\u{301} cre\u{300}me bru\u{302}le\u{301}e";
        let phc = h.hash(nfc, &tiny()).await.unwrap();
        for (other, why) in [
            (nfd, "NFD form of an NFC password"),
            (" caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e", "leading space"),
            ("caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e ", "trailing space"),
            ("CAF\u{c9} CR\u{c8}ME BR\u{db}L\u{c9}E", "case"),
            ("caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}", "prefix"),
        ] {
            let v = h.verify(other, Some(&phc), &tiny()).await.unwrap();
            assert!(!v.valid, "{why} must not verify");
        }
        assert!(h.verify(nfc, Some(&phc), &tiny()).await.unwrap().valid);

        let phc = h.hash(nfd, &tiny()).await.unwrap();
        assert!(h.verify(nfd, Some(&phc), &tiny()).await.unwrap().valid);
        assert!(!h.verify(nfc, Some(&phc), &tiny()).await.unwrap().valid);
    }

    #[tokio::test]
    async fn long_password_is_not_truncated() {
        let h = hasher();
        let long: String = "a passphrase with spaces and ünïcödé ".repeat(6);
        assert!(long.chars().count() >= 200);
        let phc = h.hash(&long, &tiny()).await.unwrap();
        assert!(h.verify(&long, Some(&phc), &tiny()).await.unwrap().valid);
        // Differs only in the last character: bcrypt-style 72-byte truncation would accept it.
        let mut tampered = long.clone();
        tampered.pop();
        tampered.push('!');
        assert!(
            !h.verify(&tampered, Some(&phc), &tiny())
                .await
                .unwrap()
                .valid
        );
    }

    #[tokio::test]
    async fn rehash_is_needed_when_params_rise() {
        let h = hasher();
        let phc = h.hash("pw", &tiny()).await.unwrap();
        let same = h.verify("pw", Some(&phc), &tiny()).await.unwrap();
        assert!(same.valid && !same.needs_rehash);
        for raised in [
            PasswordConfig {
                argon2_memory_kib: 128,
                ..tiny()
            },
            PasswordConfig {
                argon2_iterations: 2,
                ..tiny()
            },
            PasswordConfig {
                argon2_parallelism: 2,
                ..tiny()
            },
        ] {
            let v = h.verify("pw", Some(&phc), &raised).await.unwrap();
            assert!(v.valid, "the old hash still verifies");
            assert!(v.needs_rehash, "{raised:?}");
        }
        // Lowering the parameters never asks to weaken a stored hash.
        let strong = h.hash("pw", &floor()).await.unwrap();
        let v = h.verify("pw", Some(&strong), &tiny()).await.unwrap();
        assert!(v.valid && !v.needs_rehash);
    }

    #[tokio::test]
    async fn argon2i_hash_verifies_and_needs_rehash() {
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            argon2_params(&tiny()).unwrap(),
        );
        let phc = argon2i.hash_password(b"pw").unwrap().to_string();
        let v = hasher().verify("pw", Some(&phc), &tiny()).await.unwrap();
        assert!(v.valid && v.needs_rehash);
    }

    #[tokio::test]
    async fn unknown_user_verifies_against_dummy_hash_and_is_invalid() {
        let h = hasher();
        for password in ["", "anything", "pw"] {
            let v = h.verify(password, None, &tiny()).await.unwrap();
            assert!(!v.valid);
        }
    }

    #[test]
    fn dummy_hash_has_the_configured_params() {
        let dummy = dummy_hash(&floor()).unwrap().to_string();
        assert!(
            dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{dummy}"
        );
        assert!(PasswordHash::new(&dummy).is_ok());
    }

    #[tokio::test]
    async fn garbage_stored_hash_is_an_internal_error() {
        let err = hasher()
            .verify("pw", Some("not a hash"), &tiny())
            .await
            .unwrap_err();
        assert!(matches!(err, HashError::Internal(_)), "{err:?}");
    }

    #[tokio::test]
    async fn invalid_params_are_an_internal_error() {
        let bad = PasswordConfig {
            argon2_iterations: 0,
            ..tiny()
        };
        let err = hasher().hash("pw", &bad).await.unwrap_err();
        assert!(matches!(err, HashError::Internal(_)), "{err:?}");
    }

    #[tokio::test]
    async fn policy_check_runs_on_the_pool() {
        let h = hasher();
        assert_eq!(
            h.check_policy("qwertyuiop", &tiny(), "a@b.test")
                .await
                .unwrap(),
            Err(PolicyViolation::Common)
        );
        assert_eq!(
            h.check_policy("tundra ladle crimson parsnip", &tiny(), "a@b.test")
                .await
                .unwrap(),
            Ok(())
        );
    }

    #[tokio::test]
    async fn busy_when_the_queue_is_full() {
        // One running, one waiting: the third caller is refused without waiting.
        let h = PasswordHasher::new(1, 1);
        let (release, gate) = mpsc::channel::<()>();
        let gate = Arc::new(std::sync::Mutex::new(gate));
        let mut held = Vec::new();
        for _ in 0..2 {
            let h = h.clone();
            let gate = Arc::clone(&gate);
            held.push(tokio::spawn(async move {
                h.run(move || gate.lock().unwrap().recv().unwrap())
                    .await
                    .unwrap();
            }));
        }
        while h.in_flight() < 2 {
            tokio::task::yield_now().await;
        }
        let refused = h.hash("pw", &tiny()).await;
        assert!(matches!(refused, Err(HashError::Busy)), "{refused:?}");
        assert!(matches!(
            h.verify("pw", None, &tiny()).await,
            Err(HashError::Busy)
        ));
        assert!(matches!(
            h.check_policy("pw", &tiny(), "a@b.test").await,
            Err(HashError::Busy)
        ));
        assert_eq!(
            HashError::Busy.to_string(),
            "too many password checks in progress"
        );

        release.send(()).unwrap();
        release.send(()).unwrap();
        for task in held {
            task.await.unwrap();
        }
        assert_eq!(h.in_flight(), 0);
        assert!(h.hash("pw", &tiny()).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn burst_never_runs_more_than_max_concurrent() {
        // SECURITY 8: a burst of many times the slots queues or is refused; never more than
        // `max_concurrent` hashes (and their memory) at once.
        let h = PasswordHasher::new(2, 6);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let h = h.clone();
            let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
            tasks.push(tokio::spawn(async move {
                h.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        let (mut done, mut busy) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => done += 1,
                Err(HashError::Busy) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(done + busy, 40);
        assert!(done >= 8, "the running and waiting slots are used: {done}");
        assert!(busy > 0, "the rest is refused");
        assert!(peak.load(Ordering::SeqCst) <= 2);
        assert_eq!(h.in_flight(), 0);
    }

    #[tokio::test]
    async fn cancelled_caller_keeps_its_slot_until_the_hash_ends() {
        let h = PasswordHasher::new(1, 0);
        let (release, gate) = mpsc::channel::<()>();
        let job = {
            let h = h.clone();
            tokio::spawn(async move { h.run(move || gate.recv().unwrap()).await })
        };
        while h.in_flight() < 1 {
            tokio::task::yield_now().await;
        }
        job.abort();
        // The blocking hash is still running, so its slot is still taken.
        assert!(matches!(h.hash("pw", &tiny()).await, Err(HashError::Busy)));
        release.send(()).unwrap();
        while h.in_flight() > 0 {
            tokio::task::yield_now().await;
        }
        assert!(h.hash("pw", &tiny()).await.is_ok());
    }
}
