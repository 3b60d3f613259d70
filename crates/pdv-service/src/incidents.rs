//! The register of incidents (ст. 21 ч. 3.1 152-ФЗ): registering an incident with the two
//! timers the law starts at detection, working it through its notices to Roskomnadzor, and the
//! draft notices themselves.
//!
//! The model, its checks, the state machine, the timers and the drafts are `pdv_core::incident`;
//! this module stores and reads them. Like the request journal, the register is append-only: an
//! incident row is written once, and every step adds a numbered entry whose status is the
//! incident's from then on. Times, counts, categories and statuses are in clear, so the timers,
//! the lists and monitoring need no key; what happened, the causes, harm, measures, the contact
//! person, the investigation's findings and the persons it names are encrypted under the
//! journal key, bound to the incident's row. Every registration and step is audited in the same
//! transaction with the SHA-256 of the rows it wrote (never their texts), and `pdv audit verify`
//! compares the stored rows with those digests, so an incident edited, added or deleted in the
//! database is reported.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use pdv_core::Operation;
use pdv_core::audit::{AuditRecord, ChainedEvent, Outcome, canonical_details};
use pdv_core::incident::{
    self, Contact, Draft, Incident, IncidentFacts, IncidentNumber, IncidentReport, Investigation,
    NoticeKind, NoticeSent, Status, Step, StepRefused, Timer, TimerState, TimerStatus,
};
use pdv_store::{IncidentEntryRow, IncidentRow, IncidentState, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Problem, ServiceError, ServiceResult};
use crate::vault::Vault;
use crate::views::Actor;

/// The table the incidents' encrypted fields are bound to.
const AAD_TABLE: &str = "incidents";
const PAGE: u32 = 500;
/// The step of an incident's first entry.
const REGISTERED: &str = "registered";

/// The encrypted part of an incident.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Details {
    how: String,
    causes: String,
    harm: String,
    measures: String,
    contact: Contact,
}

/// The encrypted part of an entry: whatever its step records.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct EntryDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    how: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    results: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    persons: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// A step staff take on an incident.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentStep {
    /// `first_notice_sent`, `results` (record the investigation's findings), `results_sent`,
    /// `close`, `dismiss` (not an incident after all; only before any notice).
    pub step: String,
    /// For `first_notice_sent` and `results_sent`: when the notice was sent, RFC 3339 or the
    /// operator's local time (`2026-03-02 15:30`); now when absent.
    #[serde(default)]
    pub sent_at: Option<String>,
    /// For `first_notice_sent` and `results_sent`: how it was sent («портал Роскомнадзора»,
    /// «эл. почта», «заказное письмо»). Required.
    #[serde(default)]
    pub how: Option<String>,
    /// For `first_notice_sent` and `results_sent`: the number the portal or the post gave it.
    #[serde(default)]
    pub reference: Option<String>,
    /// For `results`: the results of the internal investigation. Required.
    #[serde(default)]
    pub results: Option<String>,
    /// For `results`: the persons whose actions caused the incident, if any were found.
    #[serde(default)]
    pub persons: Option<String>,
    /// For `dismiss`: why it is not an incident. Required.
    #[serde(default)]
    pub reason: Option<String>,
}

/// One timer of an incident, as lists and the due view show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TimerView {
    /// `first_notice` (24 hours, ст. 21 ч. 3.1 п. 1) or `results` (72 hours, п. 2).
    pub timer: &'static str,
    pub title: &'static str,
    pub norm: &'static str,
    /// RFC 3339, UTC.
    pub due: String,
    /// In the operator's time zone: `ДД.ММ.ГГГГ ЧЧ:ММ`.
    pub due_local: String,
    /// `pending`, `due_soon` (6 hours or less left), `overdue`, `done`, `not_required`.
    pub state: &'static str,
    pub overdue: bool,
    /// Minutes left, rounded down (pending and due soon).
    pub minutes_left: Option<i64>,
    /// Minutes past the due instant, rounded up: of an overdue timer, or of a notice sent late.
    pub minutes_late: Option<i64>,
    /// When the notice was sent, in the operator's time zone (done).
    pub sent_at: Option<String>,
    /// In words: «ПРОСРОЧЕНО на 5 ч 12 мин», «осталось 20 ч», «направлено 02.03.2026 12:00, в срок».
    pub text: String,
}

/// A notice as recorded sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NoticeView {
    /// RFC 3339, UTC.
    pub sent_at: String,
    pub sent_at_local: String,
    pub how: String,
    pub reference: Option<String>,
}

