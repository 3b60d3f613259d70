//! The request journal's use cases: receiving a request with its legal deadline, moving it
//! through its steps, and reading it back.
//!
//! Receipt computes the due date from the deadline table and the production calendar and keeps
//! the calendar data it used. Requester details and entry texts are encrypted with the journal
//! key before they reach the store. Every entry is audited in the same transaction, and its
//! audit event carries the SHA-256 of the stored entry, so an entry edited in place no longer
//! matches the trail. A request naming nobody the operator knows is journaled all the same: the
//! law counts from receipt, and the answer then says that no data are processed.

use jiff::Timestamp;
use pdv_core::Operation;
use pdv_core::SubjectId;
use pdv_core::audit::{AuditRecord, Outcome, canonical_details};
use pdv_core::deadline::{self, Due};
use pdv_core::request::{
    Channel, IdentityCheck, Missing, RequestKind, RequestNumber, Status, Step,
};
use pdv_store::{RequestEntryRow, RequestQuery, RequestRow, RequestState, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Problem, ServiceError, ServiceResult};
use crate::vault::Vault;
use crate::views::Actor;

/// Who sent the request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Requester {
    /// Surname, name and patronymic as written in the request.
    pub name: String,
    /// Where to send the answer: a postal address, an e-mail, a phone for an SMS.
    #[serde(default)]
    pub contact: Option<String>,
    /// A representative acting for the subject, if any (name as written).
    #[serde(default)]
    pub representative: Option<String>,
}

/// A request as staff register it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewRequest {
    /// `access`, `rectification`, `blocking`, `destruction`, `consent_withdrawal`,
    /// `stop_processing`, `stop_marketing`, `clarification`, `authority_enquiry`.
    pub kind: String,
    /// `in_person`, `post`, `email`, `site`, `phone`, `authority`.
    pub channel: String,
    /// When the operator received it (RFC 3339); now when absent. A letter registered the day
    /// after it arrived keeps the day it arrived: the law counts from receipt.
    #[serde(default)]
    pub received_at: Option<String>,
    /// The subject the request is about, if the operator found them.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub subject: Option<SubjectId>,
    pub requester: Requester,
    #[serde(default)]
    pub identity: IdentityCheck,
    /// The request's text or its summary.
    #[serde(default)]
    pub text: String,
    /// For a consent withdrawal: the purposes whose consent is withdrawn; every consent when
    /// empty.
    #[serde(default)]
    pub purposes: Vec<String>,
    /// For a request to block, rectify or destroy: the categories it disputes; all the
    /// subject's data when empty.
    #[serde(default)]
    pub categories: Vec<String>,
}

/// The encrypted part of a request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Details {
    pub(crate) requester: Requester,
    identity: IdentityCheck,
    text: String,
    /// The categories a request to block, rectify or destroy names; all when empty. Requests
    /// journaled before this field existed read as naming all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) categories: Vec<String>,
    /// The blocks placed at receipt for the time of the check (ст. 21 ч. 1). A destruction
    /// demand's own block does not hold back the destruction it asks for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) blocks: Vec<pdv_core::BlockId>,
}

/// One line of a request's history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub entry_no: u32,
    pub at: String,
    pub actor: String,
    pub step: String,
    pub status: String,
    pub due: Option<String>,
    pub text: Option<String>,
}

/// What the answer must ask the requester for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MissingView {
    pub code: &'static str,
    pub text: &'static str,
}

/// A request and where it stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestView {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    /// `YYYY-NNNNNN`.
    pub number: String,
    pub kind: String,
    pub kind_title: &'static str,
    pub channel: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub subject: Option<SubjectId>,
    pub received_at: String,
    /// The deadline rule (D1…D14) and its norm.
    pub rule: String,
    pub norm: &'static str,
    /// `YYYY-MM-DD`, or an RFC 3339 instant for hour rules; the extended date once extended.
    pub due: String,
    /// The calendar data behind the due date was provisional: recompute once the decree is in.
    pub provisional: bool,
    pub status: String,
    pub status_title: &'static str,
    pub overdue: bool,
    /// What ст. 14 ч. 3 requires and the request lacks.
    pub missing: Vec<MissingView>,
    /// Requester details and the history; only in a single request's view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<Requester>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<EntryView>,
}

/// A step staff take on a request.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RequestStep {
    /// `check_identity`, `start`, `extend`, `answer`, `refuse`, `note`.
    pub step: String,
    /// The reason, the answer or the note. Required for `extend` and `refuse` (the law asks for a
    /// motivated notice and a motivated refusal) and for `answer` and `note`.
    #[serde(default)]
    pub text: Option<String>,
    /// For `check_identity`: what the request was found to contain.
    #[serde(default)]
    pub identity: Option<IdentityCheck>,
}

