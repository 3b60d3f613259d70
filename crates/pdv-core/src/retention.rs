//! The retention planner: for every record of a subject, the rule that governs how long it is
//! kept, the date its period ends, what happens then (destroy, depersonalise, review) and why,
//! with the norm (REQUIREMENTS §5; ст. 5 ч. 7, ст. 21 ч. 4–6 152-ФЗ; seed clause 8).
//!
//! The planner is pure: the caller gathers what happened to the subject ([`SubjectHistory`]:
//! anchor events, consents, destruction demands, blocks, records) and passes it in; no clock is
//! read. A plan is a function of those facts, so it is recomputed whenever they change, and
//! [`due`] answers "what is due on this day" for any day.
//!
//! # How a record's end is found
//!
//! 1. **Rules.** A `[[retention]]` rule applies to a record when the subject's kind is in its
//!    `subjects` and the record's category is in its `categories`. Its period runs from its anchor
//!    event: the record's own collection date for `collected`; the subject's consents for
//!    `consent_withdrawn` (the day the last consent that covered the category ended, see 3); for
//!    every other event, the [`AnchorFact`]s the caller supplies. A rule whose event has not
//!    happened yet has no end: the record is kept while, say, the account exists.
//! 2. **Ordinary rules: the earliest end wins.** This is what both shipped policies say in their
//!    header («если пара названа в нескольких обычных правилах, данные уничтожаются по тому из них,
//!    чей срок истекает раньше»): each anchor event is a reason of its own to stop processing
//!    (ст. 5 ч. 7: no longer than the purposes require). Ends not yet known do not hold a record
//!    back once another ordinary rule has ended.
//! 3. **Consent withdrawn (ст. 21 ч. 5).** A category "loses its consent" on the day the last of
//!    the subject's consents whose purposes cover it was withdrawn or expired, if no such consent
//!    still stands. Then (a) rules anchored on `consent_withdrawn` start counting, and (b) if no
//!    purpose with another basis covers the category (a contract, a law, legitimate interests —
//!    statistics does not count: it uses depersonalised data only), the record ends
//!    30 calendar days after that day (deadline table, D9) even where no rule says so.
//! 4. **Destruction demand (ст. 20 ч. 3; REQUIREMENTS §5 "everything else is still destroyed").**
//!    An accepted demand ends every record of the categories it names by the date the request
//!    journal gives it.
//! 5. **Statutory rules keep their own data set, and only it.** A rule with `statutory = true`
//!    (126-ФЗ, 402-ФЗ…) is a floor: the record is kept until the latest end among its statutory
//!    rules, whatever the ordinary rules, withdrawals and demands say, and while any statutory
//!    anchor has not happened it is kept without an end. Past the floor the ordinary result
//!    governs again: a record still needed for its purpose (an ordinary rule not yet ended) is
//!    kept. A data set that only statutory rules name ends at the floor: a withdrawal or demand
//!    can shorten a period, never lengthen it. Records whose category no statutory rule names get
//!    no such protection.
//! 6. **No rule.** A record that no rule covers (the policy validator warns about uncovered
//!    categories) is planned for review at once, unless a withdrawal or a demand ends it.
//!
//! Ties between ends on the same day go to the more final action (destroy before depersonalise
//! before review), then to rules in policy order, then to withdrawals, then to demands, so a plan
//! never depends on the order facts were given in.
//!
//! # Expiry and deadline
//!
//! [`PlanItem::expires`] is the day the period ends: from then on the action is due
//! ([`due`]). [`PlanItem::deadline`] is the last day the law allows for doing it: 30 calendar
//! days from the end of a period, the purpose being achieved (ст. 21 ч. 4, D8); 30 days from the
//! withdrawal (ст. 21 ч. 5, D9); the journal's date for a demand. When several ends apply the
//! earliest deadline among them binds.
//!
//! # Blocked records (ст. 21 ч. 1, ч. 6)
//!
//! A record blocked for a check (a dispute of its accuracy or lawfulness) is not destroyed while
//! the check runs: it is [`held`](PlanItem::held). The law caps the wait: when data cannot be
//! destroyed within the term, the operator blocks them and destroys them within six months
//! (ст. 21 ч. 6, D11). So a blocked record's deadline is six months from the day its term started
//! (the end of the period, the withdrawal, the demand's receipt) instead of 30 days; on that
//! day the hold ends and the record is due even if the block is still in place.
//!
//! Legal numbers are not written here: the terms and norms come from the deadline table
//! ([`crate::deadline::RULES`]) and [`crate::law`].

