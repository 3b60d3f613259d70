//! The audit trail: event encoding, the hash chain and its verification.
//!
//! Every event names one operation of the closed list (seed clause 1.3) and is chained to the one
//! before it by SHA-256, so that changing, deleting, inserting or reordering any event breaks the
//! chain at a place `verify` names. Events never hold personal data: subjects appear by id only.
//! Storage is the store's business; this module only says what the bytes are and checks them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::SubjectId;
use crate::operation::Operation;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first event.
pub const GENESIS: Hash = [0; 32];

/// What happened to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The operation was carried out.
    Done,
    /// The operation was refused (a purpose check, a missing basis, a block…).
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Denied => "denied",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "done" => Some(Outcome::Done),
            "denied" => Some(Outcome::Denied),
            _ => None,
        }
    }
}

/// An event before it is placed in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Unix milliseconds.
    pub at_ms: i64,
    /// Who acted: `api`, `cli`, `system`, later a staff user or key id. Never a person's name.
    pub actor: String,
    /// A machine name of the use case, e.g. `consent.withdraw`.
    pub action: String,
    /// The processing operation (seed clause 1.3); `None` for events that process no subject's
    /// data, such as logins, key management and refused credentials.
    pub operation: Option<Operation>,
    pub purpose: Option<String>,
    pub subject: Option<SubjectId>,
    pub outcome: Outcome,
    /// Canonical JSON (sorted keys) without personal data: ids, category names, reasons.
    pub details: String,
}

/// An event as stored: with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedEvent {
    pub seq: u64,
    pub record: AuditRecord,
    pub prev_hash: Hash,
    pub hash: Hash,
}

/// Serialises details canonically: serde_json's default map keeps keys sorted, so the same
/// details always produce the same bytes and the same hash.
pub fn canonical_details(details: &serde_json::Value) -> String {
    let sorted: serde_json::Value = serde_json::from_str(&details.to_string()).unwrap_or_default();
    sorted.to_string()
}

/// The hash of an event: SHA-256 over a domain tag, every field length-prefixed, and the previous
/// hash. Length prefixes make the encoding unambiguous, so no two different events share bytes.
pub fn chain_hash(seq: u64, record: &AuditRecord, prev: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(b"pdv-audit-v1");
    h.update(seq.to_be_bytes());
    h.update(record.at_ms.to_be_bytes());
    let mut part = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    part(record.actor.as_bytes());
    part(record.action.as_bytes());
    part(record.operation.map_or("", Operation::as_str).as_bytes());
    part(record.purpose.as_deref().unwrap_or("").as_bytes());
    part(
        record
            .subject
            .map(|s| *s.as_bytes())
            .as_ref()
            .map_or(&[][..], |b| &b[..]),
    );
    part(record.outcome.as_str().as_bytes());
    part(record.details.as_bytes());
    h.update(prev);
    h.finalize().into()
}

/// Places a record after `prev` (the head, or `None` for an empty log).
pub fn chain(record: AuditRecord, prev: Option<(u64, Hash)>) -> ChainedEvent {
    let (seq, prev_hash) = match prev {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS),
    };
    let hash = chain_hash(seq, &record, &prev_hash);
    ChainedEvent {
        seq,
        record,
        prev_hash,
        hash,
    }
}

/// Why the chain is broken at an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("событие № {seq}: содержимое изменено (хеш не совпадает)")]
    Modified { seq: u64 },
    #[error("событие № {seq}: разрыв цепочки (событие вставлено, удалено или переставлено)")]
    Relinked { seq: u64 },
    #[error("событие № {expected} отсутствует (следующее по порядку — № {found})")]
    Missing { expected: u64, found: u64 },
    #[error(
        "журнал обрывается на № {last}, а печать головы цепочки указывает № {sealed}: последние события удалены"
    )]
    Truncated { last: u64, sealed: u64 },
    #[error("печать головы цепочки не совпадает с событием № {seq}: журнал или печать подменены")]
    BadSeal { seq: u64 },
}

impl ChainBreak {
    /// The first sequence number at which the log is no longer trustworthy.
    pub fn first_bad_seq(&self) -> u64 {
        match self {
            ChainBreak::Modified { seq }
            | ChainBreak::Relinked { seq }
            | ChainBreak::BadSeal { seq } => *seq,
            ChainBreak::Missing { expected, .. } => *expected,
            ChainBreak::Truncated { last, .. } => last + 1,
        }
    }
}

/// Checks a log event by event, in sequence order, so that a log of any length is verified in
/// constant memory.
#[derive(Debug, Clone)]
pub struct Verifier {
    expected_seq: u64,
    prev: Hash,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            expected_seq: 1,
            prev: GENESIS,
        }
    }
}

impl Verifier {
    pub fn push(&mut self, event: &ChainedEvent) -> Result<(), ChainBreak> {
        if event.seq > self.expected_seq {
            return Err(ChainBreak::Missing {
                expected: self.expected_seq,
                found: event.seq,
            });
        }
        if event.seq < self.expected_seq || event.prev_hash != self.prev {
            return Err(ChainBreak::Relinked { seq: event.seq });
        }
        if chain_hash(event.seq, &event.record, &event.prev_hash) != event.hash {
            return Err(ChainBreak::Modified { seq: event.seq });
        }
        self.prev = event.hash;
        self.expected_seq += 1;
        Ok(())
    }

