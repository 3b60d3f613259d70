//! Incidents (ст. 21 ч. 3.1 152-ФЗ): an unlawful or accidental transfer (provision,
//! dissemination, access) of personal data that violated subjects' rights, as the operator's
//! register of incidents holds it: what staff report and how it is checked at the boundary, the
//! incident's life as a closed state machine, the two timers the law starts at detection, and the
//! draft notices to Roskomnadzor with every element the law asks for.
//!
//! **The two timers** are the two stages of rule D7 of the deadline table
//! ([`crate::deadline::RULES`]), with their norms: the first notice within 24 hours of detection
//! (ч. 3.1 п. 1), the results of the internal investigation within 72 hours (ч. 3.1 п. 2). They
//! run in real hours from the moment of detection, not in working days, so a notice is due at
//! night and on holidays alike. A notice sent at the due instant itself is in time; a timer is
//! overdue from the first moment after it.
//!
//! **The state machine** ([`Incident::apply`]) is the one place that says which step may follow
//! which:
//!
//! ```text
//! registered ──first_notice_sent──► first_notice_sent ──results_sent──► results_sent ──close──► closed
//!     │                                                  (needs results)
//!     └──dismiss (with a reason; only before any notice)──► dismissed
//! ```
//!
//! `results` (the investigation's findings and the persons whose actions caused the incident)
//! may be recorded at any open stage before the results notice is sent, even before the first
//! notice: an investigation can end within the first day. A later `results` replaces an earlier
//! one until the notice is sent; after that they are fixed. The results notice cannot be sent
//! before the first notice (the law's second notice adds to the first) nor without recorded
//! results. An incident is closed once both notices are sent. An incident that turns out not to
//! be one (nothing left the operator, no rights were violated) may be dismissed with a reason, but
//! only while Roskomnadzor has not been notified: once the first notice is sent, the incident is
//! worked to the results notice.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::deadline::{RuleId, Stage, Term};
use crate::law;
use crate::policy::Policy;

/// The deadline rule of incidents, whose two stages are the two timers.
pub const RULE: RuleId = RuleId::D7;

/// How long before its due instant a timer counts as due soon. Not a legal number: how early
/// the operator's staff should be alarmed.
pub const DUE_SOON: SignedDuration = SignedDuration::from_hours(6);

/// One of the two notices the law requires, and the timer that runs for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timer {
    /// The first notice: the incident, its presumed causes and harm, the measures taken and
    /// the contact person (ч. 3.1 п. 1), within 24 hours.
    FirstNotice,
    /// The results of the internal investigation and the persons whose actions caused the
    /// incident (ч. 3.1 п. 2), within 72 hours.
    Results,
}

impl Timer {
    pub const ALL: [Timer; 2] = [Timer::FirstNotice, Timer::Results];

    /// The stage of rule D7 this timer counts.
    pub fn stage(self) -> &'static Stage {
        &RULE.rule().stages[self as usize]
    }

    /// The period from detection, as the deadline table gives it.
    pub fn period(self) -> SignedDuration {
        match self.stage().term {
            Term::Hours(h) => SignedDuration::from_hours(i64::from(h)),
            // The table gives D7 in hours (a test holds it to that); anything else would make
            // the notice due at once, which errs on the early side.
            _ => SignedDuration::ZERO,
        }
    }

    /// When the notice is due for an incident detected at `detected_at`.
    pub fn due(self, detected_at: Timestamp) -> Timestamp {
        detected_at
            .checked_add(self.period())
            .unwrap_or(Timestamp::MAX)
    }

    pub fn norm(self) -> &'static str {
        self.stage().norm
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Timer::FirstNotice => "first_notice",
            Timer::Results => "results",
        }
    }

    pub fn parse(s: &str) -> Option<Timer> {
        Timer::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The notice's name, in Russian.
    pub fn title(self) -> &'static str {
        match self {
            Timer::FirstNotice => "первичное уведомление",
            Timer::Results => "уведомление о результатах внутреннего расследования",
        }
    }
}

