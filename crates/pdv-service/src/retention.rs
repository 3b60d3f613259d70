//! The retention plan for every subject in the store: the facts the pure planner of
//! `pdv_core::retention` needs — the subject's kind, its retention events, consents, blocks,
//! accepted destruction demands from the request journal, and its records — read from the store,
//! and what the planner makes of them. Nothing is changed: `pdv retention plan` shows what will
//! happen to whom and why.

use jiff::civil::Date;
use pdv_core::SubjectId;
use pdv_core::policy::AnchorEvent;
use pdv_core::retention::{
    AnchorFact, BlockFact, ConsentFact, DestructionDemand, PlanItem, RecordFacts, SubjectHistory,
    plan,
};
use pdv_store::{RequestQuery, Transaction, Value, backup};
use serde::Serialize;

use crate::error::{ServiceError, ServiceResult};
use crate::vault::Vault;

/// One subject's plan.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectPlan {
    pub subject: SubjectId,
    pub kind: String,
    pub items: Vec<PlanItem>,
    /// Why no plan could be made (a fact the planner refuses), if so.
    pub problem: Option<String>,
}

/// The plan of the whole store on one day.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionReport {
    pub at: Date,
    pub subjects: Vec<SubjectPlan>,
    /// Records whose action is due on `at`.
    pub due: usize,
    /// Due records held by a block for a check.
    pub held: usize,
}

fn date_of(text: &str) -> ServiceResult<Date> {
    text.parse()
        .map_err(|_| ServiceError::Integrity(format!("stored date {text:?} is not YYYY-MM-DD")))
}

impl Vault {
    fn civil(&self, ms: i64) -> Date {
        jiff::Timestamp::from_millisecond(ms)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_zoned(self.time_zone())
            .date()
    }

    async fn history(
        &self,
        tx: &mut dyn Transaction,
        subject: SubjectId,
        kind: String,
    ) -> ServiceResult<SubjectHistory> {
        let mut events = Vec::new();
        for a in tx.anchors(subject).await? {
            let Ok(event) = serde_json::from_value::<AnchorEvent>(serde_json::json!(a.event))
            else {
                continue;
            };
            events.push(AnchorFact {
                event,
                on: Some(date_of(&a.occurred_on)?),
                scope: a.scope,
                purpose: a.purpose,
            });
        }
        let consents = tx
            .consents(subject)
            .await?
            .into_iter()
            .map(|c| {
                Ok(ConsentFact {
                    purposes: c.purposes,
                    withdrawn: c.withdrawal.map(|w| self.civil(w.at_ms)),
                    valid_until: c.valid_until.as_deref().map(date_of).transpose()?,
                })
            })
            .collect::<ServiceResult<Vec<_>>>()?;
        let blocks = tx
            .blocks(subject)
            .await?
            .into_iter()
            .filter(|b| b.lifted_at_ms.is_none())
            .map(|b| BlockFact {
                category: b.category,
                since: self.civil(b.placed_at_ms),
            })
            .collect();
        // Accepted demands to destroy: destruction requests of the journal not refused.
        let mut demands = Vec::new();
        for r in tx
            .requests(&RequestQuery {
                kind: Some("destruction".into()),
                subject: Some(subject),
                limit: 1000,
                ..RequestQuery::default()
            })
            .await?
        {
            if r.status == "refused" {
                continue;
            }
            let Ok(due) = r.due.parse::<Date>() else {
                continue;
            };
            demands.push(DestructionDemand {
                received: self.civil(r.request.received_at_ms),
                due,
                categories: Vec::new(),
            });
        }
        let records = tx
            .records(subject, None)
            .await?
            .into_iter()
            .map(|r| RecordFacts {
                id: r.id,
                category: r.category,
                created: self.civil(r.created_at_ms),
                scope: None,
            })
            .collect();
        Ok(SubjectHistory {
            kind,
            events,
            consents,
            demands,
            blocks,
            records,
        })
    }

    /// The retention plan of every subject on `at`; changes nothing.
    pub async fn retention_plan(&self, at: Date) -> ServiceResult<RetentionReport> {
        let subjects_table = backup::table("subjects").expect("a listed table");
        let mut subjects = Vec::new();
        self.store()
            .export(&[subjects_table], &mut |_, row| {
                if let (Some(Value::Bytes(id)), Some(Value::Text(kind))) = (row.first(), row.get(1))
                    && let Ok(bytes) = <[u8; 16]>::try_from(id.as_slice())
                {
                    subjects.push((SubjectId::from_bytes(bytes), kind.clone()));
                }
                Ok(())
            })
            .await?;
        let policy = &self.policy().policy;
        let mut out = Vec::new();
        let (mut due, mut held) = (0, 0);
        for (subject, kind) in subjects {
            let mut tx = self.store().begin().await?;
            if tx.tombstone(subject).await?.is_some() {
                continue;
            }
            let history = self.history(&mut *tx, subject, kind.clone()).await?;
            drop(tx);
            match plan(policy, &history) {
                Ok(p) => {
                    due += p.items.iter().filter(|i| i.is_due(at)).count();
                    held += p
                        .items
                        .iter()
                        .filter(|i| i.is_due(at) && i.held(at))
                        .count();
                    out.push(SubjectPlan {
                        subject,
                        kind,
                        items: p.items,
                        problem: None,
                    });
                }
                Err(e) => out.push(SubjectPlan {
                    subject,
                    kind,
                    items: Vec::new(),
                    problem: Some(e.to_string()),
                }),
            }
        }
        Ok(RetentionReport {
            at,
            subjects: out,
            due,
            held,
        })
    }
}