    /// The last verified event, if any.
    pub fn head(&self) -> Option<(u64, Hash)> {
        (self.expected_seq > 1).then_some((self.expected_seq - 1, self.prev))
    }

    /// Compares the verified head with the sealed head the store kept. `seal_ok` tells whether the
    /// seal authenticates the sealed (seq, hash) pair.
    pub fn finish(&self, sealed: Option<(u64, Hash)>, seal_ok: bool) -> Result<u64, ChainBreak> {
        let last = self.expected_seq - 1;
        if let Some((sealed_seq, sealed_hash)) = sealed {
            if !seal_ok {
                return Err(ChainBreak::BadSeal { seq: sealed_seq });
            }
            if sealed_seq > last {
                return Err(ChainBreak::Truncated {
                    last,
                    sealed: sealed_seq,
                });
            }
            // A seal is written in the same transaction as the events it covers, so it can only
            // lag behind the log if the log was extended without the key: events after it are
            // suspect, and the sealed one must match.
            if sealed_seq < last {
                return Err(ChainBreak::BadSeal {
                    seq: sealed_seq + 1,
                });
            }
            if self.prev != sealed_hash {
                return Err(ChainBreak::BadSeal { seq: sealed_seq });
            }
        } else if last > 0 {
            return Err(ChainBreak::BadSeal { seq: 1 });
        }
        Ok(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(i: u64) -> AuditRecord {
        AuditRecord {
            at_ms: 1_750_000_000_000 + i as i64,
            actor: "api".into(),
            action: "subject.read".into(),
            operation: Some(Operation::Extraction),
            purpose: Some("order".into()),
            subject: Some(SubjectId::from_bytes([i as u8; 16])),
            outcome: if i.is_multiple_of(3) {
                Outcome::Denied
            } else {
                Outcome::Done
            },
            details: format!("{{\"n\":{i}}}"),
        }
    }

    fn log(n: u64) -> Vec<ChainedEvent> {
        let mut out: Vec<ChainedEvent> = Vec::new();
        for i in 0..n {
            let prev = out.last().map(|e| (e.seq, e.hash));
            out.push(chain(record(i), prev));
        }
        out
    }

    fn verify(events: &[ChainedEvent], sealed: Option<(u64, Hash)>) -> Result<u64, ChainBreak> {
        let mut v = Verifier::default();
        for e in events {
            v.push(e)?;
        }
        v.finish(sealed, true)
    }

    fn head(events: &[ChainedEvent]) -> Option<(u64, Hash)> {
        events.last().map(|e| (e.seq, e.hash))
    }

    #[test]
    fn intact_log_verifies() {
        let events = log(10);
        assert_eq!(verify(&events, head(&events)), Ok(10));
        assert_eq!(verify(&[], None), Ok(0));
    }

    #[test]
    fn deleting_the_last_event_is_caught_by_the_seal() {
        let events = log(5);
        let sealed = head(&events);
        assert_eq!(
            verify(&events[..4], sealed),
            Err(ChainBreak::Truncated { last: 4, sealed: 5 })
        );
    }

    #[test]
    fn canonical_details_sort_keys() {
        let v = serde_json::json!({"b": 1, "a": [2, {"d": 3, "c": 4}]});
        assert_eq!(canonical_details(&v), r#"{"a":[2,{"c":4,"d":3}],"b":1}"#);
    }

    proptest! {
        #[test]
        fn any_single_field_change_is_detected(n in 2u64..20, at in 0usize..20, field in 0u8..8) {
            let mut events = log(n);
            let at = at % events.len();
            let e = &mut events[at];
            match field {
                0 => e.record.at_ms += 1,
                1 => e.record.actor.push('x'),
                2 => e.record.action.push('x'),
                3 => e.record.operation = if e.record.operation == Some(Operation::Use) { Some(Operation::Transfer) } else { Some(Operation::Use) },
                4 => e.record.purpose = None,
                5 => e.record.subject = Some(SubjectId::from_bytes([0xEE; 16])),
                6 => e.record.outcome = if e.record.outcome == Outcome::Done { Outcome::Denied } else { Outcome::Done },
                _ => e.record.details.push(' '),
            }
            let sealed = head(&log(n));
            let err = verify(&events, sealed).unwrap_err();
            prop_assert_eq!(err.first_bad_seq(), at as u64 + 1);
        }

        #[test]
        fn deletion_insertion_and_reordering_are_detected(n in 3u64..20, at in 0usize..20, kind in 0u8..3) {
            let original = log(n);
            let sealed = head(&original);
            let mut events = original.clone();
            let at = at % (events.len() - 1);
            match kind {
                0 => { events.remove(at); }
                1 => {
                    // An event forged with a valid-looking hash but spliced into the middle.
                    let forged = chain(record(99), Some((events[at].seq, events[at].hash)));
                    events.insert(at + 1, forged);
                }
                _ => events.swap(at, at + 1),
            }
            let err = verify(&events, sealed).unwrap_err();
            prop_assert!(err.first_bad_seq() <= at as u64 + 2, "{:?} at {}", err, at);
        }
    }
}