/// Where one timer stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TimerState {
    /// Not sent, more than [`DUE_SOON`] left.
    Pending { left: SignedDuration },
    /// Not sent, at most [`DUE_SOON`] left (zero at the due instant itself).
    DueSoon { left: SignedDuration },
    /// Not sent, and the due instant has passed.
    Overdue { by: SignedDuration },
    /// Sent at `at`; `late_by` is how long after the due instant, if it was late.
    Done {
        at: Timestamp,
        late_by: Option<SignedDuration>,
    },
    /// The incident was dismissed before any notice: none is required.
    NotRequired,
}

impl TimerState {
    /// The state of a timer due at `due`, sent at `done` (if it was), at `now`.
    pub fn at(due: Timestamp, done: Option<Timestamp>, now: Timestamp) -> TimerState {
        if let Some(at) = done {
            let late = at.duration_since(due);
            return TimerState::Done {
                at,
                late_by: late.is_positive().then_some(late),
            };
        }
        let left = due.duration_since(now);
        if left.is_negative() {
            TimerState::Overdue { by: -left }
        } else if left <= DUE_SOON {
            TimerState::DueSoon { left }
        } else {
            TimerState::Pending { left }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TimerState::Pending { .. } => "pending",
            TimerState::DueSoon { .. } => "due_soon",
            TimerState::Overdue { .. } => "overdue",
            TimerState::Done { .. } => "done",
            TimerState::NotRequired => "not_required",
        }
    }

    pub fn is_overdue(self) -> bool {
        matches!(self, TimerState::Overdue { .. })
    }

    /// Whether the notice is still to be sent.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TimerState::Pending { .. } | TimerState::DueSoon { .. } | TimerState::Overdue { .. }
        )
    }

    /// The state in words, in Russian. Overdue reads «ПРОСРОЧЕНО на 5 ч 12 мин» so that nobody
    /// mistakes it; the time a notice was sent is added by the caller, who knows the zone.
    pub fn describe(self) -> String {
        match self {
            TimerState::Pending { left } => format!("осталось {}", hours_minutes(left)),
            TimerState::DueSoon { left } => {
                format!("СРОК ИСТЕКАЕТ: осталось {}", hours_minutes(left))
            }
            TimerState::Overdue { by } => format!("ПРОСРОЧЕНО на {}", hours_minutes(by)),
            TimerState::Done { late_by: None, .. } => "направлено в срок".into(),
            TimerState::Done {
                late_by: Some(late),
                ..
            } => format!("направлено с опозданием на {}", hours_minutes(late)),
            TimerState::NotRequired => "не требуется: инцидент не подтвердился".into(),
        }
    }
}

/// A duration in hours and minutes, rounded up to the minute: «5 ч 12 мин», «3 мин», «0 мин».
/// Rounding up means an overdue notice never looks less late than it is, and time left never
/// looks longer.
pub fn hours_minutes(d: SignedDuration) -> String {
    let secs = d.as_secs().unsigned_abs() + u64::from(d.subsec_nanos() != 0);
    let mins = secs.div_ceil(60);
    match (mins / 60, mins % 60) {
        (0, m) => format!("{m} мин"),
        (h, 0) => format!("{h} ч"),
        (h, m) => format!("{h} ч {m} мин"),
    }
}

/// Where an incident stands. Only [`Incident::apply`] moves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Registered,
    FirstNoticeSent,
    ResultsSent,
    Closed,
    /// Not an incident after all, decided before any notice was sent.
    Dismissed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Registered,
        Status::FirstNoticeSent,
        Status::ResultsSent,
        Status::Closed,
        Status::Dismissed,
    ];

    /// The statuses in which something is still to be done.
    pub const OPEN: [Status; 3] = [
        Status::Registered,
        Status::FirstNoticeSent,
        Status::ResultsSent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Registered => "registered",
            Status::FirstNoticeSent => "first_notice_sent",
            Status::ResultsSent => "results_sent",
            Status::Closed => "closed",
            Status::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn title(self) -> &'static str {
        match self {
            Status::Registered => "зарегистрирован",
            Status::FirstNoticeSent => "первичное уведомление направлено",
            Status::ResultsSent => "результаты расследования направлены",
            Status::Closed => "закрыт",
            Status::Dismissed => "не подтвердился",
        }
    }

    pub fn is_open(self) -> bool {
        !matches!(self, Status::Closed | Status::Dismissed)
    }
}

