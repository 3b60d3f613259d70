//! Retention over the whole store: the plan and the run.
//!
//! The plan reads, for every subject, the facts the pure planner of `pdv_core::retention` needs —
//! the subject's kind, its retention events, consents, blocks, accepted destruction demands from
//! the request journal, and its records — and shows what the planner makes of them, changing
//! nothing (`pdv retention plan`).
//!
//! The run (`pdv retention run`, and the scheduler inside `pdv serve`) carries out what is due:
//! subjects are taken in batches in id order, one transaction per batch, and within it each
//! subject's plan is made and executed and its act entry written. A run killed at any point loses
//! at most the batch in flight, which rolls back whole; the next run plans again from what is
//! there, finishes the job and closes the act the killed run left open. Execution per subject:
//! when every record is due, the subject key goes (crypto-shredding of everything, with a
//! tombstone); otherwise a category whose records are all due loses its category key and rows
//! (irreversible for that category alone); a category of which only some records are due (per
//! order) loses those rows.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use pdv_core::SubjectId;
use pdv_core::audit::{AuditRecord, Outcome};
use pdv_core::operation::Operation;
use pdv_core::policy::{AnchorEvent, RetentionAction};
use pdv_core::retention::{
    AnchorFact, BlockFact, ConsentFact, DestructionDemand, Ground, PlanItem, RecordFacts,
    SubjectHistory, plan,
};
use pdv_store::{RequestQuery, Transaction, Value, backup};
use serde::Serialize;
use serde_json::json;

use crate::acts::{ActEntry, DestroyedCategory, OpenAct};
use crate::error::{ServiceError, ServiceResult};
use crate::vault::Vault;

/// The batch size a run uses unless told otherwise: large enough that a transaction's fixed
/// cost is spread, small enough that the writer lock is held for a fraction of a second.
pub const DEFAULT_BATCH: u32 = 500;

/// What a retention run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// The day the plan was made for (the operator's today).
    pub at: Option<Date>,
    /// Acts this run wrote (at most one).
    pub acts: Vec<String>,
    /// Acts an earlier, interrupted run left open, closed by this one.
    pub recovered_acts: Vec<String>,
    /// Acts whose kept period ended and whose entries were destroyed.
    pub expired_acts: Vec<String>,
    pub subjects_checked: u64,
    /// Subjects destroyed whole (key shredded).
    pub subjects_destroyed: u64,
    /// Categories destroyed with their key while the subject stays.
    pub categories_destroyed: u64,
    pub records_destroyed: u64,
    /// Due records kept because a block for a check holds them (ст. 21 ч. 1).
    pub held: u64,
    /// Due records whose rule asks for a review by a person, not an automatic action.
    pub review: u64,
    /// Subjects the planner could not plan, with why; they are left untouched.
    pub problems: Vec<RunProblem>,
    /// The sweep after the run: the rows left behind by destroyed subjects' key shreds, this
    /// run's and any earlier ones'.
    pub swept: crate::SweepReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunProblem {
    pub subject: SubjectId,
    pub problem: String,
}

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
        Ok(self.history_with_demands(tx, subject, kind).await?.0)
    }

    /// The subject's history, and the numbers of its destruction demands with the day each was
    /// received (for the act).
    async fn history_with_demands(
        &self,
        tx: &mut dyn Transaction,
        subject: SubjectId,
        kind: String,
    ) -> ServiceResult<(SubjectHistory, Vec<(Date, String)>)> {
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
        let mut numbers = Vec::new();
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
            numbers.push((
                self.civil(r.request.received_at_ms),
                format!("{}-{:06}", r.request.year, r.request.seq),
            ));
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
                scope: r.scope,
            })
            .collect();
        Ok((
            SubjectHistory {
                kind,
                events,
                consents,
                demands,
                blocks,
                records,
            },
            numbers,
        ))
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

