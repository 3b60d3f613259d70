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
//! [`SweepSettings::batch`] subjects, paced so that it holds the writer for a small share of the
//! time ([`SweepSettings::share_permille`]): a foreground command that arrives while a sweep
//! transaction runs waits for it, and the share is the fraction of commands that wait, so keeping
//! it under one percent keeps the foreground p99 where it is (BENCHMARKS.md). Each
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
/// while a sweep transaction runs waits for it, so this bounds the wait (a few milliseconds on
/// SQLite at a million subjects); the share below bounds how many commands wait at all.
pub const DEFAULT_SWEEP_BATCH: u32 = 50;

/// The shortest pause between two sweep transactions unless configured otherwise.
pub const DEFAULT_SWEEP_PAUSE: Duration = Duration::from_millis(5);

/// The share of the writer's time the sweep may hold, in thousandths, unless configured
/// otherwise: 5 ‰ means that one foreground command in two hundred waits behind a sweep
/// transaction, which leaves the p99 of foreground latency alone.
pub const DEFAULT_SWEEP_SHARE_PERMILLE: u32 = 5;

/// How the sweep paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepSettings {
    /// Subjects per transaction (at least 1).
    pub batch: u32,
    /// The shortest pause between transactions.
    pub pause: Duration,
    /// The share of the writer's time the sweep may hold, in thousandths (1 to 1000; 1000 paces
    /// by the pause alone). After a transaction that held the writer for `t`, the sweep waits
    /// `t × (1000 − share) / share`, or the pause if that is longer.
    pub share_permille: u32,
    /// The server's own tasks: a background task sweeps continuously, so the retention run does
    /// not sweep at its end (it would hold the scheduler for as long as the paced sweep takes),
    /// and the run's batches are paced to the same share as the sweep's transactions.
    pub in_background: bool,
}

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings {
            batch: DEFAULT_SWEEP_BATCH,
            pause: DEFAULT_SWEEP_PAUSE,
            share_permille: DEFAULT_SWEEP_SHARE_PERMILLE,
            in_background: false,
        }
    }
}

impl SweepSettings {
    /// The wait after a transaction that held the writer for `held`.
    pub fn pause_after(&self, held: Duration) -> Duration {
        let share = self.share_permille.clamp(1, 1000);
        let paced = held.mul_f64(f64::from(1000 - share) / f64::from(share));
        paced.max(self.pause)
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
        Ok(self.sweep_batch_timed(actor, limit).await?.0)
    }

    /// [`Vault::sweep_batch`], and how long it held the writer (from the moment its transaction
    /// got the writer to its commit).
    async fn sweep_batch_timed(
        &self,
        actor: &str,
        limit: u32,
    ) -> ServiceResult<(SweepOutcome, Duration)> {
        let mut tx = self.store().begin().await?;
        let held = std::time::Instant::now();
        let swept = tx.sweep_shredded(limit.max(1)).await?;
        if swept.subjects == 0 {
            // Nothing was written; ending the transaction at once frees the writer.
            tx.commit().await?;
            return Ok((swept, held.elapsed()));
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
        Ok((swept, held.elapsed()))
    }

    /// Sweeps until no subject waits, in transactions of the configured batch paced to the
    /// configured share of the writer; `progress` is called after each transaction with the
    /// totals so far.
    pub async fn sweep_shredded(
        &self,
        actor: &str,
        progress: &mut (dyn FnMut(&SweepReport) + Send),
    ) -> ServiceResult<SweepReport> {
        let settings = self.sweep_settings();
        let mut report = SweepReport::default();
        loop {
            let (swept, held) = self.sweep_batch_timed(actor, settings.batch).await?;
            if swept.subjects == 0 {
                return Ok(report);
            }
            report.subjects += swept.subjects;
            report.rows += swept.rows;
            report.batches += 1;
            progress(&report);
            let pause = settings.pause_after(held);
            if pause.is_zero() {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(pause).await;
            }
        }
    }

    /// How many destroyed subjects wait for the sweep, read outside any write transaction.
    pub async fn sweep_backlog(&self) -> ServiceResult<u64> {
        Ok(self.store().counts().await?.sweep_backlog)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_keeps_the_share() {
        let s = SweepSettings {
            batch: 10,
            pause: Duration::from_millis(5),
            share_permille: 5,
            in_background: false,
        };
        // 2 ms held at 5 ‰: 398 ms of pause, so the sweep holds 2 of every 400 ms.
        assert_eq!(
            s.pause_after(Duration::from_millis(2)),
            Duration::from_millis(398)
        );
        // A short transaction still waits the configured pause.
        assert_eq!(
            s.pause_after(Duration::from_micros(10)),
            Duration::from_millis(5)
        );
        // 1000 ‰ paces by the pause alone; 0 is read as 1 ‰, never a division by zero.
        let flat = SweepSettings {
            share_permille: 1000,
            pause: Duration::ZERO,
            ..s
        };
        assert_eq!(flat.pause_after(Duration::from_secs(1)), Duration::ZERO);
        let zero = SweepSettings {
            share_permille: 0,
            ..s
        };
        assert_eq!(
            zero.pause_after(Duration::from_millis(1)),
            Duration::from_millis(999)
        );
    }
}