/// Whether an incident detected at `detected_at` and standing at `status` has a notice overdue
/// at `now`: what monitoring counts without reading the incident's texts.
pub fn overdue(detected_at: Timestamp, status: Status, now: Timestamp) -> bool {
    let past = |t: Timer| now > t.due(detected_at);
    match status {
        Status::Registered => past(Timer::FirstNotice) || past(Timer::Results),
        Status::FirstNoticeSent => past(Timer::Results),
        Status::ResultsSent | Status::Closed | Status::Dismissed => false,
    }
}

/// The person authorised by the operator to interact with Roskomnadzor on the incident
/// (ч. 3.1 п. 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Surname, name, patronymic.
    pub name: String,
    #[serde(default)]
    pub position: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl Contact {
    /// The operator's responsible person (ст. 22.1), the default contact.
    pub fn responsible_person(policy: &Policy) -> Contact {
        let p = &policy.operator.responsible_person;
        Contact {
            name: p.name.clone(),
            position: Some(p.position.clone()),
            phone: p.phone.clone(),
            email: Some(p.email.to_string()),
        }
    }

    /// «Петрова Мария Ивановна, ответственный…, тел. …, эл. почта …».
    pub fn line(&self) -> String {
        let mut parts = vec![self.name.clone()];
        for (label, value) in [
            ("", &self.position),
            ("тел. ", &self.phone),
            ("эл. почта ", &self.email),
        ] {
            if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                parts.push(format!("{label}{v}"));
            }
        }
        parts.join(", ")
    }
}

/// An incident as staff report it: the input of registration, over the API or from a file,
/// before any check. Every text is required; the contact defaults to the operator's
/// responsible person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentReport {
    /// When the operator detected the incident: RFC 3339 (`2026-03-02T10:00:00+03:00`), or a
    /// local date and time in the operator's time zone (`2026-03-02 10:00`). Not in the future.
    /// The 24 and 72 hours run from here.
    #[serde(default)]
    pub detected_at: String,
    /// What happened and how it was detected.
    #[serde(default)]
    pub how: String,
    /// The categories of personal data concerned: ids of the policy's categories.
    #[serde(default)]
    pub categories: Vec<String>,
    /// How many subjects are concerned; an estimate is allowed, a negative number is not.
    #[serde(default)]
    pub subjects: Option<i64>,
    /// How many identifiers (accounts, e-mail addresses, phone numbers, records) are concerned.
    #[serde(default)]
    pub identifiers: Option<i64>,
    /// The presumed causes that led to the violation of subjects' rights.
    #[serde(default)]
    pub causes: String,
    /// The presumed harm done to subjects' rights.
    #[serde(default)]
    pub harm: String,
    /// The measures taken to remove the incident's consequences.
    #[serde(default)]
    pub measures: String,
    /// The person authorised to interact with Roskomnadzor on the incident; the operator's
    /// responsible person when absent.
    #[serde(default)]
    pub contact: Option<Contact>,
}

/// A problem with the input, tied to its field: what the service turns into a problem+json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldProblem {
    fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        FieldProblem {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// What is known of an incident at registration, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentFacts {
    pub detected_at: Timestamp,
    pub how: String,
    pub categories: Vec<String>,
    pub subjects: u64,
    pub identifiers: u64,
    pub causes: String,
    pub harm: String,
    pub measures: String,
    pub contact: Contact,
}

/// Parses a moment given by staff: RFC 3339 with an offset, or a local date and time (`T` or a
/// space between them, seconds optional) in the operator's zone.
pub fn parse_moment(text: &str, zone: &TimeZone) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    let civil: jiff::civil::DateTime = text.replacen(' ', "T", 1).parse().ok()?;
    civil.to_zoned(zone.clone()).ok().map(|z| z.timestamp())
}

fn text_problem(field: &str, value: &str, what: &str, out: &mut Vec<FieldProblem>) -> String {
    let v = value.trim();
    if v.is_empty() {
        out.push(FieldProblem::new(field, "required", what.to_string()));
    }
    v.to_string()
}

fn count(field: &str, value: Option<i64>, what: &str, out: &mut Vec<FieldProblem>) -> u64 {
    match value {
        None => {
            out.push(FieldProblem::new(
                field,
                "required",
                format!("укажите {what} (число, можно оценку)"),
            ));
            0
        }
        Some(n) if n < 0 => {
            out.push(FieldProblem::new(
                field,
                "negative_count",
                format!("{what} не может быть отрицательным: {n}"),
            ));
            0
        }
        Some(n) => n.unsigned_abs(),
    }
}