use jiff::civil::Date;
use serde::Serialize;

use crate::deadline::RuleId;
use crate::ids::RecordId;
use crate::law::{self, BasisKind};
use crate::policy::{AnchorEvent, Policy, RetentionAction, RetentionRule};

/// Everything the planner needs to know about one subject.
#[derive(Debug, Clone, Default)]
pub struct SubjectHistory {
    /// The subject's kind (`[[subject_kind]]` id).
    pub kind: String,
    /// Events that start retention periods. `collected` and `consent_withdrawn` are not given here:
    /// the first is each record's [`RecordFacts::created`], the second comes from
    /// [`SubjectHistory::consents`].
    pub events: Vec<AnchorFact>,
    /// Every consent the subject gave, in force or not.
    pub consents: Vec<ConsentFact>,
    /// Accepted demands to destroy data.
    pub demands: Vec<DestructionDemand>,
    /// Blocks in force.
    pub blocks: Vec<BlockFact>,
    /// The records to plan.
    pub records: Vec<RecordFacts>,
}

/// That an anchor event happened (or is awaited) for the subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorFact {
    pub event: AnchorEvent,
    /// The day it happened; `None` when it is awaited: an order placed and not yet fulfilled, a
    /// claim being handled, a contract in force. An awaited fact keeps every record it concerns
    /// without an end, so data shared by several orders lives until the last one's period ends.
    pub on: Option<Date>,
    /// The order, claim, contract or request the event belongs to; `None` for the whole subject.
    /// A record with a scope uses the facts of its scope, and the subject-wide ones when its scope
    /// has none of that event; a record without a scope uses every fact of the event.
    pub scope: Option<String>,
    /// The purpose the event concerns; the fact then applies only to categories that purpose
    /// covers for the subject's kind. Required for `purpose_achieved` (an enquiry answered is the
    /// enquiries purpose achieved, not every purpose).
    pub purpose: Option<String>,
}

impl AnchorFact {
    /// The event happened on `on`, for the whole subject.
    pub fn happened(event: AnchorEvent, on: Date) -> AnchorFact {
        AnchorFact {
            event,
            on: Some(on),
            scope: None,
            purpose: None,
        }
    }

    /// The event is awaited, for the whole subject.
    pub fn awaited(event: AnchorEvent) -> AnchorFact {
        AnchorFact {
            event,
            on: None,
            scope: None,
            purpose: None,
        }
    }

    /// The same fact, for one order, claim, contract or request.
    pub fn in_scope(mut self, scope: &str) -> AnchorFact {
        self.scope = Some(scope.to_string());
        self
    }

    /// The same fact, about one purpose.
    pub fn about(mut self, purpose: &str) -> AnchorFact {
        self.purpose = Some(purpose.to_string());
        self
    }
}

/// A consent the subject gave: its purposes and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentFact {
    pub purposes: Vec<String>,
    /// The day it was withdrawn.
    pub withdrawn: Option<Date>,
    /// The last day of a consent given for a term; its expiry counts as a withdrawal (seed clause
    /// 2.5.6: «истечение срока должно обрабатываться так же, как отзыв»).
    pub valid_until: Option<Date>,
}

