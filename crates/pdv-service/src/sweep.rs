//! The sweep: the second step of destroying a subject.
//!
//! Destroying a subject is split in two so that it costs the same whatever the subject holds. The
//! first step, the key shred, runs in the destroying transaction (the retention runner's batch, or
//! [`Vault::shred_subject`]): it deletes the subject's wrapped data key and category keys and
//! writes its tombstone, a handful of rows, after which none of its ciphertext can be decrypted by
//! anyone, in the database or in any backup. The subject is gone from that commit on: every read
//! of the store leaves out its remaining rows, and a backup does not carry them.
//!
//! The second step, here, deletes those remaining rows (records, fields, identifiers and their
//! blind indexes, consents, contracts, blocks, anchors, category tombstones): unreadable
//! ciphertext that should not keep taking space. It goes in small transactions of
//! [`SweepSettings::batch`] subjects with a pause between them, so that a purge of a million
//! subjects never holds the writer for long and foreground commands keep their latency. Each
//! transaction takes its subjects off the queue together with their rows and commits one audit
//! event, so a sweep killed at any point resumes where it stopped and never deletes twice.
//!
//! It runs at the end of every retention run, as a background task of `pdv serve`, and as
//! `pdv retention sweep`.

use std::time::Duration;

use pdv_core::audit::Outcome;
use pdv_store::SweepOutcome;
use serde::Serialize;
use serde_json::json;

use crate::error::ServiceResult;
use crate::vault::Vault;

/// Subjects per sweep transaction unless configured otherwise. A foreground command that arrives
/// while a sweep transaction runs waits for it, so the transaction is kept to about a millisecond
/// on SQLite, a couple of foreground reads' time (BENCHMARKS.md has the trade-off measured).
pub const DEFAULT_SWEEP_BATCH: u32 = 2;

/// The pause between two sweep transactions unless configured otherwise: the writer is left to
/// foreground commands for at least this long, so the sweep holds it a small share of the time.
pub const DEFAULT_SWEEP_PAUSE: Duration = Duration::from_millis(5);

/// How the sweep paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepSettings {
    /// Subjects per transaction (at least 1).
    pub batch: u32,
    /// The pause between transactions.
    pub pause: Duration,
}

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings {
            batch: DEFAULT_SWEEP_BATCH,
            pause: DEFAULT_SWEEP_PAUSE,
        }
    }
}

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Subjects whose remaining rows were deleted.
    pub subjects: u64,
    /// Rows deleted.
    pub rows: u64,
    /// Transactions committed.
    pub batches: u64,
}

impl Vault {
    /// One sweep transaction of at most `limit` subjects, with its audit event. Writes nothing
    /// when no subject waits for the sweep.
    pub async fn sweep_batch(&self, actor: &str, limit: u32) -> ServiceResult<SweepOutcome> {
        let mut tx = self.store().begin().await?;
        let swept = tx.sweep_shredded(limit.max(1)).await?;
        if swept.subjects == 0 {
            // Nothing was written; ending the transaction at once frees the writer.
            tx.commit().await?;
            return Ok(swept);
        }
        // No subject is named: their destruction was audited when their keys went; this records
        // that the ciphertext left behind is gone too.
        let event = self.security_event(
            actor,
            "destruction.swept",
            Outcome::Done,
            json!({ "subjects": swept.subjects, "rows": swept.rows }),
        );
        self.finish(tx, vec![event]).await?;
        Ok(swept)
    }

    /// Sweeps until no subject waits, in transactions of the configured batch with the configured
    /// pause between them; `progress` is called after each transaction with the totals so far.
    pub async fn sweep_shredded(
        &self,
        actor: &str,
        progress: &mut (dyn FnMut(&SweepReport) + Send),
    ) -> ServiceResult<SweepReport> {
        let settings = self.sweep_settings();
        let mut report = SweepReport::default();
        loop {
            let swept = self.sweep_batch(actor, settings.batch).await?;
            if swept.subjects == 0 {
                return Ok(report);
            }
            report.subjects += swept.subjects;
            report.rows += swept.rows;
            report.batches += 1;
            progress(&report);
            if settings.pause.is_zero() {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(settings.pause).await;
            }
        }
    }

    /// How many destroyed subjects wait for the sweep, read outside any write transaction.
    pub async fn sweep_backlog(&self) -> ServiceResult<u64> {
        Ok(self.store().counts().await?.sweep_backlog)
    }
}