impl IncidentReport {
    /// Checks the report against the policy at `now` (the moment of registration) and returns
    /// the facts, or every problem found, each with its field.
    pub fn validate(
        &self,
        policy: &Policy,
        now: Timestamp,
    ) -> Result<IncidentFacts, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let zone = TimeZone::get(&policy.operator.time_zone).unwrap_or(TimeZone::UTC);
        let detected_at = if self.detected_at.trim().is_empty() {
            problems.push(FieldProblem::new(
                "detected_at",
                "required",
                "укажите, когда инцидент выявлен: от этого момента считаются 24 и 72 часа",
            ));
            None
        } else {
            match parse_moment(&self.detected_at, &zone) {
                None => {
                    problems.push(FieldProblem::new(
                        "detected_at",
                        "invalid_date",
                        format!(
                            "«{}» — не момент времени: RFC 3339 (2026-03-02T10:00:00+03:00) или местное время оператора (2026-03-02 10:00)",
                            self.detected_at
                        ),
                    ));
                    None
                }
                Some(t) if t > now => {
                    problems.push(FieldProblem::new(
                        "detected_at",
                        "in_the_future",
                        "момент выявления не может быть позже текущего",
                    ));
                    None
                }
                Some(t) => Some(t),
            }
        };
        let how = text_problem(
            "how",
            &self.how,
            "опишите, что произошло и как инцидент выявлен",
            &mut problems,
        );
        if self.categories.is_empty() {
            problems.push(FieldProblem::new(
                "categories",
                "required",
                "укажите категории персональных данных, которых касается инцидент",
            ));
        }
        let mut categories: Vec<String> = Vec::new();
        for (i, c) in self.categories.iter().enumerate() {
            let c = c.trim();
            if policy.category(c).is_none() {
                problems.push(FieldProblem::new(
                    format!("categories[{i}]"),
                    "unknown_category",
                    format!(
                        "категория «{c}» не объявлена в политике оператора; допустимы: {}",
                        policy
                            .categories
                            .iter()
                            .map(|c| c.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            } else if categories.iter().any(|x| x == c) {
                problems.push(FieldProblem::new(
                    format!("categories[{i}]"),
                    "duplicate_category",
                    format!("категория «{c}» указана дважды"),
                ));
            } else {
                categories.push(c.to_string());
            }
        }
        let subjects = count("subjects", self.subjects, "число субъектов", &mut problems);
        let identifiers = count(
            "identifiers",
            self.identifiers,
            "число идентификаторов",
            &mut problems,
        );
        let causes = text_problem(
            "causes",
            &self.causes,
            "укажите предполагаемые причины, повлёкшие нарушение прав субъектов (ст. 21 ч. 3.1 п. 1)",
            &mut problems,
        );
        let harm = text_problem(
            "harm",
            &self.harm,
            "укажите предполагаемый вред, нанесённый правам субъектов (ст. 21 ч. 3.1 п. 1)",
            &mut problems,
        );
        let measures = text_problem(
            "measures",
            &self.measures,
            "укажите принятые меры по устранению последствий (ст. 21 ч. 3.1 п. 1)",
            &mut problems,
        );
        let contact = match &self.contact {
            None => Contact::responsible_person(policy),
            Some(c) => {
                let trim = |v: &Option<String>| {
                    v.as_deref()
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(str::to_string)
                };
                let contact = Contact {
                    name: text_problem(
                        "contact.name",
                        &c.name,
                        "укажите ФИО лица, уполномоченного на взаимодействие с Роскомнадзором",
                        &mut problems,
                    ),
                    position: trim(&c.position),
                    phone: trim(&c.phone),
                    email: trim(&c.email),
                };
                if contact.phone.is_none() && contact.email.is_none() {
                    problems.push(FieldProblem::new(
                        "contact.phone",
                        "required",
                        "укажите телефон или адрес эл. почты уполномоченного лица: Роскомнадзор свяжется с ним",
                    ));
                }
                contact
            }
        };
        match detected_at {
            Some(detected_at) if problems.is_empty() => Ok(IncidentFacts {
                detected_at,
                how,
                categories,
                subjects,
                identifiers,
                causes,
                harm,
                measures,
                contact,
            }),
            _ => Err(problems),
        }
    }
}

/// A notice as the operator sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeSent {
    /// When it was sent (filed on the portal, handed over, posted).
    pub at: Timestamp,
    /// How it was sent: «портал Роскомнадзора», «эл. почта», «заказное письмо»…
    pub how: String,
    /// The number Roskomnadzor's portal or the post gave it, if any.
    pub reference: Option<String>,
}

/// The findings of the internal investigation (ч. 3.1 п. 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Investigation {
    pub results: String,
    /// The persons whose actions caused the incident, if any were found.
    pub persons: Option<String>,
}

/// A step that moves an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    FirstNoticeSent(NoticeSent),
    /// Records (or replaces, until the results notice is sent) the investigation's findings.
    Results(Investigation),
    ResultsSent(NoticeSent),
    Close,
    /// Not an incident after all; only before any notice.
    Dismiss {
        reason: String,
    },
}