impl ConsentFact {
    /// The day the consent stopped being a basis, if it has or will at a known date.
    pub fn ended(&self) -> Option<Date> {
        match (self.withdrawn, self.valid_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A demand to destroy data that the operator accepted (ст. 14 ч. 1, ст. 20 ч. 3; REQUIREMENTS
/// §5): every non-statutory record of its categories ends by its due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestructionDemand {
    pub received: Date,
    /// The due date the request journal computed for it (D3: 7 working days on the production
    /// calendar, which the planner does not hold).
    pub due: Date,
    /// The day the operator accepted it (answered without refusing), if before the due date:
    /// once accepted there is nothing left to wait for, so the data go on the next run.
    pub accepted: Option<Date>,
    /// The categories demanded; empty means all the subject's data.
    pub categories: Vec<String>,
    /// The request's number in the journal (`2026-000042`), for the plan, the act and the
    /// journal entry that records the destruction.
    pub request: Option<String>,
}

/// A block in force (ст. 21 ч. 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockFact {
    /// `None` blocks all the subject's data.
    pub category: Option<String>,
    pub since: Date,
}

/// One record to plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFacts {
    pub id: RecordId,
    pub category: String,
    /// The day it was collected: the anchor of `collected` rules.
    pub created: Date,
    /// The order, claim, contract or request it belongs to, if any.
    pub scope: Option<String>,
}

/// The plan for one subject: one item per record, in the order the records were given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub items: Vec<PlanItem>,
}

/// What happens to one record, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanItem {
    pub record: RecordId,
    pub category: String,
    pub scope: Option<String>,
    /// What decides the record's end.
    pub ground: Ground,
    /// The governing ground is a rule with `statutory = true`: a law requires keeping the data.
    pub statutory: bool,
    /// The day the period ends and the action becomes due; `None` while the governing event has
    /// not happened (kept while the account exists, while the contract is in force…).
    pub expires: Option<Date>,
    /// The last day the law allows for the action; `None` when there is no end yet, or for a
    /// review of a record no rule covers.
    pub deadline: Option<Date>,
    pub action: RetentionAction,
    /// The record is blocked since this day (ст. 21 ч. 1).
    pub blocked_since: Option<Date>,
    /// The norm of the governing ground.
    pub norm: String,
    /// Why, in Russian, with the norms: shown to the operator and written to the act.
    pub reason: String,
}

/// What decides a record's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ground {
    /// A `[[retention]]` rule of the policy.
    Rule { id: String, anchor: AnchorEvent },
    /// The consents that covered the category ended and no other basis covers it (ст. 21 ч. 5).
    ConsentWithdrawn { purposes: Vec<String>, on: Date },
    /// An accepted demand to destroy (ст. 20 ч. 3).
    DestructionDemand {
        received: Date,
        /// The request's number in the journal, when the demand came through it.
        #[serde(skip_serializing_if = "Option::is_none")]
        request: Option<String>,
    },
    /// No rule covers the record.
    NoRule,
}

impl Ground {
    /// The governing rule's id, if a rule governs.
    pub fn rule_id(&self) -> Option<&str> {
        match self {
            Ground::Rule { id, .. } => Some(id),
            _ => None,
        }
    }
}

impl PlanItem {
    /// The period has ended by `at`: the action is due.
    pub fn is_due(&self, at: Date) -> bool {
        self.expires.is_some_and(|e| e <= at)
    }

    /// Due, but blocked for a check and the ст. 21 ч. 6 limit not yet reached: wait.
    pub fn held(&self, at: Date) -> bool {
        self.is_due(at) && self.blocked_since.is_some() && self.deadline.is_some_and(|d| at < d)
    }

    /// The last day allowed for the action has passed.
    pub fn overdue(&self, at: Date) -> bool {
        self.deadline.is_some_and(|d| d < at)
    }
}

/// Items whose period has ended by `at` (expiry ≤ `at`), blocked ones included: see
/// [`PlanItem::held`] and [`actionable`].
pub fn due(plan: &Plan, at: Date) -> Vec<&PlanItem> {
    plan.items.iter().filter(|i| i.is_due(at)).collect()
}

/// Items due by `at` that may be acted on now: due and not held by a block.
pub fn actionable(plan: &Plan, at: Date) -> Vec<&PlanItem> {
    plan.items
        .iter()
        .filter(|i| i.is_due(at) && !i.held(at))
        .collect()
}

/// Facts the planner refuses: they would silently plan something other than what was meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "событие «{0}» не передаётся фактом: дата сбора берётся из записи, отзыв — из согласий"
    )]
    DerivedEvent(&'static str),
    #[error("факт ссылается на цель «{0}», которой нет в политике")]
    UnknownPurpose(String),
    /// Without its purpose, "purpose achieved" would end every category whose rule waits for
    /// some purpose: geolocation, enquiries and subject requests at once.
    #[error("у события «purpose_achieved» должна быть указана цель, которая достигнута")]
    PurposeNotNamed,
}