/// Which requests to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestFilter {
    /// Only these kinds' requests.
    #[serde(default)]
    pub kind: Option<String>,
    /// `open` (not answered or refused), `overdue`, or one status name.
    #[serde(default)]
    pub status: Option<String>,
    /// Only requests due on or before this date (`YYYY-MM-DD`).
    #[serde(default)]
    pub due_by: Option<String>,
}

const AAD_TABLE: &str = "requests";
const PAGE: u32 = 500;
const OPEN: [Status; 4] = [
    Status::Received,
    Status::IdentityChecked,
    Status::InProgress,
    Status::Extended,
];

fn parse_step(s: &str) -> Option<Step> {
    [
        Step::CheckIdentity,
        Step::Start,
        Step::Extend,
        Step::Answer,
        Step::Refuse,
        Step::Note,
    ]
    .into_iter()
    .find(|st| st.as_str() == s)
}

/// The SHA-256 of an entry as stored, for its audit event.
fn entry_digest(e: &RequestEntryRow) -> String {
    let mut h = Sha256::new();
    for part in [
        e.request.as_bytes().as_slice(),
        &e.entry_no.to_be_bytes(),
        &e.at_ms.to_be_bytes(),
        e.actor.as_bytes(),
        e.step.as_bytes(),
        e.status.as_bytes(),
        e.due.as_deref().unwrap_or("").as_bytes(),
        e.details_ct.as_deref().unwrap_or(&[]),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

fn request_digest(r: &RequestRow) -> String {
    let mut h = Sha256::new();
    for part in [
        r.id.as_bytes().as_slice(),
        &r.year.to_be_bytes(),
        &r.seq.to_be_bytes(),
        r.kind.as_bytes(),
        r.channel.as_bytes(),
        r.subject
            .as_ref()
            .map_or(&[][..], |s| s.as_bytes().as_slice()),
        &r.received_at_ms.to_be_bytes(),
        r.rule.as_bytes(),
        r.due.as_bytes(),
        r.calendar.as_bytes(),
        &[u8::from(r.provisional)],
        &r.details_ct,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

/// The digests the audit trail recorded for the journal, gathered while the chain is verified.
#[derive(Debug, Default)]
pub(crate) struct AuditedJournal {
    /// Number → (audit seq, digest of the request row).
    requests: std::collections::HashMap<String, (u64, String)>,
    /// (number, entry) → (audit seq, digest of the entry row).
    entries: std::collections::HashMap<(String, u32), (u64, String)>,
}

impl AuditedJournal {
    pub(crate) fn note(&mut self, event: &pdv_core::audit::ChainedEvent) {
        if !event.record.action.starts_with("request.") {
            return;
        }
        let Ok(details) = serde_json::from_str::<serde_json::Value>(&event.record.details) else {
            return;
        };
        let Some(number) = details["number"].as_str() else {
            return;
        };
        let entry = details["entry"].as_u64().unwrap_or(1) as u32;
        if let Some(d) = details["request_sha256"].as_str() {
            self.requests
                .insert(number.to_string(), (event.seq, d.to_string()));
        }
        if let Some(d) = details["entry_sha256"].as_str() {
            self.entries
                .insert((number.to_string(), entry), (event.seq, d.to_string()));
        }
    }
}

impl Vault {
    /// Compares every journal row with the digest its audit event recorded: the first row that
    /// was changed, added or removed outside pdvault, with the audit event to look at.
    pub(crate) async fn verify_journal(
        &self,
        audited: &AuditedJournal,
    ) -> ServiceResult<Option<(u64, String)>> {
        let mut tx = self.store().begin().await?;
        let mut after = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let page = tx
                .requests(&RequestQuery {
                    after,
                    limit: PAGE,
                    ..RequestQuery::default()
                })
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.request.year, last.request.seq));
            for state in &page {
                let number = RequestNumber {
                    year: state.request.year,
                    seq: state.request.seq,
                }
                .to_string();
                match audited.requests.get(&number) {
                    Some((_, d)) if *d == request_digest(&state.request) => {}
                    Some((seq, _)) => {
                        return Ok(Some((
                            *seq,
                            format!("обращение № {number} изменено в базе после регистрации"),
                        )));
                    }
                    None => {
                        return Ok(Some((
                            0,
                            format!(
                                "обращения № {number} нет в журнале аудита: оно внесено в базу в обход pdvault"
                            ),
                        )));
                    }
                }
                for e in tx.request_entries(state.request.id).await? {
                    seen.insert((number.clone(), e.entry_no));
                    match audited.entries.get(&(number.clone(), e.entry_no)) {
                        Some((_, d)) if *d == entry_digest(&e) => {}
                        Some((seq, _)) => {
                            return Ok(Some((
                                *seq,
                                format!(
                                    "запись {} обращения № {number} изменена в базе: журнал обращений только дополняется",
                                    e.entry_no
                                ),
                            )));
                        }
                        None => {
                            return Ok(Some((
                                0,
                                format!(
                                    "записи {} обращения № {number} нет в журнале аудита: она внесена в обход pdvault",
                                    e.entry_no
                                ),
                            )));
                        }
                    }
                }
            }
            if page.len() < PAGE as usize {
                break;
            }
        }
        // Every entry the audit trail vouches for must still be there.
        let gone = audited
            .entries
            .iter()
            .filter(|(key, _)| !seen.contains(*key))
            .map(|((n, e), (seq, _))| (*seq, n.clone(), *e))
            .min();
        Ok(gone.map(|(seq, number, entry)| {
            (
                seq,
                format!("запись {entry} обращения № {number} удалена из базы, хотя есть в журнале аудита"),
            )
        }))
    }

    /// Encrypts a field of the journal or the outbox (`table`) under the journal key, bound to
    /// its table, row and field.
    pub(crate) fn journal_seal(&self, table: &str, id: Uuid, field: &str, plain: &[u8]) -> Vec<u8> {
        crate::sealed::seal(&self.keyring().journal_key(), table, id, field, plain)
    }

    /// Decrypts what [`Vault::journal_seal`] encrypted, as text.
    pub(crate) fn journal_open(
        &self,
        table: &str,
        id: Uuid,
        field: &str,
        ct: &[u8],
    ) -> ServiceResult<String> {
        let plain = crate::sealed::open(&self.keyring().journal_key(), table, id, field, ct)?;
        String::from_utf8(plain)
            .map_err(|_| ServiceError::Integrity(format!("{table} {id}: {field} is not UTF-8")))
    }

    fn journal_event(
        &self,
        actor: &Actor,
        action: &str,
        subject: Option<SubjectId>,
        details: serde_json::Value,
    ) -> AuditRecord {
        AuditRecord {
            at_ms: self.now_ms(),
            actor: actor.name.clone(),
            action: action.into(),
            // Journaling a request records the requester's details.
            operation: Some(Operation::Recording),
            purpose: None,
            subject,
            outcome: Outcome::Done,
            details: canonical_details(&details),
        }
    }

    fn is_overdue(&self, status: Status, due: &str) -> bool {
        !status.is_closed() && self.is_past_due(due)
    }

    /// Whether a due date (`YYYY-MM-DD`, or an RFC 3339 instant for hour rules) has passed.
    pub(crate) fn is_past_due(&self, due: &str) -> bool {
        let now = Timestamp::from_millisecond(self.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH);
        if let Ok(day) = due.parse::<jiff::civil::Date>() {
            return now.to_zoned(self.time_zone()).date() > day;
        }
        due.parse::<Timestamp>().is_ok_and(|t| now > t)
    }

    fn view(&self, state: &RequestState, full: Option<(&Details, Vec<EntryView>)>) -> RequestView {
        let r = &state.request;
        let kind = RequestKind::parse(&r.kind);
        let status = Status::parse(&state.status).unwrap_or(Status::Received);
        let missing = match (kind, full.as_ref()) {
            (Some(k), Some((d, _))) if k.needs_identity_check() && !status.is_closed() => d
                .identity
                .missing(d.requester.representative.is_some())
                .into_iter()
                .map(|m: Missing| MissingView {
                    code: m.as_str(),
                    text: m.request_text(),
                })
                .collect(),
            _ => Vec::new(),
        };
        let (requester, text, entries) = match full {
            Some((d, entries)) => (Some(d.requester.clone()), Some(d.text.clone()), entries),
            None => (None, None, Vec::new()),
        };
        RequestView {
            id: r.id,
            number: RequestNumber {
                year: r.year,
                seq: r.seq,
            }
            .to_string(),
            kind: r.kind.clone(),
            kind_title: kind.map_or("", RequestKind::title),
            channel: r.channel.clone(),
            subject: r.subject,
            received_at: self.local_time(r.received_at_ms),
            rule: r.rule.clone(),
            norm: kind.map_or("", |k| k.rule().rule().norm),
            due: state.due.clone(),
            provisional: r.provisional,
            status: state.status.clone(),
            status_title: status.title(),
            overdue: self.is_overdue(status, &state.due),
            missing,
            requester,
            text,
            entries,
        }
    }

    /// Enters a request in the journal with its legal deadline.
    pub async fn receive_request(
        &self,
        actor: &Actor,
        input: NewRequest,
    ) -> ServiceResult<RequestView> {
        let mut problems = Vec::new();
        let kind = RequestKind::parse(&input.kind);
        if kind.is_none() {
            problems.push(Problem::new(
                "kind",
                "unknown_request_kind",
                format!(
                    "вид обращения «{}» неизвестен; допустимы: {}",
                    input.kind,
                    RequestKind::ALL.map(RequestKind::as_str).join(", ")
                ),
            ));
        }
        if Channel::parse(&input.channel).is_none() {
            problems.push(Problem::new(
                "channel",
                "unknown_channel",
                format!(
                    "канал «{}» неизвестен; допустимы: {}",
                    input.channel,
                    Channel::ALL.map(Channel::as_str).join(", ")
                ),
            ));
        }
        for (i, p) in input.purposes.iter().enumerate() {
            if !self
                .policy()
                .policy
                .purposes
                .iter()
                .any(|x| x.id.as_str() == p)
            {
                problems.push(Problem::new(
                    format!("purposes[{i}]"),
                    "unknown_purpose",
                    format!("цель «{p}» не объявлена в политике оператора"),
                ));
            }
        }
        if !input.purposes.is_empty() && kind != Some(RequestKind::ConsentWithdrawal) {
            problems.push(Problem::new(
                "purposes",
                "not_for_this_kind",
                "цели указываются только при отзыве согласия (consent_withdrawal)",
            ));
        }
        for (i, c) in input.categories.iter().enumerate() {
            if self.policy().policy.category(c).is_none() {
                problems.push(Problem::new(
                    format!("categories[{i}]"),
                    "unknown_category",
                    format!("категория «{c}» не объявлена в политике оператора"),
                ));
            }
        }
        if !input.categories.is_empty()
            && !matches!(
                kind,
                Some(RequestKind::Blocking | RequestKind::Rectification | RequestKind::Destruction)
            )
        {
            problems.push(Problem::new(
                "categories",
                "not_for_this_kind",
                "категории указываются только в требованиях заблокировать, уточнить или уничтожить данные",
            ));
        }
        if input.requester.name.trim().is_empty() {
            problems.push(Problem::new(
                "requester.name",
                "required",
                "укажите, от кого обращение (ФИО или наименование органа)",
            ));
        }
        let now = Timestamp::from_millisecond(self.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH);
        let received_at = match input.received_at.as_deref() {
            None => Some(now),
            Some(text) => match text.parse::<Timestamp>() {
                Ok(t) if t > now => {
                    problems.push(Problem::new(
                        "received_at",
                        "in_the_future",
                        "время получения не может быть позже текущего",
                    ));
                    None
                }
                Ok(t) => Some(t),
                Err(_) => {
                    problems.push(Problem::new(
                        "received_at",
                        "invalid_timestamp",
                        format!(
                            "«{text}» — не момент времени RFC 3339, например 2026-11-20T10:15:00+03:00"
                        ),
                    ));
                    None
                }
            },
        };
        let (Some(kind), Some(received_at), true) = (kind, received_at, problems.is_empty()) else {
            return Err(ServiceError::Invalid(problems));
        };
        let deadline = deadline::compute(
            kind.rule(),
            received_at,
            &self.time_zone(),
            false,
            self.calendar(),
        )
        .map_err(|e| ServiceError::invalid("received_at", "no_deadline", e.to_string()))?;
        let calendar = deadline
            .calendar
            .years
            .iter()
            .map(|y| format!("{}:{}", y.year, y.version))
            .collect::<Vec<_>>()
            .join(",");

        let mut tx = self.store().begin().await?;
        self.replay(&mut *tx, actor).await?;
        if let Some(subject) = input.subject
            && tx.subject(subject).await?.is_none()
        {
            return Err(ServiceError::invalid(
                "subject",
                "unknown_subject",
                format!(
                    "субъект {subject} не найден; обращение без субъекта регистрируется без поля subject"
                ),
            ));
        }
        let year = received_at.to_zoned(self.time_zone()).year();
        let seq = tx.next_request_seq(year).await?;
        let id = Uuid::now_v7();
        // ст. 21 ч. 1: a request alleging inaccurate data or unlawful processing blocks the
        // subject's data at once, for the time of the check (D4): one block per disputed
        // category, or one for everything when none is named. Their ids go into the details so
        // that the destruction a demand asks for is not held back by the demand's own block.
        let blocks: Vec<(pdv_core::BlockId, Option<String>)> = if matches!(
            kind,
            RequestKind::Blocking | RequestKind::Rectification | RequestKind::Destruction
        ) && input.subject.is_some()
        {
            let categories: Vec<Option<String>> = if input.categories.is_empty() {
                vec![None]
            } else {
                input.categories.iter().cloned().map(Some).collect()
            };
            categories
                .into_iter()
                .map(|c| (pdv_core::BlockId(Uuid::now_v7()), c))
                .collect()
        } else {
            Vec::new()
        };
        let details = Details {
            requester: input.requester,
            identity: input.identity,
            text: input.text,
            categories: input.categories.clone(),
            blocks: blocks.iter().map(|(id, _)| *id).collect(),
        };
        let plain =
            serde_json::to_vec(&details).map_err(|e| ServiceError::Integrity(e.to_string()))?;
        let row = RequestRow {
            id,
            year,
            seq,
            kind: kind.as_str().into(),
            channel: input.channel,
            subject: input.subject,
            received_at_ms: received_at.as_millisecond(),
            rule: kind.rule().as_str().into(),
            due: deadline.due.to_string(),
            calendar,
            provisional: deadline.provisional(),
            details_ct: self.journal_seal(AAD_TABLE, id, "details", &plain),
        };
        let entry = RequestEntryRow {
            request: id,
            entry_no: 1,
            at_ms: self.now_ms(),
            actor: actor.name.clone(),
            step: "receive".into(),
            status: Status::Received.as_str().into(),
            due: None,
            details_ct: None,
        };
        tx.insert_request(&row).await?;
        tx.insert_request_entry(&entry).await?;
        let number = RequestNumber { year, seq };
        // Consent-based processing stops at once: on a demand to stop marketing (ст. 15 ч. 2),
        // a withdrawal of consent (ст. 9 ч. 2, ст. 21 ч. 5) or a demand to stop processing
        // (ст. 21 ч. 5.1). The consents go in this very transaction, so no read for those
        // purposes can succeed once the request is acknowledged. Processing on other bases
        // (a contract, a law) is not stopped here: the answer tells the subject what continues.
        let mut effects = Vec::new();
        let withdraws = |c: &pdv_store::ConsentRow| match kind {
            RequestKind::StopMarketing => c.kind == pdv_core::consent::ConsentKind::Marketing,
            RequestKind::ConsentWithdrawal => {
                input.purposes.is_empty() || c.purposes.iter().any(|p| input.purposes.contains(p))
            }
            RequestKind::StopProcessing => true,
            _ => false,
        };
        if let Some(subject) = row.subject {
            let withdrawal = pdv_store::Withdrawal {
                at_ms: self.now_ms(),
                channel: row.channel.clone(),
            };
            for c in tx.consents(subject).await? {
                if c.withdrawal.is_none() && withdraws(&c) {
                    tx.withdraw_consent(subject, c.id, &withdrawal).await?;
                    effects.push(AuditRecord {
                        operation: Some(Operation::Rectification),
                        purpose: Some(c.purposes.join(",")),
                        ..self.journal_event(
                            actor,
                            "consent.withdraw",
                            Some(subject),
                            json!({ "consent": c.id, "channel": row.channel, "request": number.to_string(), "stopped_purposes": c.purposes }),
                        )
                    });
                }
            }
        }
        // The blocks decided above; the block names the request, not its contents; lifting it
        // with the blocks API closes the check.
        if let Some(subject) = row.subject {
            for (id, category) in blocks {
                let block = pdv_store::BlockRow {
                    subject,
                    id,
                    category: category.clone(),
                    reason: format!(
                        "обращение № {number}: {} — блокирование на период проверки (ст. 21 ч. 1 152-ФЗ)",
                        kind.title()
                    ),
                    placed_at_ms: self.now_ms(),
                    lifted_at_ms: None,
                    lift_reason: None,
                };
                tx.insert_block(&block).await?;
                effects.push(AuditRecord {
                    operation: Some(Operation::Blocking),
                    ..self.journal_event(
                        actor,
                        "block.place",
                        Some(subject),
                        json!({ "block": block.id, "category": category, "request": number.to_string() }),
                    )
                });
            }
        }
        let event = self.journal_event(
            actor,
            "request.received",
            row.subject,
            json!({
                "number": number.to_string(),
                "kind": row.kind,
                "rule": row.rule,
                "due": row.due,
                "request_sha256": request_digest(&row),
                "entry_sha256": entry_digest(&entry),
            }),
        );
        // The answer is built before the commit, so that a retry with the same idempotency key
        // gets it byte for byte.
        let state = RequestState {
            status: entry.status.clone(),
            due: row.due.clone(),
            entries: 1,
            request: row,
        };
        let first = EntryView {
            entry_no: 1,
            at: self.local_time(entry.at_ms),
            actor: entry.actor.clone(),
            step: entry.step.clone(),
            status: entry.status.clone(),
            due: None,
            text: None,
        };
        let view = self.view(&state, Some((&details, vec![first])));
        self.finish_with(tx, vec![event], Some((actor, &view)))
            .await?;
        Ok(view)
    }

    async fn state_by_number(
        &self,
        tx: &mut dyn Transaction,
        number: RequestNumber,
    ) -> ServiceResult<RequestState> {
        tx.request_by_number(number.year, number.seq)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                what: "обращение",
                id: number.to_string(),
            })
    }

    /// Appends an entry the system writes itself (a retention run recording the destruction a
    /// demand asked for): a note that keeps the request's status, sealed like any other entry,
    /// and its audit event with the entry's digest, for the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn system_note(
        &self,
        tx: &mut dyn Transaction,
        actor: &str,
        request: Uuid,
        number: &str,
        subject: Option<SubjectId>,
        entry_no: u32,
        status: &str,
        text: &str,
    ) -> ServiceResult<AuditRecord> {
        let entry = RequestEntryRow {
            request,
            entry_no,
            at_ms: self.now_ms(),
            actor: actor.to_string(),
            step: Step::Note.as_str().into(),
            status: status.to_string(),
            due: None,
            details_ct: Some(self.journal_seal(
                AAD_TABLE,
                request,
                &format!("entry/{entry_no}"),
                text.as_bytes(),
            )),
        };
        tx.insert_request_entry(&entry).await?;
        Ok(AuditRecord {
            at_ms: self.now_ms(),
            actor: actor.to_string(),
            action: "request.note".into(),
            operation: Some(Operation::Recording),
            purpose: None,
            subject,
            outcome: Outcome::Done,
            details: canonical_details(&json!({
                "number": number,
                "entry": entry_no,
                "status": status,
                "due": null,
                "entry_sha256": entry_digest(&entry),
            })),
        })
    }

    pub(crate) fn details(&self, state: &RequestState) -> ServiceResult<Details> {
        let plain = self.journal_open(
            AAD_TABLE,
            state.request.id,
            "details",
            &state.request.details_ct,
        )?;
        serde_json::from_str(&plain)
            .map_err(|e| ServiceError::Integrity(format!("request details: {e}")))
    }

    /// One request with its requester and its whole history, decrypted.
    pub async fn request_view(
        &self,
        _actor: &Actor,
        number: RequestNumber,
    ) -> ServiceResult<RequestView> {
        let mut tx = self.store().begin().await?;
        let state = self.state_by_number(&mut *tx, number).await?;
        let entries = tx.request_entries(state.request.id).await?;
        drop(tx);
        let details = self.details(&state)?;
        let mut views = Vec::with_capacity(entries.len());
        for e in entries {
            let text = match &e.details_ct {
                Some(ct) => Some(self.journal_open(
                    AAD_TABLE,
                    e.request,
                    &format!("entry/{}", e.entry_no),
                    ct,
                )?),
                None => None,
            };
            views.push(EntryView {
                entry_no: e.entry_no,
                at: self.local_time(e.at_ms),
                actor: e.actor,
                step: e.step,
                status: e.status,
                due: e.due,
                text,
            });
        }
        Ok(self.view(&state, Some((&details, views))))
    }

    /// Takes a step on a request: checks it against the state machine and the law, appends the
    /// entry and audits it.
    pub async fn request_step(
        &self,
        actor: &Actor,
        number: RequestNumber,
        input: RequestStep,
    ) -> ServiceResult<RequestView> {
        let Some(step) = parse_step(&input.step) else {
            return Err(ServiceError::invalid(
                "step",
                "unknown_step",
                format!(
                    "шаг «{}» неизвестен; допустимы: check_identity, start, extend, answer, refuse, note",
                    input.step
                ),
            ));
        };
        let text = input
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if text.is_none()
            && matches!(
                step,
                Step::Extend | Step::Refuse | Step::Answer | Step::Note
            )
        {
            let why = match step {
                Step::Extend => "продление требует мотивированного уведомления: укажите причину",
                Step::Refuse => {
                    "отказ должен быть мотивированным (ст. 14 ч. 6, ст. 20 ч. 2): укажите основание"
                }
                Step::Answer => "укажите текст ответа или его краткое содержание",
                _ => "примечание не может быть пустым",
            };
            return Err(ServiceError::invalid("text", "required", why));
        }
        let mut tx = self.store().begin().await?;
        let state = self.state_by_number(&mut *tx, number).await?;
        let kind = RequestKind::parse(&state.request.kind)
            .ok_or_else(|| ServiceError::Integrity("unknown stored request kind".into()))?;
        let from = Status::parse(&state.status)
            .ok_or_else(|| ServiceError::Integrity("unknown stored request status".into()))?;
        let to = from.after(step, kind).map_err(|e| ServiceError::Conflict {
            code: e.code(),
            message: e.to_string(),
        })?;
        let due = if step == Step::Extend {
            let received = Timestamp::from_millisecond(state.request.received_at_ms)
                .map_err(|_| ServiceError::Integrity("stored receipt time".into()))?;
            let extended = deadline::compute(
                kind.rule(),
                received,
                &self.time_zone(),
                true,
                self.calendar(),
            )
            .map_err(|e| ServiceError::invalid("step", "no_deadline", e.to_string()))?;
            Some(match extended.due {
                Due::Date(d) => d.to_string(),
                Due::Instant(t) => t.to_string(),
            })
        } else {
            None
        };
        let mut identity_note = None;
        if let Some(identity) = &input.identity {
            if step != Step::CheckIdentity {
                return Err(ServiceError::invalid(
                    "identity",
                    "not_for_this_step",
                    "сведения о проверке личности указываются только на шаге check_identity",
                ));
            }
            identity_note = Some(
                serde_json::to_string(identity)
                    .map_err(|e| ServiceError::Integrity(e.to_string()))?,
            );
        }
        let entry_no = state.entries + 1;
        let body = match (text, identity_note) {
            (Some(t), Some(i)) => Some(format!("{t}\n{i}")),
            (Some(t), None) => Some(t.to_string()),
            (None, Some(i)) => Some(i),
            (None, None) => None,
        };
        let entry = RequestEntryRow {
            request: state.request.id,
            entry_no,
            at_ms: self.now_ms(),
            actor: actor.name.clone(),
            step: step.as_str().into(),
            status: to.as_str().into(),
            due: due.clone(),
            details_ct: body.map(|b| {
                self.journal_seal(
                    AAD_TABLE,
                    state.request.id,
                    &format!("entry/{entry_no}"),
                    b.as_bytes(),
                )
            }),
        };
        tx.insert_request_entry(&entry).await?;
        // The answer, the refusal and the extension notice go to the requester through the
        // outbox; without an address in the request they are only journaled.
        let details = self.details(&state)?;
        let contact = details
            .requester
            .contact
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let message = match (step, contact, text) {
            (Step::Answer, Some(to), Some(t)) => Some((
                to,
                "answer",
                format!("Ответ на обращение № {number}.\n\n{t}"),
            )),
            (Step::Refuse, Some(to), Some(t)) => Some((
                to,
                "refusal",
                format!("В удовлетворении обращения № {number} отказано.\n\nОснование: {t}"),
            )),
            (Step::Extend, Some(to), Some(t)) => Some((
                to,
                "extension_notice",
                format!(
                    "Срок ответа на обращение № {number} продлён до {} (не более чем на пять рабочих дней).\n\nПричина: {t}",
                    due.as_deref().unwrap_or("")
                ),
            )),
            _ => None,
        };
        if let Some((to, kind, body)) = message {
            self.queue_message(&mut *tx, Some(state.request.id), kind, to, &body)
                .await?;
        }
        let event = self.journal_event(
            actor,
            &format!("request.{}", step.as_str()),
            state.request.subject,
            json!({
                "number": number.to_string(),
                "entry": entry_no,
                "status": to.as_str(),
                "due": due,
                "entry_sha256": entry_digest(&entry),
            }),
        );
        self.finish(tx, vec![event]).await?;
        self.request_view(actor, number).await
    }

    /// Recomputes the due date of every open request on the calendar the vault has now (after
    /// the operator loaded a decree for a year that was provisional, say). A due date that
    /// changes gets an entry of its own, audited like any other, so the journal shows when and
    /// why the deadline moved. Returns (number, old due, new due) for each change.
    pub async fn recompute_deadlines(
        &self,
        actor: &Actor,
    ) -> ServiceResult<Vec<(String, String, String)>> {
        let open = self
            .requests(
                actor,
                RequestFilter {
                    status: Some("open".into()),
                    ..RequestFilter::default()
                },
            )
            .await?;
        let mut changed = Vec::new();
        for view in open {
            let number: RequestNumber = view
                .number
                .parse()
                .map_err(|e: String| ServiceError::Integrity(e))?;
            let mut tx = self.store().begin().await?;
            let state = self.state_by_number(&mut *tx, number).await?;
            let Some(kind) = RequestKind::parse(&state.request.kind) else {
                continue;
            };
            let entries = tx.request_entries(state.request.id).await?;
            let extended = entries.iter().any(|e| e.step == Step::Extend.as_str());
            let received = Timestamp::from_millisecond(state.request.received_at_ms)
                .map_err(|_| ServiceError::Integrity("stored receipt time".into()))?;
            let Ok(deadline) = deadline::compute(
                kind.rule(),
                received,
                &self.time_zone(),
                extended,
                self.calendar(),
            ) else {
                continue;
            };
            let due = deadline.due.to_string();
            if due == state.due {
                continue;
            }
            let entry = RequestEntryRow {
                request: state.request.id,
                entry_no: state.entries + 1,
                at_ms: self.now_ms(),
                actor: actor.name.clone(),
                step: "recompute_deadline".into(),
                status: state.status.clone(),
                due: Some(due.clone()),
                details_ct: None,
            };
            tx.insert_request_entry(&entry).await?;
            let event = self.journal_event(
                actor,
                "request.recompute_deadline",
                state.request.subject,
                json!({
                    "number": number.to_string(),
                    "entry": entry.entry_no,
                    "status": state.status,
                    "due": due,
                    "previous_due": state.due,
                    "provisional": deadline.provisional(),
                    "entry_sha256": entry_digest(&entry),
                }),
            );
            self.finish(tx, vec![event]).await?;
            changed.push((number.to_string(), state.due.clone(), due));
        }
        Ok(changed)
    }

    /// The journal, oldest first, filtered.
    pub async fn requests(
        &self,
        _actor: &Actor,
        filter: RequestFilter,
    ) -> ServiceResult<Vec<RequestView>> {
        if let Some(k) = &filter.kind
            && RequestKind::parse(k).is_none()
        {
            return Err(ServiceError::invalid(
                "kind",
                "unknown_request_kind",
                format!("вид обращения «{k}» неизвестен"),
            ));
        }
        let due_by = match filter.due_by.as_deref() {
            None => None,
            Some(d) => Some(d.parse::<jiff::civil::Date>().map_err(|_| {
                ServiceError::invalid(
                    "due_by",
                    "invalid_date",
                    format!("«{d}» — не дата ГГГГ-ММ-ДД"),
                )
            })?),
        };
        let (statuses, overdue_only) = match filter.status.as_deref() {
            None => (Vec::new(), false),
            Some("open") => (OPEN.map(|s| s.as_str().to_string()).to_vec(), false),
            Some("overdue") => (OPEN.map(|s| s.as_str().to_string()).to_vec(), true),
            Some(s) if Status::parse(s).is_some() => (vec![s.to_string()], false),
            Some(s) => {
                return Err(ServiceError::invalid(
                    "status",
                    "unknown_status",
                    format!(
                        "статус «{s}» неизвестен; допустимы open, overdue, received, identity_checked, in_progress, extended, answered, refused"
                    ),
                ));
            }
        };
        let mut out = Vec::new();
        let mut after = None;
        let mut tx = self.store().begin().await?;
        loop {
            let page = tx
                .requests(&RequestQuery {
                    kind: filter.kind.clone(),
                    subject: None,
                    statuses: statuses.clone(),
                    after,
                    limit: PAGE,
                })
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.request.year, last.request.seq));
            let full = page.len() == PAGE as usize;
            for state in &page {
                let view = self.view(state, None);
                if overdue_only && !view.overdue {
                    continue;
                }
                if let Some(by) = due_by {
                    // An hour rule's instant is compared on the operator's calendar day.
                    let day = state.due.parse::<jiff::civil::Date>().ok().or_else(|| {
                        state
                            .due
                            .parse::<Timestamp>()
                            .ok()
                            .map(|t| t.to_zoned(self.time_zone()).date())
                    });
                    if day.is_none_or(|d| d > by) {
                        continue;
                    }
                }
                out.push(view);
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }
}