impl Step {
    pub fn as_str(&self) -> &'static str {
        match self {
            Step::FirstNoticeSent(_) => "first_notice_sent",
            Step::Results(_) => "results",
            Step::ResultsSent(_) => "results_sent",
            Step::Close => "close",
            Step::Dismiss { .. } => "dismiss",
        }
    }
}

/// Why a step was refused; the message is for the staff member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepRefused {
    #[error("инцидент закрыт (статус «{}»): шаги по нему больше не принимаются", .0.title())]
    Closed(Status),
    #[error("первичное уведомление уже отмечено направленным")]
    FirstNoticeAlreadySent,
    #[error(
        "уведомление о результатах нельзя направить раньше первичного (ст. 21 ч. 3.1): сначала отметьте первичное уведомление"
    )]
    FirstNoticeNotSent,
    #[error("результаты внутреннего расследования не внесены: внесите их перед уведомлением")]
    NoResults,
    #[error(
        "уведомление о результатах уже направлено: результаты расследования больше не меняются"
    )]
    ResultsAlreadySent,
    #[error(
        "инцидент закрывается после уведомления о результатах расследования; если он не подтвердился и Роскомнадзор не уведомлялся — dismiss с причиной"
    )]
    ResultsNotSent,
    #[error(
        "Роскомнадзор уже уведомлён об инциденте: его нельзя отклонить, доведите его до уведомления о результатах расследования"
    )]
    AlreadyNotified,
    #[error("момент направления не может быть раньше момента выявления инцидента")]
    SentBeforeDetection,
    #[error("уведомление о результатах не может быть направлено раньше первичного")]
    SentBeforeFirstNotice,
}

impl StepRefused {
    pub fn code(&self) -> &'static str {
        match self {
            StepRefused::Closed(_) => "incident_closed",
            StepRefused::FirstNoticeAlreadySent => "first_notice_already_sent",
            StepRefused::FirstNoticeNotSent => "first_notice_not_sent",
            StepRefused::NoResults => "no_results",
            StepRefused::ResultsAlreadySent => "results_already_sent",
            StepRefused::ResultsNotSent => "results_not_sent",
            StepRefused::AlreadyNotified => "already_notified",
            StepRefused::SentBeforeDetection => "sent_before_detection",
            StepRefused::SentBeforeFirstNotice => "sent_before_first_notice",
        }
    }
}

/// An incident's number in the register: the year of detection and a running number within it,
/// written `2026-000001` like the journal's requests and the destruction acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IncidentNumber {
    pub year: i16,
    pub seq: u32,
}

impl std::fmt::Display for IncidentNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:06}", self.year, self.seq)
    }
}

impl std::str::FromStr for IncidentNumber {
    type Err = String;

    fn from_str(s: &str) -> Result<IncidentNumber, String> {
        let bad = || format!("номер инцидента «{s}» не в виде ГГГГ-НННННН, например 2026-000001");
        let (year, seq) = s.trim().split_once('-').ok_or_else(bad)?;
        if year.len() != 4
            || seq.is_empty()
            || seq.len() > 9
            || !seq.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let year: i16 = year.parse().map_err(|_| bad())?;
        let seq: u32 = seq.parse().map_err(|_| bad())?;
        if seq == 0 {
            return Err(bad());
        }
        Ok(IncidentNumber { year, seq })
    }
}