/// Plans every record of the subject.
pub fn plan(policy: &Policy, subject: &SubjectHistory) -> Result<Plan, PlanError> {
    for fact in &subject.events {
        if matches!(
            fact.event,
            AnchorEvent::Collected | AnchorEvent::ConsentWithdrawn
        ) {
            return Err(PlanError::DerivedEvent(event_id(fact.event)));
        }
        match &fact.purpose {
            Some(p) if policy.purpose(p).is_none() => {
                return Err(PlanError::UnknownPurpose(p.clone()));
            }
            None if fact.event == AnchorEvent::PurposeAchieved => {
                return Err(PlanError::PurposeNotNamed);
            }
            _ => {}
        }
    }
    let items = subject
        .records
        .iter()
        .map(|record| {
            Planner {
                policy,
                subject,
                record,
            }
            .item()
        })
        .collect();
    Ok(Plan { items })
}

/// One way a record may end, before precedence is applied.
#[derive(Debug, Clone)]
struct Ending {
    expires: Date,
    /// The day the legal term for acting starts: the period's end, the withdrawal, the demand's
    /// receipt. A block counts the ст. 21 ч. 6 limit from it.
    start: Date,
    /// The last day to act when the record is not blocked, and the norm that sets it.
    deadline: Date,
    deadline_norm: &'static str,
    ground: Ground,
    action: RetentionAction,
    statutory: bool,
    norm: String,
    /// Tie-break after the date and the action: rules in policy order, then withdrawal, demands.
    order: usize,
    /// What this end says, in Russian, without the deadline.
    text: String,
}

struct Planner<'a> {
    policy: &'a Policy,
    subject: &'a SubjectHistory,
    record: &'a RecordFacts,
}