impl Vault {
    /// Carries out every retention action due today, in batches of `batch` subjects; see the
    /// module header for how a run survives being killed. `progress` is called after each batch
    /// with the totals so far.
    pub async fn retention_run(
        &self,
        actor: &str,
        batch: u32,
        progress: &mut (dyn FnMut(&RunReport) + Send),
    ) -> ServiceResult<RunReport> {
        let at = self.today();
        let mut report = RunReport {
            at: Some(at),
            ..RunReport::default()
        };
        report.recovered_acts = self
            .close_open_acts(actor)
            .await?
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut act: Option<OpenAct> = None;
        let mut after = None;
        loop {
            let mut tx = self.store().begin().await?;
            let page = tx.live_subjects(after, batch.max(1)).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.0);
            let mut events = Vec::new();
            for (subject, kind) in page {
                report.subjects_checked += 1;
                if let Some(event) = self
                    .run_subject(&mut *tx, actor, at, subject, kind, &mut act, &mut report)
                    .await?
                {
                    events.push(event);
                }
            }
            self.finish(tx, events).await?;
            progress(&report);
        }
        if let Some(open) = act {
            let mut tx = self.store().begin().await?;
            if let Some((number, event)) = self.close_act(&mut *tx, actor, open.id).await? {
                self.finish(tx, vec![event]).await?;
                report.acts.push(number.to_string());
            }
        }
        report.expired_acts = self.expire_acts(actor, at).await?;
        report.swept = self.sweep_shredded(actor, &mut |_| {}).await?;
        progress(&report);
        Ok(report)
    }

    /// Plans one subject and carries out what is due, inside the batch's transaction; returns
    /// the audit event of the destruction, if anything was destroyed.
    #[allow(clippy::too_many_arguments)]
    async fn run_subject(
        &self,
        tx: &mut dyn Transaction,
        actor: &str,
        at: Date,
        subject: SubjectId,
        kind: String,
        act: &mut Option<OpenAct>,
        report: &mut RunReport,
    ) -> ServiceResult<Option<AuditRecord>> {
        // Reading the history writes nothing, so a subject whose stored facts cannot be read is
        // reported and skipped; one damaged subject must not stop the destruction of all others.
        let (history, demand_numbers) =
            match self.history_with_demands(tx, subject, kind.clone()).await {
                Ok(h) => h,
                Err(ServiceError::Integrity(e)) => {
                    report.problems.push(RunProblem {
                        subject,
                        problem: e,
                    });
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
        let items = match plan(&self.policy().policy, &history) {
            Ok(p) => p.items,
            Err(e) => {
                report.problems.push(RunProblem {
                    subject,
                    problem: e.to_string(),
                });
                return Ok(None);
            }
        };
        let mut due: Vec<&PlanItem> = Vec::new();
        for item in items.iter().filter(|i| i.is_due(at)) {
            if item.held(at) {
                report.held += 1;
            } else if item.action == RetentionAction::Review {
                report.review += 1;
            } else {
                due.push(item);
            }
        }
        if due.is_empty() {
            return Ok(None);
        }
        // Still before any write: a subject whose data cannot be decrypted is not destroyed
        // blindly, without the identification its act needs; it is reported for a person to see.
        let (full_name, identifiers) = match self.identification(tx, subject).await {
            Ok(found) => found,
            Err(ServiceError::Integrity(e)) => {
                report.problems.push(RunProblem {
                    subject,
                    problem: e,
                });
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let whole = due.len() == history.records.len();
        // Records per category, and those due per category.
        let mut held_per_category: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &history.records {
            *held_per_category.entry(r.category.as_str()).or_default() += 1;
        }
        let mut due_per_category: BTreeMap<&str, Vec<&PlanItem>> = BTreeMap::new();
        for item in &due {
            due_per_category
                .entry(item.category.as_str())
                .or_default()
                .push(item);
        }
        let policy = &self.policy().policy;
        let mut categories = Vec::new();
        let mut grounds = BTreeSet::new();
        let mut reasons = BTreeSet::new();
        let mut requests = BTreeSet::new();
        let mut processors = BTreeSet::new();
        let now = self.now_ms();
        for (category, items) in &due_per_category {
            let all = held_per_category.get(category).copied() == Some(items.len());
            if !whole {
                if all {
                    tx.destroy_category(subject, category, now).await?;
                    report.categories_destroyed += 1;
                } else {
                    for item in items {
                        tx.delete_record(subject, item.record).await?;
                    }
                }
            }
            report.records_destroyed += items.len() as u64;
            for item in items {
                grounds.insert(match &item.ground {
                    Ground::Rule { id, .. } => format!("rule:{id}"),
                    Ground::ConsentWithdrawn { .. } => "consent_withdrawn".into(),
                    Ground::DestructionDemand { received } => {
                        for (day, number) in &demand_numbers {
                            if day == received {
                                requests.insert(number.clone());
                            }
                        }
                        "destruction_demand".into()
                    }
                    Ground::NoRule => "no_rule".into(),
                });
                let mut reason = item.reason.clone();
                if item.action == RetentionAction::Depersonalise {
                    reason.push_str(
                        " (по правилу — обезличивание: сведения для статистики формируются \
                         командой pdv export depersonalised, исходные данные уничтожаются)",
                    );
                }
                reasons.insert(reason);
            }
            for p in &policy.processors {
                if p.categories.iter().any(|c| c.as_str() == *category) {
                    processors.insert(p.name.clone());
                }
            }
            categories.push(DestroyedCategory {
                id: category.to_string(),
                title: policy
                    .category(category)
                    .map_or_else(|| category.to_string(), |c| c.title.clone()),
                records: u32::try_from(items.len()).unwrap_or(u32::MAX),
            });
        }
        if whole {
            // The key shred: the subject is unreadable and gone from here on; its other rows are
            // deleted by the sweep at the end of the run.
            tx.shred_keys(&[subject], now).await?;
            report.subjects_destroyed += 1;
        }
        if act.is_none() {
            *act = Some(
                self.open_act(
                    tx,
                    "retention",
                    "истечение сроков хранения и достижение целей обработки по правилам политики \
                     оператора (ст. 5 ч. 7, ст. 21 ч. 4–5 152-ФЗ), отзыв согласий и требования \
                     субъектов (ст. 20 ч. 3, ст. 21 ч. 5)",
                )
                .await?,
            );
        }
        let open = act.as_mut().expect("opened above");
        let number = open.number.to_string();
        self.add_act_entry(
            tx,
            open,
            ActEntry {
                entry_no: 0,
                subject,
                subject_kind: kind,
                full_name,
                identifiers,
                categories: categories.clone(),
                whole_subject: whole,
                reasons: reasons.into_iter().collect(),
                processors: processors.into_iter().collect(),
                requests: requests.into_iter().collect(),
                destroyed_at: self.local_time(now),
            },
        )
        .await?;
        let ids: Vec<&str> = categories.iter().map(|c| c.id.as_str()).collect();
        Ok(Some(AuditRecord {
            operation: Some(Operation::Destruction),
            subject: Some(subject),
            ..self.security_event(
                actor,
                "retention.destroyed",
                Outcome::Done,
                json!({
                    "act": number,
                    "categories": ids,
                    "records": due.len(),
                    "whole_subject": whole,
                    "grounds": grounds,
                    "method": if whole { "crypto_shredding_subject" } else { "crypto_shredding_category" },
                }),
            )
        }))
    }
}