/// One timer of an incident at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimerStatus {
    pub timer: Timer,
    pub due: Timestamp,
    pub state: TimerState,
}

/// Both timers of an incident detected at `detected_at`, standing at `status`, whose first and
/// results notices were sent at `sent` (if they were), at `now`. [`Incident::timers`] in terms a
/// list can give without reading the incident's texts.
pub fn timers(
    detected_at: Timestamp,
    status: Status,
    sent: [Option<Timestamp>; 2],
    now: Timestamp,
) -> [TimerStatus; 2] {
    Timer::ALL.map(|timer| {
        let due = timer.due(detected_at);
        let sent = sent[timer as usize];
        let state = if status == Status::Dismissed && sent.is_none() {
            TimerState::NotRequired
        } else {
            TimerState::at(due, sent, now)
        };
        TimerStatus { timer, due, state }
    })
}

/// An incident with everything recorded about it so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub number: IncidentNumber,
    pub facts: IncidentFacts,
    pub status: Status,
    pub first_notice: Option<NoticeSent>,
    pub investigation: Option<Investigation>,
    pub results_notice: Option<NoticeSent>,
    /// Why it was dismissed, if it was.
    pub dismissed: Option<String>,
}

impl Incident {
    /// A newly registered incident.
    pub fn new(number: IncidentNumber, facts: IncidentFacts) -> Incident {
        Incident {
            number,
            facts,
            status: Status::Registered,
            first_notice: None,
            investigation: None,
            results_notice: None,
            dismissed: None,
        }
    }

    /// Whether `step` may follow now, and the status it leads to. A notice dated in the future
    /// is the caller's to refuse: it knows the clock.
    pub fn check(&self, step: &Step) -> Result<Status, StepRefused> {
        use Status::*;
        if !self.status.is_open() {
            return Err(StepRefused::Closed(self.status));
        }
        let detected = self.facts.detected_at;
        match (step, self.status) {
            (Step::FirstNoticeSent(_), FirstNoticeSent | ResultsSent) => {
                Err(StepRefused::FirstNoticeAlreadySent)
            }
            (Step::FirstNoticeSent(n), _) if n.at < detected => {
                Err(StepRefused::SentBeforeDetection)
            }
            (Step::FirstNoticeSent(_), _) => Ok(FirstNoticeSent),
            (Step::Results(_), ResultsSent) => Err(StepRefused::ResultsAlreadySent),
            (Step::Results(_), s) => Ok(s),
            (Step::ResultsSent(_), ResultsSent) => Err(StepRefused::ResultsAlreadySent),
            (Step::ResultsSent(_), Registered) => Err(StepRefused::FirstNoticeNotSent),
            (Step::ResultsSent(_), _) if self.investigation.is_none() => {
                Err(StepRefused::NoResults)
            }
            (Step::ResultsSent(n), _)
                if self.first_notice.as_ref().is_some_and(|f| n.at < f.at) =>
            {
                Err(StepRefused::SentBeforeFirstNotice)
            }
            (Step::ResultsSent(_), _) => Ok(ResultsSent),
            (Step::Close, ResultsSent) => Ok(Closed),
            (Step::Close, _) => Err(StepRefused::ResultsNotSent),
            (Step::Dismiss { .. }, Registered) => Ok(Dismissed),
            (Step::Dismiss { .. }, _) => Err(StepRefused::AlreadyNotified),
        }
    }

    /// Takes `step`: the one place an incident moves. Returns the new status.
    pub fn apply(&mut self, step: Step) -> Result<Status, StepRefused> {
        let status = self.check(&step)?;
        match step {
            Step::FirstNoticeSent(n) => self.first_notice = Some(n),
            Step::Results(i) => self.investigation = Some(i),
            Step::ResultsSent(n) => self.results_notice = Some(n),
            Step::Close => {}
            Step::Dismiss { reason } => self.dismissed = Some(reason),
        }
        self.status = status;
        Ok(status)
    }

    /// Both timers at `now`.
    pub fn timers(&self, now: Timestamp) -> [TimerStatus; 2] {
        timers(
            self.facts.detected_at,
            self.status,
            [&self.first_notice, &self.results_notice].map(|n| n.as_ref().map(|n| n.at)),
            now,
        )
    }

