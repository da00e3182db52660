//! Hands memory freed after a large reconcile back to the system.
//!
//! A reconcile at thousands of Organizations allocates tens of MiB for a moment (the inputs,
//! the compiled config, three rendered regions). glibc keeps most freed heap pages mapped, so the
//! operator's RSS ratchets up to its largest burst and stays there: measured with
//! `scripts/operator-rss` (CYCLE=1), 121 MiB held after shrinking from 5,000 to 1,000
//! Organizations, 44 MiB once `malloc_trim(0)` ran. mimalloc did not return it either (134 MiB).
//! So after a burst of reconciles the operator asks glibc to trim.

use std::sync::Arc;
use std::time::Duration;

use super::Context;

/// How often the trimmer looks for finished reconciles.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Runs forever: once reconciles have finished since the last look, releases free memory.
pub async fn trim_after_reconciles(ctx: Arc<Context>) {
    let mut seen = ctx.metrics.finished();
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        let finished = ctx.metrics.finished();
        if finished != seen {
            seen = finished;
            release_free_memory();
        }
    }
}

/// Returns free heap pages to the system (glibc); nothing elsewhere.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_memory() {
    // SAFETY: malloc_trim takes no pointers and only walks glibc's own free lists, under its
    // arena locks; it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Returns free heap pages to the system (glibc); nothing elsewhere.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}
