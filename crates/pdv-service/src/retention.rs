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
//!
//! A destruction demand of the journal is planned with the categories it names, is due on its
//! due date or, once answered without refusal, on the day of the answer, and is not held back by
//! the block the demand itself placed for its check. When the run carries it out, it appends a
//! note to the request (what went under which act, what the law keeps), lifts the demand's
//! blocks and queues the notice to the subject, in the batch's transaction.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use pdv_core::SubjectId;
use pdv_core::audit::{AuditRecord, Outcome};
use pdv_core::depersonalise::{Generaliser, RetainedRecord, depersonalise_record};
use pdv_core::operation::Operation;
use pdv_core::policy::{AnchorEvent, RetentionAction};
use pdv_core::retention::{
    AnchorFact, BlockFact, ConsentFact, DestructionDemand, Ground, PlanItem, RecordFacts,
    SubjectHistory, plan,
};
use pdv_store::{RequestQuery, RetainedRow, Transaction};
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
    /// Of the records destroyed, those first kept as depersonalised copies (rules with
    /// `action = "depersonalise"`).
    pub records_depersonalised: u64,
    /// Due records kept because a block for a check holds them (ст. 21 ч. 1).
    pub held: u64,
    /// Due records whose rule asks for a review by a person, not an automatic action.
    pub review: u64,
    /// Subjects the planner could not plan, with why; they are left untouched.
    pub problems: Vec<RunProblem>,
    /// The sweep after the run: the rows left behind by destroyed subjects' key shreds, this
    /// run's and any earlier ones' (none inside `pdv serve`, whose background task sweeps).
    pub swept: crate::SweepReport,
}

/// A destruction demand of the journal, as the run needs it once the data are destroyed.
#[derive(Debug, Clone)]
struct DemandRequest {
    id: uuid::Uuid,
    number: String,
    entries: u32,
    status: String,
    contact: Option<String>,
    categories: Vec<String>,
    blocks: Vec<pdv_core::BlockId>,
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
    /// Where the next page starts (`after`), when there may be more subjects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<SubjectId>,
}

/// The most subjects one page of the plan covers.
pub const PLAN_PAGE_MAX: u32 = 5000;

/// Which part of the retention plan to make.
#[derive(Debug, Clone)]
pub struct PlanQuery {
    /// The day to plan for.
    pub at: Date,
    /// One subject only (its page has no `next`).
    pub subject: Option<SubjectId>,
    /// Only records whose action is due on `at`, and only subjects that have such records.
    pub due_only: bool,
    /// The last subject of the previous page.
    pub after: Option<SubjectId>,
    /// Subjects per page, at most [`PLAN_PAGE_MAX`].
    pub limit: u32,
}

impl PlanQuery {
    pub fn new(at: Date) -> PlanQuery {
        PlanQuery {
            at,
            subject: None,
            due_only: false,
            after: None,
            limit: 500,
        }
    }
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