    /// The first timer whose notice is still to be sent, if any.
    pub fn next_timer(&self, now: Timestamp) -> Option<TimerStatus> {
        self.timers(now).into_iter().find(|t| t.state.is_open())
    }

    /// Whether a notice is overdue at `now`.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.timers(now).iter().any(|t| t.state.is_overdue())
    }
}

/// Which draft notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// Within 24 hours: ч. 3.1 п. 1.
    First,
    /// Within 72 hours: ч. 3.1 п. 2.
    Results,
}

impl NoticeKind {
    pub fn parse(s: &str) -> Option<NoticeKind> {
        match s {
            "first" => Some(NoticeKind::First),
            "results" => Some(NoticeKind::Results),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::First => "first",
            NoticeKind::Results => "results",
        }
    }

    pub fn timer(self) -> Timer {
        match self {
            NoticeKind::First => Timer::FirstNotice,
            NoticeKind::Results => Timer::Results,
        }
    }
}

/// A draft notice to Roskomnadzor: the text, and what it still lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Draft {
    pub kind: NoticeKind,
    pub title: String,
    pub text: String,
    /// The elements of ст. 21 ч. 3.1 the text has no value for yet (their place is marked
    /// «[НЕ ЗАПОЛНЕНО: …]» in the text); empty when the notice is complete.
    pub missing: Vec<&'static str>,
}

/// A period in whole hours after «в течение»: «24 часов», «21 часа».
fn within(d: SignedDuration) -> String {
    let n = d.as_hours();
    let word = if n % 10 == 1 && n % 100 != 11 {
        "часа"
    } else {
        "часов"
    };
    format!("{n} {word}")
}

/// The placeholder for an element not recorded yet.
const BLANK: &str = "[НЕ ЗАПОЛНЕНО";

fn local(t: Timestamp, zone: &TimeZone) -> String {
    let z = t.to_zoned(zone.clone());
    let name = zone
        .iana_name()
        .map_or_else(|| format!("UTC{}", z.offset()), str::to_string);
    format!("{} ({name})", z.strftime("%d.%m.%Y %H:%M"))
}

