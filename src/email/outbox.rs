//! The dev mailbox: mail kept in memory instead of sent, shown on `/dev/mailbox`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use super::Message;

/// How many messages the outbox keeps; older ones are dropped first.
const CAPACITY: usize = 500;

/// The dev mailbox: the newest 500 messages kept in memory, as shown on /dev/mailbox.
#[derive(Clone, Default)]
pub struct Outbox {
    entries: Arc<Mutex<VecDeque<OutboxEntry>>>,
}

/// A message in the outbox.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxEntry {
    /// Recipient.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// When it was stored, RFC 3339 in UTC (`2025-01-31T09:15:02Z`).
    pub sent_at: String,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("len", &self.lock().len())
            .finish()
    }
}

impl Outbox {
    /// Stores a message, dropping the oldest once 500 are kept.
    pub fn push(&self, m: &Message) {
        let entry = OutboxEntry {
            to: m.to.clone(),
            subject: m.subject.clone(),
            text: m.text.clone(),
            html: m.html.clone(),
            sent_at: rfc3339_utc(SystemTime::now()),
        };
        let mut entries = self.lock();
        while entries.len() >= CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// The kept messages, oldest first.
    pub fn entries(&self) -> Vec<OutboxEntry> {
        self.lock().iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<OutboxEntry>> {
        // A panic while holding the lock cannot leave the queue half-updated.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a point in time.
fn rfc3339_utc(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// restricted to dates after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn message(n: usize) -> Message {
        Message {
            to: format!("user{n}@example.com"),
            subject: format!("subject {n}"),
            text: "text".into(),
            html: "<p>html</p>".into(),

            component: "email.message",
            blocks: Vec::new(),
        }
    }

    #[test]
    fn keeps_messages_oldest_first() {
        let outbox = Outbox::default();
        outbox.push(&message(1));
        outbox.push(&message(2));
        let entries = outbox.entries();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].to, "user1@example.com");
        assert_eq!(entries[1].subject, "subject 2");
        assert_eq!(entries[1].html, "<p>html</p>");
    }

    #[test]
    fn keeps_only_the_newest_500() {
        let outbox = Outbox::default();
        for n in 0..520 {
            outbox.push(&message(n));
        }
        let entries = outbox.entries();
        assert_eq!(entries.len(), 500);
        assert_eq!(entries[0].subject, "subject 20");
        assert_eq!(entries[499].subject, "subject 519");
    }

    #[test]
    fn clones_share_the_mailbox() {
        let outbox = Outbox::default();
        outbox.clone().push(&message(1));
        assert_eq!(outbox.entries().len(), 1);
    }

    #[test]
    fn sent_at_is_rfc3339_utc() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap_day = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723);
        assert_eq!(rfc3339_utc(leap_day), "2000-02-29T01:02:03Z");
        let end_of_year = UNIX_EPOCH + Duration::from_secs(1_735_689_599);
        assert_eq!(rfc3339_utc(end_of_year), "2024-12-31T23:59:59Z");

        let outbox = Outbox::default();
        outbox.push(&message(1));
        let sent_at = &outbox.entries()[0].sent_at;
        assert_eq!(sent_at.len(), 20, "{sent_at}");
        assert!(
            sent_at.ends_with('Z') && sent_at.as_bytes()[10] == b'T',
            "{sent_at}"
        );
    }
}