/// One line of an incident's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IncidentEntryView {
    pub entry_no: u32,
    /// When it was recorded, in the operator's time zone.
    pub at: String,
    pub actor: String,
    pub step: String,
    pub status: String,
}

/// An incident and where its timers stand. Lists carry the clear columns only; one incident's
/// view adds the texts, the notices and the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IncidentView {
    /// `YYYY-NNNNNN`.
    pub number: String,
    /// `registered`, `first_notice_sent`, `results_sent`, `closed`, `dismissed`.
    pub status: &'static str,
    pub status_title: &'static str,
    /// RFC 3339, UTC: the 24 and 72 hours run from here.
    pub detected_at: String,
    pub detected_at_local: String,
    pub registered_at: String,
    pub registered_by: String,
    pub categories: Vec<String>,
    pub subjects: u64,
    pub identifiers: u64,
    /// A notice is overdue.
    pub overdue: bool,
    /// The first notice's timer, then the results notice's.
    pub timers: Vec<TimerView>,
    /// The first timer whose notice is still to be sent.
    pub next: Option<TimerView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub how: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub causes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub harm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measures: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_notice: Option<NoticeView>,
    /// The investigation's findings, once recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persons: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results_notice: Option<NoticeView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dismissed_reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<IncidentEntryView>,
}

/// A draft notice to Roskomnadzor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NoticeDraft {
    pub number: String,
    /// `first` or `results`.
    pub kind: &'static str,
    pub title: String,
    /// When the notice is due, in the operator's time zone.
    pub due: String,
    /// The text to file, in Russian.
    pub text: String,
    /// Elements of ст. 21 ч. 3.1 not recorded yet (`first_notice`, `results`, `persons`); their
    /// place in the text is marked «[НЕ ЗАПОЛНЕНО: …]».
    pub missing: Vec<&'static str>,
}

/// Which incidents to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentFilter {
    /// `open` (not closed or dismissed), `overdue` (a notice overdue), or one status name.
    #[serde(default)]
    pub status: Option<String>,
}

fn ts(ms: i64) -> ServiceResult<Timestamp> {
    Timestamp::from_millisecond(ms)
        .map_err(|_| ServiceError::Integrity(format!("stored instant {ms} is out of range")))
}

fn digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

/// The SHA-256 of an incident row as stored, for its audit event.
fn incident_digest(r: &IncidentRow) -> String {
    let categories = r.categories.join("\n");
    digest(&[
        r.id.as_bytes(),
        &r.year.to_be_bytes(),
        &r.seq.to_be_bytes(),
        &r.detected_at_ms.to_be_bytes(),
        &r.registered_at_ms.to_be_bytes(),
        r.registered_by.as_bytes(),
        categories.as_bytes(),
        &r.subjects.to_be_bytes(),
        &r.identifiers.to_be_bytes(),
        &r.details_ct,
    ])
}

/// The SHA-256 of an entry as stored, for its audit event.
fn entry_digest(e: &IncidentEntryRow) -> String {
    let occurred = e.occurred_at_ms.map(i64::to_be_bytes);
    digest(&[
        e.incident.as_bytes(),
        &e.entry_no.to_be_bytes(),
        &e.at_ms.to_be_bytes(),
        e.actor.as_bytes(),
        e.step.as_bytes(),
        e.status.as_bytes(),
        occurred.as_ref().map_or(&[][..], |o| &o[..]),
        e.details_ct.as_deref().unwrap_or(&[]),
    ])
}

fn number_of(r: &IncidentRow) -> IncidentNumber {
    IncidentNumber {
        year: r.year,
        seq: r.seq,
    }
}

fn conflict(e: StepRefused) -> ServiceError {
    match e {
        // A notice dated before what it follows is a mistake in the input, not in the order.
        StepRefused::SentBeforeDetection | StepRefused::SentBeforeFirstNotice => {
            ServiceError::invalid("sent_at", e.code(), e.to_string())
        }
        _ => ServiceError::Conflict {
            code: e.code(),
            message: e.to_string(),
        },
    }
}