/// The draft of a notice about `incident` to Roskomnadzor, in Russian, with every element
/// ст. 21 ч. 3.1 asks for ([`law::INCIDENT_FIRST_NOTICE_ELEMENTS`],
/// [`law::INCIDENT_RESULTS_ELEMENTS`]), the operator's details from the policy and the
/// incident's number. `now` dates the draft.
pub fn draft(
    kind: NoticeKind,
    incident: &Incident,
    policy: &Policy,
    zone: &TimeZone,
    now: Timestamp,
) -> Draft {
    let op = &policy.operator;
    let f = &incident.facts;
    let mut missing = Vec::new();
    let mut out = String::new();
    let timer = kind.timer();
    let title = match kind {
        NoticeKind::First => "Уведомление об инциденте в области персональных данных",
        NoticeKind::Results => {
            "Уведомление о результатах внутреннего расследования инцидента в области персональных данных"
        }
    };
    let mut line = |s: &str| {
        out.push_str(s);
        out.push('\n');
    };
    line(
        "В Федеральную службу по надзору в сфере связи, информационных технологий и массовых коммуникаций (Роскомнадзор)",
    );
    line("");
    line(title);
    line(&format!(
        "(основание — {}; {} направляется в течение {} с момента выявления инцидента)",
        timer.norm(),
        timer.title(),
        within(timer.period())
    ));
    line("");
    line(&format!(
        "Номер инцидента в реестре оператора: {}",
        incident.number
    ));
    line("");
    line("Сведения об операторе");
    line(&format!(
        "Наименование: {} ({})",
        op.full_name, op.short_name
    ));
    line(&format!("ИНН: {}", op.inn.as_str()));
    line(&format!("ОГРН: {}", op.ogrn.as_str()));
    line(&format!("Адрес: {}", op.address));
    if let Some(n) = op
        .rkn_registry_number
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        line(&format!(
            "Регистрационный номер в реестре операторов: {}",
            n.trim()
        ));
    }
    let rp = &op.responsible_person;
    line(&format!(
        "Лицо, ответственное за организацию обработки персональных данных (ст. 22.1): {}",
        Contact::responsible_person(policy).line()
    ));
    line("");
    let detected = local(f.detected_at, zone);
    let categories: Vec<String> = f
        .categories
        .iter()
        .map(|c| match policy.category(c) {
            Some(cat) => format!("{} ({c})", cat.title),
            None => c.clone(),
        })
        .collect();
    match kind {
        NoticeKind::First => {
            let [incident_el, causes_el, harm_el, measures_el, contact_el] =
                &law::INCIDENT_FIRST_NOTICE_ELEMENTS;
            line(&format!("1. {}", incident_el.heading));
            line(&format!("Дата и время выявления инцидента: {detected}"));
            line(&format!("Что произошло и как инцидент выявлен: {}", f.how));
            line(&format!(
                "Категории персональных данных: {}",
                categories.join("; ")
            ));
            line(&format!(
                "Количество субъектов персональных данных, права которых нарушены: {}",
                f.subjects
            ));
            line(&format!(
                "Количество затронутых идентификаторов (учётных записей, адресов, номеров, записей): {}",
                f.identifiers
            ));
            line("");
            line(&format!("2. {}: {}", causes_el.heading, f.causes));
            line("");
            line(&format!("3. {}: {}", harm_el.heading, f.harm));
            line("");
            line(&format!("4. {}: {}", measures_el.heading, f.measures));
            line("");
            line(&format!("5. {}: {}", contact_el.heading, f.contact.line()));
            line("");
            line(&format!(
                "Уведомление о результатах внутреннего расследования будет направлено не позднее {} ({}).",
                local(Timer::Results.due(f.detected_at), zone),
                Timer::Results.norm()
            ));
        }
        NoticeKind::Results => {
            let [results_el, persons_el] = &law::INCIDENT_RESULTS_ELEMENTS;
            let contact_el = &law::INCIDENT_FIRST_NOTICE_ELEMENTS[4];
            line(&format!(
                "Инцидент выявлен: {detected}; категории персональных данных: {}; субъектов: {}; идентификаторов: {}.",
                categories.join("; "),
                f.subjects,
                f.identifiers
            ));
            match &incident.first_notice {
                Some(n) => line(&format!(
                    "Первичное уведомление направлено: {}, {}{}.",
                    local(n.at, zone),
                    n.how,
                    n.reference
                        .as_deref()
                        .map(|r| format!(", номер {r}"))
                        .unwrap_or_default()
                )),
                None => {
                    missing.push("first_notice");
                    line(&format!(
                        "Первичное уведомление направлено: {BLANK}: первичное уведомление ещё не отмечено направленным]"
                    ));
                }
            }
            line("");
            match &incident.investigation {
                Some(i) => {
                    line(&format!("1. {}: {}", results_el.heading, i.results));
                    line("");
                    line(&format!(
                        "2. {}: {}",
                        persons_el.heading,
                        i.persons
                            .as_deref()
                            .map(str::trim)
                            .filter(|p| !p.is_empty())
                            .unwrap_or("не установлены")
                    ));
                }
                None => {
                    missing.push("results");
                    missing.push("persons");
                    line(&format!(
                        "1. {}: {BLANK}: внесите результаты расследования]",
                        results_el.heading
                    ));
                    line("");
                    line(&format!(
                        "2. {}: {BLANK}: внесите вместе с результатами; «не установлены», если таких нет]",
                        persons_el.heading
                    ));
                }
            }
            line("");
            line(&format!("3. {}: {}", contact_el.heading, f.contact.line()));
        }
    }
    line("");
    if op.demo || rp.demo {
        line(
            "ВНИМАНИЕ: сведения об операторе в политике помечены как демонстрационные (demo = true) — замените их до отправки.",
        );
    }
    line(&format!(
        "Срок направления: не позднее {}.",
        local(timer.due(f.detected_at), zone)
    ));
    line(&format!("Проект составлен: {}.", local(now, zone)));
    line("");
    line(&format!(
        "{}, {} ____________________ (подпись)",
        rp.position, rp.name
    ));
    Draft {
        kind,
        title: title.to_string(),
        text: out,
        missing,
    }
}

#[cfg(test)]
mod tests;