    /// The subject's history, and the destruction demands of the journal behind it.
    async fn history_with_demands(
        &self,
        tx: &mut dyn Transaction,
        subject: SubjectId,
        kind: String,
    ) -> ServiceResult<(SubjectHistory, Vec<DemandRequest>)> {
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
        // Accepted demands to destroy: destruction requests of the journal not refused. One
        // accepted (answered) before its due date is due on the day of the answer.
        let mut demands = Vec::new();
        let mut requests = Vec::new();
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
            let number = format!("{}-{:06}", r.request.year, r.request.seq);
            let details = self.details(&r)?;
            let accepted = if r.status == "answered" {
                tx.request_entries(r.request.id)
                    .await?
                    .iter()
                    .rev()
                    .find(|e| e.step == "answer")
                    .map(|e| self.civil(e.at_ms))
            } else {
                None
            };
            demands.push(DestructionDemand {
                received: self.civil(r.request.received_at_ms),
                due,
                accepted,
                categories: details.categories.clone(),
                request: Some(number.clone()),
            });
            requests.push(DemandRequest {
                id: r.request.id,
                number,
                entries: r.entries,
                status: r.status.clone(),
                contact: details
                    .requester
                    .contact
                    .as_deref()
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
                categories: details.categories,
                blocks: details.blocks,
            });
        }
        // A block placed by a destruction demand for the time of its check does not hold back
        // the destruction the demand asks for; any other block does (ст. 21 ч. 1, ч. 6).
        let own_blocks: BTreeSet<pdv_core::BlockId> = requests
            .iter()
            .flat_map(|d| d.blocks.iter().copied())
            .collect();
        // Requests journaled before the block ids were kept are recognised by the reason the
        // journal wrote for their block.
        let own_reasons: Vec<String> = requests
            .iter()
            .filter(|d| d.blocks.is_empty())
            .map(|d| format!("обращение № {}:", d.number))
            .collect();
        let blocks = tx
            .blocks(subject)
            .await?
            .into_iter()
            .filter(|b| b.lifted_at_ms.is_none())
            .filter(|b| {
                !own_blocks.contains(&b.id) && !own_reasons.iter().any(|r| b.reason.starts_with(r))
            })
            .map(|b| BlockFact {
                category: b.category,
                since: self.civil(b.placed_at_ms),
            })
            .collect();
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
            requests,
        ))
    }

    /// The retention plan of every subject on `at`; changes nothing.
    pub async fn retention_plan(&self, at: Date) -> ServiceResult<RetentionReport> {
        self.retention_plan_all(PlanQuery::new(at)).await
    }

    /// Every page of the plan `query` asks for, in one report (from `query.after` on).
    pub async fn retention_plan_all(&self, mut query: PlanQuery) -> ServiceResult<RetentionReport> {
        query.limit = PLAN_PAGE_MAX;
        let mut report = self.retention_plan_page(&query).await?;
        while let Some(next) = report.next.take() {
            query.after = Some(next);
            let page = self.retention_plan_page(&query).await?;
            report.subjects.extend(page.subjects);
            report.due += page.due;
            report.held += page.held;
            report.next = page.next;
        }
        Ok(report)
    }

    /// One page of the retention plan: the subjects after `query.after` in id order (or the one
    /// subject asked for), with `next` to continue from; changes nothing.
    pub async fn retention_plan_page(&self, query: &PlanQuery) -> ServiceResult<RetentionReport> {
        let at = query.at;
        let limit = query.limit.clamp(1, PLAN_PAGE_MAX);
        let mut tx = self.store().begin().await?;
        let subjects = match query.subject {
            Some(id) => vec![(id, self.subject_row(&mut *tx, id).await?.kind)],
            None => tx.live_subjects(query.after, limit).await?,
        };
        drop(tx);
        let next = match (query.subject, subjects.last()) {
            (None, Some((last, _))) if subjects.len() == limit as usize => Some(*last),
            _ => None,
        };
        let policy = &self.policy().policy;
        let mut out = Vec::new();
        let (mut due, mut held) = (0, 0);
        for (subject, kind) in subjects {
            let mut tx = self.store().begin().await?;
            // A subject whose stored facts cannot be read gets its problem in the plan, as in
            // the run; the rest of the page is still planned.
            let history = match self.history(&mut *tx, subject, kind.clone()).await {
                Ok(h) => h,
                Err(ServiceError::Integrity(e)) => {
                    out.push(SubjectPlan {
                        subject,
                        kind,
                        items: Vec::new(),
                        problem: Some(e),
                    });
                    continue;
                }
                Err(e) => return Err(e),
            };
            drop(tx);
            match plan(policy, &history) {
                Ok(p) => {
                    due += p.items.iter().filter(|i| i.is_due(at)).count();
                    held += p
                        .items
                        .iter()
                        .filter(|i| i.is_due(at) && i.held(at))
                        .count();
                    let mut items = p.items;
                    if query.due_only {
                        items.retain(|i| i.is_due(at));
                        if items.is_empty() {
                            continue;
                        }
                    }
                    out.push(SubjectPlan {
                        subject,
                        kind,
                        items,
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
            next,
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
        // Inside `pdv serve` the run is background work: after each batch it leaves the writer to
        // foreground commands for as long as the sweep's share asks, so a scan of a large store or
        // the destruction of a large cohort never holds it more than that share of the time.
        let pace = self.sweep_settings();
        loop {
            let mut tx = self.store().begin().await?;
            let held = std::time::Instant::now();
            let page = tx.live_subjects(after, batch.max(1)).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.0);
            // A short page is the last one: nothing follows that the pause would make room for.
            let last_page = page.len() < batch.max(1) as usize;
            let mut events = Vec::new();
            for (subject, kind) in page {
                report.subjects_checked += 1;
                events.extend(
                    self.run_subject(&mut *tx, actor, at, subject, kind, &mut act, &mut report)
                        .await?,
                );
            }
            self.finish(tx, events).await?;
            progress(&report);
            if pace.in_background && !last_page {
                tokio::time::sleep(pace.pause_after(held.elapsed())).await;
            }
        }
        if let Some(open) = act {
            let mut tx = self.store().begin().await?;
            if let Some((number, event)) = self.close_act(&mut *tx, actor, open.id).await? {
                self.finish(tx, vec![event]).await?;
                report.acts.push(number.to_string());
            }
        }
        report.expired_acts = self.expire_acts(actor, at).await?;
        if !self.sweep_settings().in_background {
            report.swept = self.sweep_shredded(actor, &mut |_| {}).await?;
        }
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
    ) -> ServiceResult<Vec<AuditRecord>> {
        // Reading the history writes nothing, so a subject whose stored facts cannot be read is
        // reported and skipped; one damaged subject must not stop the destruction of all others.
        let (history, demand_requests) =
            match self.history_with_demands(tx, subject, kind.clone()).await {
                Ok(h) => h,
                Err(ServiceError::Integrity(e)) => {
                    report.problems.push(RunProblem {
                        subject,
                        problem: e,
                    });
                    return Ok(Vec::new());
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
                return Ok(Vec::new());
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
            return Ok(Vec::new());
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
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        };
        // Also before any write: records whose rule keeps them depersonalised are read now, so
        // that one that cannot be decrypted stops this subject, not half of its destruction.
        let retained = match self.depersonalise_due(tx, subject, &kind, &due, at).await {
            Ok(rows) => rows,
            Err(ServiceError::Integrity(e)) => {
                report.problems.push(RunProblem {
                    subject,
                    problem: e,
                });
                return Ok(Vec::new());
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
                    Ground::DestructionDemand { request, .. } => {
                        requests.extend(request.iter().cloned());
                        "destruction_demand".into()
                    }
                    Ground::NoRule => "no_rule".into(),
                });
                let mut reason = item.reason.clone();
                if item.action == RetentionAction::Depersonalise {
                    reason.push_str(
                        " Перед уничтожением запись обезличена (Приказ Роскомнадзора № 140: \
                         изменение состава и семантики — прямые идентификаторы исключены, значения \
                         обобщены) и сохранена без связи с субъектом.",
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
                requests: requests.iter().cloned().collect(),
                destroyed_at: self.local_time(now),
            },
        )
        .await?;
        // Each demand carried out gets an entry in its request's history and, where the request
        // gave an address, a notice to the subject of what was destroyed and what the law keeps
        // (ст. 20 ч. 3, ст. 21 ч. 3). Its own blocks for the check end with it.
        let mut journal_events = Vec::new();
        for demand in demand_requests
            .iter()
            .filter(|d| requests.contains(&d.number))
        {
            let destroyed: Vec<&str> = categories
                .iter()
                .filter(|c| demand.categories.is_empty() || demand.categories.contains(&c.id))
                .map(|c| c.title.as_str())
                .collect();
            let kept = kept_by_law(policy, &items, at, &demand.categories);
            let mut text = format!(
                "Данные уничтожены по требованию (акт об уничтожении № {number}): {}.",
                destroyed.join("; ")
            );
            if !kept.is_empty() {
                text.push_str(&format!(
                    " Сохраняются, поскольку их хранение требует закон: {}.",
                    kept.join("; ")
                ));
            }
            journal_events.push(
                self.system_note(
                    tx,
                    actor,
                    demand.id,
                    &demand.number,
                    Some(subject),
                    demand.entries + 1,
                    &demand.status,
                    &text,
                )
                .await?,
            );
            if let Some(to) = &demand.contact {
                let body = format!(
                    "Уведомление об уничтожении персональных данных по обращению № {}.\n\n{text}\n\n\
                     Уведомление направлено в соответствии с ч. 3 ст. 20 и ч. 3 ст. 21 \
                     Федерального закона № 152-ФЗ «О персональных данных».",
                    demand.number
                );
                self.queue_message(tx, Some(demand.id), "destruction_notice", to, &body)
                    .await?;
            }
            if !whole {
                for block in &demand.blocks {
                    tx.lift_block(
                        subject,
                        *block,
                        now,
                        &format!("данные уничтожены по акту № {number}"),
                    )
                    .await?;
                }
            }
        }
        // The depersonalised copies, and the log entry Приказ № 140 asks for (method,
        // parameters, actor, source, result); the copies' ids are not logged, so nothing joins
        // them back to the subject.
        let mut depersonalised_event = None;
        if !retained.is_empty() {
            let mut removed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            let mut rules = BTreeSet::new();
            for (row, record) in &retained {
                tx.insert_retained(row).await?;
                removed
                    .entry(record.category.clone())
                    .or_default()
                    .extend(record.removed.iter().cloned());
                rules.insert(row.rule.clone());
            }
            report.records_depersonalised += retained.len() as u64;
            depersonalised_event = Some(AuditRecord {
                operation: Some(Operation::Depersonalisation),
                subject: Some(subject),
                ..self.security_event(
                    actor,
                    "retention.depersonalised",
                    Outcome::Done,
                    json!({
                        "act": number,
                        "rules": rules,
                        "records": retained.len(),
                        "methods": [
                            pdv_core::depersonalise::Method::IdentifierRemoval,
                            pdv_core::depersonalise::Method::Generalisation,
                        ],
                        "removed_fields": removed,
                        "output": "retained_records",
                    }),
                )
            });
        }
        let ids: Vec<&str> = categories.iter().map(|c| c.id.as_str()).collect();
        let destroyed_event = AuditRecord {
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
        };
        Ok(depersonalised_event
            .into_iter()
            .chain(Some(destroyed_event))
            .chain(journal_events)
            .collect())
    }
}

impl Vault {
    /// The depersonalised copies of the due records whose rule keeps them depersonalised, each
    /// with what depersonalisation removed; reads and decrypts, writes nothing.
    async fn depersonalise_due(
        &self,
        tx: &mut dyn Transaction,
        subject: SubjectId,
        kind: &str,
        due: &[&PlanItem],
        at: Date,
    ) -> ServiceResult<Vec<(RetainedRow, RetainedRecord)>> {
        let wanted: BTreeMap<pdv_core::RecordId, &PlanItem> = due
            .iter()
            .filter(|i| i.action == RetentionAction::Depersonalise)
            .map(|i| (i.record, *i))
            .collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let categories: Vec<String> = wanted
            .values()
            .map(|i| i.category.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let generaliser = Generaliser::new(at, self.time_zone());
        let policy = &self.policy().policy;
        let key = self.keyring().retained_key();
        let now = self.now_ms();
        let mut out = Vec::new();
        for record in self.open_records(tx, subject, Some(&categories)).await? {
            let Some(item) = wanted.get(&record.id) else {
                continue;
            };
            let kept = depersonalise_record(policy, &record.category, &record.fields, &generaliser);
            // A random id: one drawn from the clock would order the copies as the subjects were
            // taken, which is their id order, and join them back to the act's entries.
            let seed = crate::depersonalise::os_seed()?;
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&seed[..16]);
            let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
            let plain = serde_json::to_vec(&kept.fields)
                .map_err(|e| ServiceError::Integrity(e.to_string()))?;
            out.push((
                RetainedRow {
                    id,
                    kind: kind.to_string(),
                    category: record.category.clone(),
                    rule: item.ground.rule_id().unwrap_or("").to_string(),
                    fields_ct: crate::sealed::seal(&key, RETAINED_TABLE, id, "fields", &plain),
                    depersonalised_at_ms: now,
                },
                kept,
            ));
        }
        Ok(out)
    }
}

/// The table retained records' fields are bound to.
pub(crate) const RETAINED_TABLE: &str = "retained_records";

/// The statutory data of the demanded categories that stay after the demand, in words: the
/// category and until when (or until which event) the law keeps it.
fn kept_by_law(
    policy: &pdv_core::policy::Policy,
    items: &[PlanItem],
    at: Date,
    demanded: &[String],
) -> Vec<String> {
    let mut kept = BTreeSet::new();
    for i in items.iter().filter(|i| i.statutory && !i.is_due(at)) {
        if !demanded.is_empty() && !demanded.contains(&i.category) {
            continue;
        }
        let title = policy
            .category(&i.category)
            .map_or_else(|| i.category.clone(), |c| c.title.clone());
        kept.insert(match i.expires {
            Some(d) => format!("{title} — до {d} ({})", i.norm),
            None => format!(
                "{title} — в течение срока, установленного законом ({})",
                i.norm
            ),
        });
    }
    kept.into_iter().collect()
}