fn blank(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The statuses of open incidents, as the store filters them.
fn open_statuses() -> Vec<String> {
    Status::OPEN.map(|s| s.as_str().to_string()).to_vec()
}

/// The digests the audit trail recorded for the register, gathered while the chain is verified.
#[derive(Debug, Default)]
pub(crate) struct AuditedIncidents {
    /// Number → (audit seq, digest of the incident row).
    incidents: HashMap<String, (u64, String)>,
    /// (number, entry) → (audit seq, digest of the entry row).
    entries: HashMap<(String, u32), (u64, String)>,
}

impl AuditedIncidents {
    pub(crate) fn note(&mut self, event: &ChainedEvent) {
        if !event.record.action.starts_with("incident.") {
            return;
        }
        let Ok(details) = serde_json::from_str::<serde_json::Value>(&event.record.details) else {
            return;
        };
        let Some(number) = details["number"].as_str() else {
            return;
        };
        if let Some(d) = details["incident_sha256"].as_str() {
            self.incidents
                .insert(number.to_string(), (event.seq, d.to_string()));
        }
        if let (Some(d), Some(entry)) = (
            details["entry_sha256"].as_str(),
            details["entry"]
                .as_u64()
                .and_then(|e| u32::try_from(e).ok()),
        ) {
            self.entries
                .insert((number.to_string(), entry), (event.seq, d.to_string()));
        }
    }
}

impl Vault {
    fn incident_seal(&self, id: Uuid, field: &str, value: &impl Serialize) -> Vec<u8> {
        let plain = serde_json::to_vec(value).expect("plain data serialises");
        self.journal_seal(AAD_TABLE, id, field, &plain)
    }

    fn incident_open<T: serde::de::DeserializeOwned>(
        &self,
        id: Uuid,
        field: &str,
        ct: &[u8],
    ) -> ServiceResult<T> {
        let plain = self.journal_open(AAD_TABLE, id, field, ct)?;
        serde_json::from_str(&plain)
            .map_err(|e| ServiceError::Integrity(format!("incident {id}: {field}: {e}")))
    }

    fn incident_clock(&self) -> Timestamp {
        Timestamp::from_millisecond(self.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn incident_event(
        &self,
        actor: &Actor,
        action: &str,
        details: serde_json::Value,
    ) -> AuditRecord {
        AuditRecord {
            at_ms: self.now_ms(),
            actor: actor.name.clone(),
            action: action.into(),
            // The register records what staff report; no subject's data is touched.
            operation: Some(Operation::Recording),
            purpose: None,
            subject: None,
            outcome: Outcome::Done,
            details: canonical_details(&details),
        }
    }

    fn timer_view(&self, t: TimerStatus) -> TimerView {
        let due_ms = t.due.as_millisecond();
        let (minutes_left, minutes_late, sent_at) = match t.state {
            TimerState::Pending { left } | TimerState::DueSoon { left } => {
                (Some(left.as_mins()), None, None)
            }
            TimerState::Overdue { by } => (None, Some(ceil_minutes(by)), None),
            TimerState::Done { at, late_by } => (
                None,
                late_by.map(ceil_minutes),
                Some(self.local_time(at.as_millisecond())),
            ),
            TimerState::NotRequired => (None, None, None),
        };
        let text = match (&sent_at, t.state) {
            (Some(at), TimerState::Done { late_by: None, .. }) => {
                format!("направлено {at}, в срок")
            }
            (
                Some(at),
                TimerState::Done {
                    late_by: Some(l), ..
                },
            ) => {
                format!(
                    "направлено {at}, с опозданием на {}",
                    incident::hours_minutes(l)
                )
            }
            _ => t.state.describe(),
        };
        TimerView {
            timer: t.timer.as_str(),
            title: t.timer.title(),
            norm: t.timer.norm(),
            due: t.due.to_string(),
            due_local: self.local_time(due_ms),
            state: t.state.as_str(),
            overdue: t.state.is_overdue(),
            minutes_left,
            minutes_late,
            sent_at,
            text,
        }
    }

    /// The view of an incident from its clear columns: status, timers, counts.
    fn incident_outline(
        &self,
        state: &IncidentState,
        entries: &[IncidentEntryRow],
        now: Timestamp,
    ) -> ServiceResult<IncidentView> {
        let r = &state.incident;
        let status = Status::parse(&state.status)
            .ok_or_else(|| ServiceError::Integrity("unknown stored incident status".into()))?;
        let sent = |step: &str| -> ServiceResult<Option<Timestamp>> {
            entries
                .iter()
                .find(|e| e.step == step)
                .and_then(|e| e.occurred_at_ms)
                .map(ts)
                .transpose()
        };
        let detected = ts(r.detected_at_ms)?;
        let timers = incident::timers(
            detected,
            status,
            [sent("first_notice_sent")?, sent("results_sent")?],
            now,
        );
        let count = |n: i64| {
            u64::try_from(n).map_err(|_| ServiceError::Integrity("negative stored count".into()))
        };
        Ok(IncidentView {
            number: number_of(r).to_string(),
            status: status.as_str(),
            status_title: status.title(),
            detected_at: detected.to_string(),
            detected_at_local: self.local_time(r.detected_at_ms),
            registered_at: self.local_time(r.registered_at_ms),
            registered_by: r.registered_by.clone(),
            categories: r.categories.clone(),
            subjects: count(r.subjects)?,
            identifiers: count(r.identifiers)?,
            overdue: timers.iter().any(|t| t.state.is_overdue()),
            next: timers
                .iter()
                .find(|t| t.state.is_open())
                .map(|t| self.timer_view(*t)),
            timers: timers.iter().map(|t| self.timer_view(*t)).collect(),
            how: None,
            causes: None,
            harm: None,
            measures: None,
            contact: None,
            first_notice: None,
            results: None,
            persons: None,
            results_notice: None,
            dismissed_reason: None,
            entries: Vec::new(),
        })
    }

    /// The incident rebuilt from its rows: its texts decrypted and every entry replayed through
    /// the state machine, which must arrive where the stored statuses say.
    fn rebuild(
        &self,
        state: &IncidentState,
        entries: &[IncidentEntryRow],
    ) -> ServiceResult<Incident> {
        let r = &state.incident;
        let number = number_of(r);
        let bad = |what: String| ServiceError::Integrity(format!("incident {number}: {what}"));
        let d: Details = self.incident_open(r.id, "details", &r.details_ct)?;
        let facts = IncidentFacts {
            detected_at: ts(r.detected_at_ms)?,
            how: d.how,
            categories: r.categories.clone(),
            subjects: u64::try_from(r.subjects).map_err(|_| bad("negative count".into()))?,
            identifiers: u64::try_from(r.identifiers).map_err(|_| bad("negative count".into()))?,
            causes: d.causes,
            harm: d.harm,
            measures: d.measures,
            contact: d.contact,
        };
        let mut incident = Incident::new(number, facts);
        match entries.first() {
            Some(e) if e.entry_no == 1 && e.step == REGISTERED && e.status == REGISTERED => {}
            _ => return Err(bad("the first entry is not its registration".into())),
        }
        for (i, e) in entries.iter().enumerate().skip(1) {
            if e.entry_no as usize != i + 1 {
                return Err(bad(format!("entry {} is out of sequence", e.entry_no)));
            }
            let details: EntryDetails = match &e.details_ct {
                Some(ct) => self.incident_open(r.id, &format!("entry/{}", e.entry_no), ct)?,
                None => EntryDetails::default(),
            };
            let notice = || -> ServiceResult<NoticeSent> {
                Ok(NoticeSent {
                    at: ts(e
                        .occurred_at_ms
                        .ok_or_else(|| bad(format!("entry {} has no time", e.entry_no)))?)?,
                    how: details.how.clone().unwrap_or_default(),
                    reference: details.reference.clone(),
                })
            };
            let step = match e.step.as_str() {
                "first_notice_sent" => Step::FirstNoticeSent(notice()?),
                "results_sent" => Step::ResultsSent(notice()?),
                "results" => Step::Results(Investigation {
                    results: details.results.clone().unwrap_or_default(),
                    persons: details.persons.clone(),
                }),
                "close" => Step::Close,
                "dismiss" => Step::Dismiss {
                    reason: details.reason.clone().unwrap_or_default(),
                },
                other => return Err(bad(format!("unknown step «{other}»"))),
            };
            let status = incident
                .apply(step)
                .map_err(|why| bad(format!("entry {}: {why}", e.entry_no)))?;
            if status.as_str() != e.status {
                return Err(bad(format!(
                    "entry {} says «{}», the steps give «{}»",
                    e.entry_no,
                    e.status,
                    status.as_str()
                )));
            }
        }
        Ok(incident)
    }

    /// The full view: the outline with the texts, the notices and the history.
    fn incident_full(
        &self,
        state: &IncidentState,
        entries: &[IncidentEntryRow],
        incident: &Incident,
    ) -> ServiceResult<IncidentView> {
        let now = self.incident_clock();
        let mut view = self.incident_outline(state, entries, now)?;
        let notice = |n: &NoticeSent| NoticeView {
            sent_at: n.at.to_string(),
            sent_at_local: self.local_time(n.at.as_millisecond()),
            how: n.how.clone(),
            reference: n.reference.clone(),
        };
        let f = &incident.facts;
        view.how = Some(f.how.clone());
        view.causes = Some(f.causes.clone());
        view.harm = Some(f.harm.clone());
        view.measures = Some(f.measures.clone());
        view.contact = Some(f.contact.clone());
        view.first_notice = incident.first_notice.as_ref().map(notice);
        view.results = incident.investigation.as_ref().map(|i| i.results.clone());
        view.persons = incident
            .investigation
            .as_ref()
            .and_then(|i| i.persons.clone());
        view.results_notice = incident.results_notice.as_ref().map(notice);
        view.dismissed_reason = incident.dismissed.clone();
        view.entries = entries
            .iter()
            .map(|e| IncidentEntryView {
                entry_no: e.entry_no,
                at: self.local_time(e.at_ms),
                actor: e.actor.clone(),
                step: e.step.clone(),
                status: e.status.clone(),
            })
            .collect();
        Ok(view)
    }

    async fn incident_state(
        &self,
        tx: &mut dyn Transaction,
        number: IncidentNumber,
    ) -> ServiceResult<(IncidentState, Vec<IncidentEntryRow>)> {
        let state = tx
            .incident_by_number(number.year, number.seq)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                what: "инцидент",
                id: number.to_string(),
            })?;
        let entries = tx.incident_entries(state.incident.id).await?;
        Ok((state, entries))
    }

    /// Registers an incident: checks the report, numbers it in the year of detection, writes it
    /// with its first entry and audits it, in one transaction.
    pub async fn register_incident(
        &self,
        actor: &Actor,
        report: IncidentReport,
    ) -> ServiceResult<IncidentView> {
        let now = self.incident_clock();
        let facts = report.validate(&self.policy().policy, now).map_err(|ps| {
            ServiceError::Invalid(
                ps.into_iter()
                    .map(|p| Problem::new(p.field, p.code, p.message))
                    .collect(),
            )
        })?;
        let mut tx = self.store().begin().await?;
        self.replay(&mut *tx, actor).await?;
        let year = facts.detected_at.to_zoned(self.time_zone()).year();
        let seq = tx.next_incident_seq(year).await?;
        let id = Uuid::now_v7();
        let number = IncidentNumber { year, seq };
        let details = Details {
            how: facts.how.clone(),
            causes: facts.causes.clone(),
            harm: facts.harm.clone(),
            measures: facts.measures.clone(),
            contact: facts.contact.clone(),
        };
        let row = IncidentRow {
            id,
            year,
            seq,
            detected_at_ms: facts.detected_at.as_millisecond(),
            registered_at_ms: self.now_ms(),
            registered_by: actor.name.clone(),
            categories: facts.categories.clone(),
            subjects: i64::try_from(facts.subjects).unwrap_or(i64::MAX),
            identifiers: i64::try_from(facts.identifiers).unwrap_or(i64::MAX),
            details_ct: self.incident_seal(id, "details", &details),
        };
        let entry = IncidentEntryRow {
            incident: id,
            entry_no: 1,
            at_ms: self.now_ms(),
            actor: actor.name.clone(),
            step: REGISTERED.into(),
            status: Status::Registered.as_str().into(),
            occurred_at_ms: None,
            details_ct: None,
        };
        tx.insert_incident(&row).await?;
        tx.insert_incident_entry(&entry).await?;
        let state = IncidentState {
            incident: row.clone(),
            status: entry.status.clone(),
            entries: 1,
        };
        let entries = [entry];
        let incident = Incident::new(number, facts);
        let view = self.incident_full(&state, &entries, &incident)?;
        let event = self.incident_event(
            actor,
            "incident.registered",
            json!({
                "number": number.to_string(),
                "entry": 1,
                "status": Status::Registered.as_str(),
                "detected_at": view.detected_at,
                "categories": row.categories,
                "subjects": row.subjects,
                "identifiers": row.identifiers,
                "first_notice_due": Timer::FirstNotice.due(incident.facts.detected_at).to_string(),
                "results_due": Timer::Results.due(incident.facts.detected_at).to_string(),
                "incident_sha256": incident_digest(&row),
                "entry_sha256": entry_digest(&entries[0]),
            }),
        );
        self.finish_with(tx, vec![event], Some((actor, &view)))
            .await?;
        Ok(view)
    }

    /// Takes a step on an incident: checks it against the state machine, appends the entry and
    /// audits it.
    pub async fn incident_step(
        &self,
        actor: &Actor,
        number: IncidentNumber,
        input: IncidentStep,
    ) -> ServiceResult<IncidentView> {
        let now = self.incident_clock();
        let kinds = [
            "first_notice_sent",
            "results",
            "results_sent",
            "close",
            "dismiss",
        ];
        let Some(kind) = kinds.iter().copied().find(|k| *k == input.step) else {
            return Err(ServiceError::invalid(
                "step",
                "unknown_step",
                format!(
                    "шаг «{}» неизвестен; допустимы: {}",
                    input.step,
                    kinds.join(", ")
                ),
            ));
        };
        let is_notice = matches!(kind, "first_notice_sent" | "results_sent");
        let mut problems = Vec::new();
        for (field, given, allowed) in [
            ("sent_at", input.sent_at.is_some(), is_notice),
            ("how", input.how.is_some(), is_notice),
            ("reference", input.reference.is_some(), is_notice),
            ("results", input.results.is_some(), kind == "results"),
            ("persons", input.persons.is_some(), kind == "results"),
            ("reason", input.reason.is_some(), kind == "dismiss"),
        ] {
            if given && !allowed {
                problems.push(Problem::new(
                    field,
                    "not_for_this_step",
                    format!("поле {field} не относится к шагу {kind}"),
                ));
            }
        }
        let mut required = |field: &str, value: &Option<String>, why: &str| {
            let v = blank(value);
            if v.is_none() {
                problems.push(Problem::new(field, "required", why));
            }
            v.unwrap_or_default()
        };
        let mut details = EntryDetails::default();
        let step = match kind {
            "first_notice_sent" | "results_sent" => {
                let how = required(
                    "how",
                    &input.how,
                    "укажите, как направлено уведомление: портал Роскомнадзора, эл. почта, письмо",
                );
                let at = match input.sent_at.as_deref().map(str::trim) {
                    None | Some("") => Some(now),
                    Some(text) => match incident::parse_moment(text, &self.time_zone()) {
                        Some(t) if t > now => {
                            problems.push(Problem::new(
                                "sent_at",
                                "in_the_future",
                                "момент направления не может быть позже текущего",
                            ));
                            None
                        }
                        Some(t) => Some(t),
                        None => {
                            problems.push(Problem::new(
                                "sent_at",
                                "invalid_date",
                                format!(
                                    "«{text}» — не момент времени: RFC 3339 или местное время оператора (2026-03-02 15:30)"
                                ),
                            ));
                            None
                        }
                    },
                };
                details.how = Some(how.clone());
                details.reference = blank(&input.reference);
                let notice = NoticeSent {
                    at: at.unwrap_or(now),
                    how,
                    reference: details.reference.clone(),
                };
                if kind == "first_notice_sent" {
                    Step::FirstNoticeSent(notice)
                } else {
                    Step::ResultsSent(notice)
                }
            }
            "results" => {
                let results = required(
                    "results",
                    &input.results,
                    "укажите результаты внутреннего расследования (ст. 21 ч. 3.1 п. 2)",
                );
                details.results = Some(results.clone());
                details.persons = blank(&input.persons);
                Step::Results(Investigation {
                    results,
                    persons: details.persons.clone(),
                })
            }
            "dismiss" => {
                let reason = required(
                    "reason",
                    &input.reason,
                    "укажите, почему это не инцидент: без причины отклонить нельзя",
                );
                details.reason = Some(reason.clone());
                Step::Dismiss { reason }
            }
            _ => Step::Close,
        };
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        let mut tx = self.store().begin().await?;
        let (state, entries) = self.incident_state(&mut *tx, number).await?;
        let mut incident = self.rebuild(&state, &entries)?;
        let occurred = match &step {
            Step::FirstNoticeSent(n) | Step::ResultsSent(n) => Some(n.at.as_millisecond()),
            _ => None,
        };
        let status = incident.apply(step).map_err(conflict)?;
        let entry_no = state.entries + 1;
        let has_details =
            details.how.is_some() || details.results.is_some() || details.reason.is_some();
        let entry = IncidentEntryRow {
            incident: state.incident.id,
            entry_no,
            at_ms: self.now_ms(),
            actor: actor.name.clone(),
            step: kind.into(),
            status: status.as_str().into(),
            occurred_at_ms: occurred,
            details_ct: has_details.then(|| {
                self.incident_seal(state.incident.id, &format!("entry/{entry_no}"), &details)
            }),
        };
        tx.insert_incident_entry(&entry).await?;
        let mut event = json!({
            "number": number.to_string(),
            "entry": entry_no,
            "step": kind,
            "status": status.as_str(),
            "entry_sha256": entry_digest(&entry),
        });
        if let Some(ms) = occurred {
            let at = ts(ms)?;
            let timer = if kind == "first_notice_sent" {
                Timer::FirstNotice
            } else {
                Timer::Results
            };
            let due = timer.due(incident.facts.detected_at);
            event["sent_at"] = json!(at.to_string());
            event["due"] = json!(due.to_string());
            event["late"] = json!(at > due);
        }
        let event = self.incident_event(actor, &format!("incident.{kind}"), event);
        self.finish(tx, vec![event]).await?;
        let state = IncidentState {
            status: entry.status.clone(),
            entries: entry_no,
            ..state
        };
        let mut entries = entries;
        entries.push(entry);
        self.incident_full(&state, &entries, &incident)
    }

    /// One incident with its texts, notices and history, decrypted. Reading it is audited: the
    /// texts may name staff.
    pub async fn incident(
        &self,
        actor: &Actor,
        number: IncidentNumber,
    ) -> ServiceResult<IncidentView> {
        let mut tx = self.store().begin().await?;
        let (state, entries) = self.incident_state(&mut *tx, number).await?;
        let incident = self.rebuild(&state, &entries)?;
        let view = self.incident_full(&state, &entries, &incident)?;
        let event = self.security_event(
            &actor.name,
            "incident.viewed",
            Outcome::Done,
            json!({ "number": number.to_string() }),
        );
        self.finish(tx, vec![event]).await?;
        Ok(view)
    }

    /// The draft of a notice to Roskomnadzor about an incident, with every element of
    /// ст. 21 ч. 3.1. Preparing it decrypts the incident and is audited.
    pub async fn incident_notice(
        &self,
        actor: &Actor,
        number: IncidentNumber,
        kind: NoticeKind,
    ) -> ServiceResult<NoticeDraft> {
        let mut tx = self.store().begin().await?;
        let (state, entries) = self.incident_state(&mut *tx, number).await?;
        let incident = self.rebuild(&state, &entries)?;
        let Draft {
            title,
            text,
            missing,
            ..
        } = incident::draft(
            kind,
            &incident,
            &self.policy().policy,
            &self.time_zone(),
            self.incident_clock(),
        );
        let event = self.security_event(
            &actor.name,
            "incident.notice_drafted",
            Outcome::Done,
            json!({ "number": number.to_string(), "kind": kind.as_str(), "missing": missing }),
        );
        self.finish(tx, vec![event]).await?;
        Ok(NoticeDraft {
            number: number.to_string(),
            kind: kind.as_str(),
            title,
            due: self.local_time(
                kind.timer()
                    .due(incident.facts.detected_at)
                    .as_millisecond(),
            ),
            text,
            missing,
        })
    }

    /// Every incident (or those of `statuses`) with its entries, by number.
    async fn incident_rows(
        &self,
        statuses: &[String],
    ) -> ServiceResult<Vec<(IncidentState, Vec<IncidentEntryRow>)>> {
        let mut tx = self.store().begin().await?;
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = tx.incidents(after, PAGE, statuses).await?;
            let Some(last) = page.last() else { break };
            after = Some((last.incident.year, last.incident.seq));
            let full = page.len() == PAGE as usize;
            for state in page {
                let entries = tx.incident_entries(state.incident.id).await?;
                out.push((state, entries));
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// The register, by number, without the texts.
    pub async fn incidents(
        &self,
        _actor: &Actor,
        filter: IncidentFilter,
    ) -> ServiceResult<Vec<IncidentView>> {
        let (statuses, overdue_only) = match filter.status.as_deref() {
            None => (Vec::new(), false),
            Some("open") => (open_statuses(), false),
            Some("overdue") => (open_statuses(), true),
            Some(s) if Status::parse(s).is_some() => (vec![s.to_string()], false),
            Some(s) => {
                return Err(ServiceError::invalid(
                    "status",
                    "unknown_status",
                    format!(
                        "статус «{s}» неизвестен; допустимы open, overdue, {}",
                        Status::ALL.map(Status::as_str).join(", ")
                    ),
                ));
            }
        };
        let now = self.incident_clock();
        let mut out = Vec::new();
        for (state, entries) in self.incident_rows(&statuses).await? {
            let view = self.incident_outline(&state, &entries, now)?;
            if !overdue_only || view.overdue {
                out.push(view);
            }
        }
        Ok(out)
    }

    /// Open incidents with a notice still to send at `at` (RFC 3339 or the operator's local
    /// time; now when `None`), most urgent first: by the due instant of the next notice, so the
    /// overdue come before the due soon.
    pub async fn incidents_due(
        &self,
        _actor: &Actor,
        at: Option<&str>,
    ) -> ServiceResult<Vec<IncidentView>> {
        let at = match at {
            None => self.incident_clock(),
            Some(text) => incident::parse_moment(text, &self.time_zone()).ok_or_else(|| {
                ServiceError::invalid(
                    "at",
                    "invalid_date",
                    format!(
                        "«{text}» — не момент времени: RFC 3339 (2026-03-03T10:00:00+03:00) или местное время оператора (2026-03-03 10:00)"
                    ),
                )
            })?,
        };
        let mut due = Vec::new();
        for (state, entries) in self.incident_rows(&open_statuses()).await? {
            let view = self.incident_outline(&state, &entries, at)?;
            if view.next.is_some() {
                due.push(view);
            }
        }
        due.sort_by(|a, b| {
            let key = |v: &IncidentView| v.next.as_ref().map(|n| n.due.clone());
            // RFC 3339 in UTC with the same precision sorts as text.
            key(a).cmp(&key(b)).then_with(|| a.number.cmp(&b.number))
        });
        Ok(due)
    }

    /// Open incidents and those with a notice overdue, for monitoring: read outside any write
    /// transaction from the clear columns.
    pub(crate) async fn incident_gauges(&self) -> ServiceResult<(u64, u64)> {
        let now = self.incident_clock();
        let rows = self.store().incident_statuses(&open_statuses()).await?;
        let mut overdue = 0;
        for (detected_ms, status) in &rows {
            let status = Status::parse(status)
                .ok_or_else(|| ServiceError::Integrity("unknown stored incident status".into()))?;
            if incident::overdue(ts(*detected_ms)?, status, now) {
                overdue += 1;
            }
        }
        Ok((rows.len() as u64, overdue))
    }

    /// Compares every incident row and entry with the digest its audit event recorded: the first
    /// that was changed, added or removed outside pdvault, with the audit event to look at.
    pub(crate) async fn verify_incidents(
        &self,
        audited: &AuditedIncidents,
    ) -> ServiceResult<Option<(u64, String)>> {
        let mut seen = HashSet::new();
        for (state, entries) in self.incident_rows(&[]).await? {
            let number = number_of(&state.incident).to_string();
            match audited.incidents.get(&number) {
                Some((_, d)) if *d == incident_digest(&state.incident) => {}
                Some((seq, _)) => {
                    return Ok(Some((
                        *seq,
                        format!("инцидент № {number} изменён в базе после регистрации"),
                    )));
                }
                None => {
                    return Ok(Some((
                        0,
                        format!(
                            "инцидента № {number} нет в журнале аудита: он внесён в базу в обход pdvault"
                        ),
                    )));
                }
            }
            for e in &entries {
                seen.insert((number.clone(), e.entry_no));
                match audited.entries.get(&(number.clone(), e.entry_no)) {
                    Some((_, d)) if *d == entry_digest(e) => {}
                    Some((seq, _)) => {
                        return Ok(Some((
                            *seq,
                            format!(
                                "запись {} инцидента № {number} изменена в базе: реестр инцидентов только дополняется",
                                e.entry_no
                            ),
                        )));
                    }
                    None => {
                        return Ok(Some((
                            0,
                            format!(
                                "записи {} инцидента № {number} нет в журнале аудита: она внесена в обход pdvault",
                                e.entry_no
                            ),
                        )));
                    }
                }
            }
        }
        let gone = audited
            .entries
            .iter()
            .filter(|(key, _)| !seen.contains(*key))
            .map(|((n, e), (seq, _))| (*seq, n.clone(), *e))
            .min();
        Ok(gone.map(|(seq, number, entry)| {
            (
                seq,
                format!(
                    "запись {entry} инцидента № {number} удалена из базы, хотя есть в журнале аудита"
                ),
            )
        }))
    }
}

/// Minutes in a duration, rounded up: a notice one second late is a minute late.
fn ceil_minutes(d: jiff::SignedDuration) -> i64 {
    let secs = d.as_secs() + i64::from(d.subsec_nanos() > 0);
    secs.div_euclid(60) + i64::from(secs.rem_euclid(60) > 0)
}
