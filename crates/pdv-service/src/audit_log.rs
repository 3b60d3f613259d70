//! Verifying the audit trail: recomputing the chain over the whole log and checking the sealed
//! head, so that changes, deletions, insertions, reorderings and truncation are all found.

use pdv_core::audit::{ChainBreak, Verifier};
use serde::Serialize;

use crate::error::{ServiceError, ServiceResult};
use crate::vault::{META_AUDIT_SEAL, META_KEY_CHECK, Vault};

/// The result of checking the audit log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditReport {
    pub intact: bool,
    /// Events checked (up to the first break).
    pub events: u64,
    pub first_bad_seq: Option<u64>,
    pub problem: Option<String>,
}

const PAGE: u32 = 1000;

impl Vault {
    pub async fn verify_audit(&self) -> ServiceResult<AuditReport> {
        let mut verifier = Verifier::default();
        let mut from = 1;
        let broken = |b: ChainBreak, events: u64| AuditReport {
            intact: false,
            events,
            first_bad_seq: Some(b.first_bad_seq()),
            problem: Some(b.to_string()),
        };
        let mut journal = crate::journal::AuditedJournal::default();
        let mut incidents = crate::incidents::AuditedIncidents::default();
        loop {
            let page = self.store().audit_events(from, PAGE).await?;
            let Some(last) = page.last() else { break };
            from = last.seq + 1;
            for event in &page {
                journal.note(event);
                incidents.note(event);
                if let Err(b) = verifier.push(event) {
                    let checked = verifier.head().map_or(0, |(seq, _)| seq);
                    return Ok(broken(b, checked));
                }
            }
            if page.len() < PAGE as usize {
                break;
            }
        }
        let sealed = self.store().meta(META_AUDIT_SEAL).await?;
        let (sealed_head, seal_ok) = match sealed.as_deref().map(parse_seal) {
            None => (None, true),
            Some(Some((seq, hash, seal))) => (
                Some((seq, hash)),
                self.keyring().verify_audit_seal(seq, &hash, &seal),
            ),
            Some(None) => {
                return Err(ServiceError::Integrity(
                    "the audit head seal is malformed".into(),
                ));
            }
        };
        let checked = verifier.head().map_or(0, |(seq, _)| seq);
        if checked == 0
            && sealed_head.is_none()
            && self.store().meta(META_KEY_CHECK).await?.is_some()
        {
            return Ok(AuditReport {
                intact: false,
                events: 0,
                first_bad_seq: Some(1),
                problem: Some(
                    "журнал аудита пуст, хотя база инициализирована: события и печать удалены"
                        .into(),
                ),
            });
        }
        match verifier.finish(sealed_head, seal_ok) {
            Ok(n) => {
                // The chain holds, but a row of the journal or of the register of incidents no
                // longer matches the digest its audit event recorded: it was edited outside
                // pdvault.
                let edited = match self.verify_journal(&journal).await? {
                    Some(found) => Some(found),
                    None => self.verify_incidents(&incidents).await?,
                };
                Ok(match edited {
                    Some((seq, problem)) => AuditReport {
                        intact: false,
                        events: n,
                        first_bad_seq: Some(seq),
                        problem: Some(problem),
                    },
                    None => AuditReport {
                        intact: true,
                        events: n,
                        first_bad_seq: None,
                        problem: None,
                    },
                })
            }
            Err(b) => Ok(broken(b, checked)),
        }
    }
}

fn parse_seal(s: &str) -> Option<(u64, [u8; 32], Vec<u8>)> {
    let mut parts = s.split(':');
    let seq = parts.next()?.parse().ok()?;
    let hash: [u8; 32] = hex::decode(parts.next()?).ok()?.try_into().ok()?;
    let seal = hex::decode(parts.next()?).ok()?;
    Some((seq, hash, seal))
}