impl Planner<'_> {
    fn item(&self) -> PlanItem {
        let category = self.record.category.as_str();
        let kind = self.subject.kind.as_str();
        let rules: Vec<(usize, &RetentionRule)> = self
            .policy
            .retention
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.subjects.iter().any(|s| *s == *kind)
                    && r.categories.iter().any(|c| *c == *category)
            })
            .collect();
        let mut statutory_ends = Vec::new();
        let mut statutory_pending = Vec::new();
        let mut ordinary_ends = Vec::new();
        let mut ordinary_pending = Vec::new();
        for &(index, rule) in &rules {
            match self.rule_ending(index, rule) {
                Some(ending) if rule.statutory => statutory_ends.push(ending),
                Some(ending) => ordinary_ends.push(ending),
                None if rule.statutory => statutory_pending.push(rule),
                None => ordinary_pending.push(rule),
            }
        }
        // Whether the category has a purpose of its own besides the law's: without one, nothing
        // keeps the data past the statutory floor, and a withdrawal or demand cannot lengthen it.
        let has_ordinary_rules = !ordinary_ends.is_empty() || !ordinary_pending.is_empty();
        let first_override = self.policy.retention.len();
        ordinary_ends.extend(self.withdrawal_ending(first_override));
        ordinary_ends.extend(self.demand_endings(first_override + 1));

        let ordinary = ordinary_ends
            .iter()
            .min_by_key(|e| (e.expires, action_rank(e.action), e.order, e.start));
        // The statutory floor is the latest statutory end; ties go to the first in the policy.
        let statutory = statutory_ends
            .iter()
            .min_by_key(|e| (std::cmp::Reverse(e.expires), e.order));
        let blocked_since = self.blocked_since();

        if let Some(pending) = statutory_pending.first() {
            let overridden: Vec<&Ending> = ordinary_ends.iter().collect();
            return self.pending_item(pending, &overridden, blocked_since);
        }
        let Some(floor) = statutory else {
            return match (ordinary, ordinary_pending.first()) {
                (Some(first), _) => {
                    self.ended_item(first, &ordinary_ends, None, &[], blocked_since)
                }
                (None, Some(pending)) => self.pending_item(pending, &[], blocked_since),
                (None, None) => self.uncovered_item(blocked_since),
            };
        };
        match (ordinary, ordinary_pending.first()) {
            // Past the floor an ordinary purpose still needs the data: its earliest end governs.
            (Some(first), _) if has_ordinary_rules && first.expires > floor.expires => {
                self.ended_item(first, &ordinary_ends, Some(floor), &[], blocked_since)
            }
            // An ordinary purpose still needs the data and none of its ends is known yet.
            (None, Some(pending)) => {
                let mut item = self.pending_item(pending, &[], blocked_since);
                item.reason.push_str(&format!(
                    " Срок, установленный законом (правило «{}»), истекает {}.",
                    rule_of(floor),
                    floor.expires
                ));
                item
            }
            _ => {
                let overridden: Vec<&Ending> = ordinary_ends
                    .iter()
                    .filter(|e| e.expires <= floor.expires)
                    .collect();
                self.ended_item(
                    floor,
                    std::slice::from_ref(floor),
                    None,
                    &overridden,
                    blocked_since,
                )
            }
        }
    }

    /// The end a rule gives the record, or `None` while its anchor event has not happened.
    fn rule_ending(&self, index: usize, rule: &RetentionRule) -> Option<Ending> {
        let anchor = match rule.anchor {
            AnchorEvent::Collected => self.record.created,
            AnchorEvent::ConsentWithdrawn => self.consent_lost()?.0,
            event => self.anchor_date(event)?,
        };
        let expires = rule.period.end_from(anchor).unwrap_or(Date::MAX);
        let span = if rule.period.is_zero() {
            format!("до {} ({anchor})", since(rule.anchor))
        } else {
            format!(
                "{} с {} ({anchor})",
                rule.period.in_words(),
                since(rule.anchor)
            )
        };
        Some(Ending {
            expires,
            start: expires,
            deadline: term_end(RuleId::D8, expires),
            deadline_norm: RuleId::D8.rule().norm,
            ground: Ground::Rule {
                id: rule.id.to_string(),
                anchor: rule.anchor,
            },
            action: rule.action,
            statutory: rule.statutory,
            norm: rule.norm.clone(),
            order: index,
            text: format!(
                "{} (правило «{}»): {span}, срок истекает {expires}; затем {}. Основание: {}.",
                rule.title,
                rule.id,
                action_noun(rule.action),
                rule.norm
            ),
        })
    }

    /// ст. 21 ч. 5: the category's last consent ended and nothing else covers it.
    fn withdrawal_ending(&self, order: usize) -> Option<Ending> {
        let (on, purposes) = self.consent_lost()?;
        if self.other_basis() {
            return None;
        }
        let rule = RuleId::D9.rule();
        let stage = rule.stages.first()?;
        let expires = term_end(RuleId::D9, on);
        let listed = quoted(&purposes);
        Some(Ending {
            expires,
            start: on,
            deadline: expires,
            deadline_norm: rule.norm,
            ground: Ground::ConsentWithdrawn { purposes, on },
            action: RetentionAction::Destroy,
            statutory: false,
            norm: rule.norm.to_string(),
            order,
            text: format!(
                "Согласие на цели {listed} отозвано или истекло {on}, иного основания обработки этих \
                 данных нет: уничтожение в течение {} ({}), срок истекает {expires}.",
                stage.term, rule.norm
            ),
        })
    }

    /// Accepted demands that name the record's category (or all data).
    fn demand_endings(&self, order: usize) -> Vec<Ending> {
        let norm = RuleId::D3.rule().norm;
        self.subject
            .demands
            .iter()
            .filter(|d| d.categories.is_empty() || d.categories.contains(&self.record.category))
            .map(|d| {
                let expires = d.accepted.map_or(d.due, |a| a.min(d.due));
                let number = d
                    .request
                    .as_deref()
                    .map_or_else(String::new, |n| format!(" № {n}"));
                let accepted = match d.accepted {
                    Some(a) if a < d.due => format!(" Требование принято {a}."),
                    _ => String::new(),
                };
                Ending {
                    expires,
                    start: d.received,
                    deadline: d.due,
                    deadline_norm: norm,
                    ground: Ground::DestructionDemand {
                        received: d.received,
                        request: d.request.clone(),
                    },
                    action: RetentionAction::Destroy,
                    statutory: false,
                    norm: norm.to_string(),
                    order,
                    text: format!(
                        "Требование субъекта об уничтожении данных{number} от {} ({norm}): срок по \
                         журналу обращений истекает {}.{accepted} Данные, которые закон обязывает \
                         хранить, под требование не подпадают.",
                        d.received, d.due
                    ),
                }
            })
            .collect()
    }

    /// An item whose end is known. `bound` lists every end that applies (the earliest deadline
    /// among them binds); `floor` is a statutory end the governing one outlasts; `overridden` the
    /// ordinary ends a statutory rule holds back.
    fn ended_item(
        &self,
        governing: &Ending,
        bound: &[Ending],
        floor: Option<&Ending>,
        overridden: &[&Ending],
        blocked_since: Option<Date>,
    ) -> PlanItem {
        let mut reason = governing.text.clone();
        if let Some(floor) = floor {
            reason.push_str(&format!(
                " Срок, установленный законом (правило «{}»), истекает раньше — {}.",
                rule_of(floor),
                floor.expires
            ));
        }
        if governing.statutory && !overridden.is_empty() {
            reason.push_str(&format!(
                " Срок установлен законом: этот набор данных хранится вопреки {}.",
                overridden_list(overridden)
            ));
        }
        let deadline = match blocked_since {
            None => {
                let binding = bound
                    .iter()
                    .min_by_key(|e| (e.deadline, e.order))
                    .unwrap_or(governing);
                let deadline = binding.deadline.max(governing.expires);
                reason.push_str(&format!(
                    " Выполнить не позднее {deadline} ({}).",
                    binding.deadline_norm
                ));
                deadline
            }
            Some(since) => {
                let deadline = bound
                    .iter()
                    .map(|e| term_end(RuleId::D11, e.start))
                    .min()
                    .unwrap_or(governing.deadline)
                    .max(governing.expires);
                reason.push_str(&blocked_text(since, governing.action, deadline));
                deadline
            }
        };
        PlanItem {
            record: self.record.id,
            category: self.record.category.clone(),
            scope: self.record.scope.clone(),
            ground: governing.ground.clone(),
            statutory: governing.statutory,
            expires: Some(governing.expires),
            deadline: Some(deadline),
            action: governing.action,
            blocked_since,
            norm: governing.norm.clone(),
            reason,
        }
    }

    /// An item kept without an end because the governing rule's event has not happened.
    fn pending_item(
        &self,
        rule: &RetentionRule,
        overridden: &[&Ending],
        blocked_since: Option<Date>,
    ) -> PlanItem {
        let start = if rule.period.is_zero() {
            format!(
                "{} — сразу после {}",
                action_noun(rule.action),
                since(rule.anchor)
            )
        } else {
            format!(
                "срок {} начнётся с {}",
                rule.period.in_words(),
                since(rule.anchor)
            )
        };
        let mut reason = format!(
            "{} (правило «{}»): хранится, {}; {start}. Основание: {}.",
            rule.title,
            rule.id,
            awaited(rule.anchor),
            rule.norm
        );
        if rule.statutory && !overridden.is_empty() {
            reason.push_str(&format!(
                " Срок установлен законом: этот набор данных хранится вопреки {}.",
                overridden_list(overridden)
            ));
        }
        PlanItem {
            record: self.record.id,
            category: self.record.category.clone(),
            scope: self.record.scope.clone(),
            ground: Ground::Rule {
                id: rule.id.to_string(),
                anchor: rule.anchor,
            },
            statutory: rule.statutory,
            expires: None,
            deadline: None,
            action: rule.action,
            blocked_since,
            norm: rule.norm.clone(),
            reason,
        }
    }

    /// A record no rule covers: the operator must decide (ст. 5 ч. 7).
    fn uncovered_item(&self, blocked_since: Option<Date>) -> PlanItem {
        let category = &self.record.category;
        let kind = &self.subject.kind;
        let what = if self.policy.category(category).is_none() {
            format!("Категория «{category}» не объявлена в политике")
        } else {
            format!(
                "Для категории «{category}» у субъекта вида «{kind}» в политике нет правила хранения"
            )
        };
        PlanItem {
            record: self.record.id,
            category: category.clone(),
            scope: self.record.scope.clone(),
            ground: Ground::NoRule,
            statutory: false,
            expires: Some(self.record.created),
            deadline: None,
            action: RetentionAction::Review,
            blocked_since,
            norm: law::RETENTION_NORM.to_string(),
            reason: format!(
                "{what}: срок хранения не определён, оператору нужно решить судьбу записи и \
                 дополнить политику ({}).",
                law::RETENTION_NORM
            ),
        }
    }

    /// The day the record's anchor `event` happened, by the scope rules of [`AnchorFact`]; `None`
    /// while it has not happened or is awaited somewhere it applies.
    fn anchor_date(&self, event: AnchorEvent) -> Option<Date> {
        let relevant = |f: &&AnchorFact| {
            f.event == event && f.purpose.as_deref().is_none_or(|p| self.purpose_covers(p))
        };
        let facts: Vec<&AnchorFact> = match &self.record.scope {
            Some(scope) => {
                let own: Vec<&AnchorFact> = self
                    .subject
                    .events
                    .iter()
                    .filter(relevant)
                    .filter(|f| f.scope.as_ref() == Some(scope))
                    .collect();
                if own.is_empty() {
                    self.subject
                        .events
                        .iter()
                        .filter(relevant)
                        .filter(|f| f.scope.is_none())
                        .collect()
                } else {
                    own
                }
            }
            None => self.subject.events.iter().filter(relevant).collect(),
        };
        // Awaited anywhere it applies: not yet. Otherwise the latest occurrence.
        facts
            .iter()
            .map(|f| f.on)
            .collect::<Option<Vec<Date>>>()?
            .into_iter()
            .max()
    }

    /// When the last consent covering the record's category ended, and the purposes withdrawn;
    /// `None` if one still stands or none was ever given.
    fn consent_lost(&self) -> Option<(Date, Vec<String>)> {
        let mut last: Option<Date> = None;
        let mut purposes: Vec<String> = Vec::new();
        for consent in &self.subject.consents {
            let covered: Vec<&String> = consent
                .purposes
                .iter()
                .filter(|p| self.consent_purpose_covers(p))
                .collect();
            if covered.is_empty() {
                continue;
            }
            let ended = consent.ended()?;
            last = Some(last.map_or(ended, |l| l.max(ended)));
            purposes.extend(covered.into_iter().cloned());
        }
        purposes.sort();
        purposes.dedup();
        last.map(|on| (on, purposes))
    }

    /// Whether a declared purpose covers the record's category for the subject's kind.
    fn purpose_covers(&self, purpose: &str) -> bool {
        self.policy.purpose(purpose).is_some_and(|p| {
            p.subjects.iter().any(|s| *s == *self.subject.kind)
                && p.categories.iter().any(|c| *c == *self.record.category)
        })
    }

    fn consent_purpose_covers(&self, purpose: &str) -> bool {
        self.purpose_covers(purpose)
            && self
                .policy
                .purpose(purpose)
                .is_some_and(|p| self.policy.basis_kind(p).is_consent())
    }

    /// Whether a purpose on a basis other than consent covers the category (ст. 21 ч. 5: the data
    /// stay if the operator may process them without consent). Statistics do not count: they may
    /// use depersonalised data only (ст. 6 ч. 1 п. 9).
    fn other_basis(&self) -> bool {
        self.policy.purposes.iter().any(|p| {
            let kind = self.policy.basis_kind(p);
            !kind.is_consent()
                && kind != BasisKind::Statistics
                && !p.depersonalised_only
                && self.purpose_covers(&p.id)
        })
    }

    /// The earliest block in force on the record's category.
    fn blocked_since(&self) -> Option<Date> {
        self.subject
            .blocks
            .iter()
            .filter(|b| {
                b.category
                    .as_ref()
                    .is_none_or(|c| *c == self.record.category)
            })
            .map(|b| b.since)
            .min()
    }
}

/// The last day of a rule's (calendar) term counted from `from`. The terms used here are
/// calendar ones (a test holds the table to that); a date past the representable range is
/// "never".
fn term_end(rule: RuleId, from: Date) -> Date {
    rule.rule()
        .stages
        .first()
        .and_then(|s| s.term.calendar_end(from))
        .unwrap_or(Date::MAX)
}

fn action_rank(action: RetentionAction) -> u8 {
    match action {
        RetentionAction::Destroy => 0,
        RetentionAction::Depersonalise => 1,
        RetentionAction::Review => 2,
    }
}

fn rule_of(ending: &Ending) -> &str {
    ending.ground.rule_id().unwrap_or("—")
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|p| format!("«{p}»"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// «правилу «x» (срок истёк бы D), отзыву согласия (D), требованию об уничтожении от D».
fn overridden_list(endings: &[&Ending]) -> String {
    endings
        .iter()
        .map(|e| match &e.ground {
            Ground::Rule { id, .. } => format!("правилу «{id}» (срок истёк бы {})", e.expires),
            Ground::ConsentWithdrawn { on, .. } => format!("отзыву согласия ({on})"),
            Ground::DestructionDemand { received, request } => match request {
                Some(n) => format!("требованию об уничтожении от {received} (обращение № {n})"),
                None => format!("требованию об уничтожении от {received}"),
            },
            Ground::NoRule => "отсутствию правила".to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn blocked_text(since: Date, action: RetentionAction, deadline: Date) -> String {
    let d11 = RuleId::D11.rule();
    format!(
        " Данные заблокированы с {since} на время проверки ({}): {} откладывается до снятия \
         блокировки, но не позднее {deadline} ({}).",
        law::BLOCKING_NORM,
        action_noun(action),
        d11.norm
    )
}

fn event_id(event: AnchorEvent) -> &'static str {
    match event {
        AnchorEvent::AccountDeleted => "account_deleted",
        AnchorEvent::OrderFulfilled => "order_fulfilled",
        AnchorEvent::ClaimClosed => "claim_closed",
        AnchorEvent::ContractTerminated => "contract_terminated",
        AnchorEvent::PurposeAchieved => "purpose_achieved",
        AnchorEvent::ConsentWithdrawn => "consent_withdrawn",
        AnchorEvent::CommunicationEnded => "communication_ended",
        AnchorEvent::Collected => "collected",
    }
}

/// The event in the genitive, after «с» or «после».
fn since(event: AnchorEvent) -> &'static str {
    match event {
        AnchorEvent::AccountDeleted => "удаления учётной записи",
        AnchorEvent::OrderFulfilled => "исполнения заказа",
        AnchorEvent::ClaimClosed => "завершения рассмотрения обращения",
        AnchorEvent::ContractTerminated => "прекращения договора",
        AnchorEvent::PurposeAchieved => "достижения цели обработки",
        AnchorEvent::ConsentWithdrawn => "отзыва или истечения согласия",
        AnchorEvent::CommunicationEnded => "окончания соединения",
        AnchorEvent::Collected => "сбора данных",
    }
}

/// While the event has not happened.
fn awaited(event: AnchorEvent) -> &'static str {
    match event {
        AnchorEvent::AccountDeleted => "пока существует учётная запись",
        AnchorEvent::OrderFulfilled => "пока заказ не исполнен",
        AnchorEvent::ClaimClosed => "пока обращение рассматривается",
        AnchorEvent::ContractTerminated => "пока действует договор",
        AnchorEvent::PurposeAchieved => "пока цель обработки не достигнута",
        AnchorEvent::ConsentWithdrawn => "пока действует согласие",
        AnchorEvent::CommunicationEnded => "пока соединение не окончено",
        AnchorEvent::Collected => "с момента сбора",
    }
}

fn action_noun(action: RetentionAction) -> &'static str {
    match action {
        RetentionAction::Destroy => "уничтожение",
        RetentionAction::Depersonalise => "обезличивание",
        RetentionAction::Review => "пересмотр оператором",
    }
}

#[cfg(test)]
mod tests;
