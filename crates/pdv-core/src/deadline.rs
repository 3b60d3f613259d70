//! Legal deadlines: the table of D1–D14 (REQUIREMENTS §3) with their norms, and counting a due
//! date from the moment a trigger was received.
//!
//! **Counting** (REQUIREMENTS §3), in one place:
//! - day 0 is the date of receipt in the operator's time zone;
//! - working days (WD) are counted on the [`WorkCalendar`] from the next working day, so the due
//!   date is the N-th working day after day 0 and always a working day;
//! - calendar days, months and years end on their last day, even when it is a day off (no
//!   roll-forward); a month or year that has no such day ends on the month's last day
//!   (31 August + 6 months = 28/29 February), which is the earlier, conservative reading;
//! - hours run continuously from the instant of receipt; "immediately" is that instant;
//! - an extension (D1, D10, D13: at most 5 WD with a motivated notice) is counted on from the
//!   original due date.
//!
//! A lawyer reviews [`RULES`]; everything else follows from it.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};
use serde::Serialize;

use crate::calendar::{CalendarError, CalendarUse, WorkCalendar};

/// A row of the deadline table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum RuleId {
    D1,
    D2,
    D3,
    D4,
    D5,
    D6,
    D7,
    D8,
    D9,
    D10,
    D11,
    D12,
    D13,
    D14,
}

impl RuleId {
    pub const ALL: [RuleId; 14] = [
        RuleId::D1,
        RuleId::D2,
        RuleId::D3,
        RuleId::D4,
        RuleId::D5,
        RuleId::D6,
        RuleId::D7,
        RuleId::D8,
        RuleId::D9,
        RuleId::D10,
        RuleId::D11,
        RuleId::D12,
        RuleId::D13,
        RuleId::D14,
    ];

    /// The rule's row in [`RULES`].
    pub fn rule(self) -> &'static Rule {
        // RULES lists the rules in the order of RuleId (a test holds it to that).
        &RULES[self as usize]
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::D1 => "D1",
            RuleId::D2 => "D2",
            RuleId::D3 => "D3",
            RuleId::D4 => "D4",
            RuleId::D5 => "D5",
            RuleId::D6 => "D6",
            RuleId::D7 => "D7",
            RuleId::D8 => "D8",
            RuleId::D9 => "D9",
            RuleId::D10 => "D10",
            RuleId::D11 => "D11",
            RuleId::D12 => "D12",
            RuleId::D13 => "D13",
            RuleId::D14 => "D14",
        }
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RuleId {
    type Err = DeadlineError;

    /// `D1`…`D14`, in either case.
    fn from_str(s: &str) -> Result<RuleId, DeadlineError> {
        let wanted = s.trim();
        RuleId::ALL
            .into_iter()
            .find(|id| id.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| DeadlineError::UnknownRule(s.to_string()))
    }
}

/// How long a deadline is, and in what unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "unit", content = "amount", rename_all = "snake_case")]
pub enum Term {
    /// At once: the due moment is the moment of receipt.
    Immediately,
    /// Continuous hours from the moment of receipt.
    Hours(u32),
    /// Working days of the production calendar, from the next working day after day 0.
    WorkingDays(u32),
    /// Calendar days after day 0; the last day counts even if it is a day off.
    CalendarDays(u32),
    /// Calendar months after day 0.
    Months(u32),
    /// Calendar years after day 0.
    Years(u32),
}

impl Term {
    /// Whether the term is counted in whole days (its due is a date) or in time (an instant).
    pub fn is_in_days(self) -> bool {
        !matches!(self, Term::Immediately | Term::Hours(_))
    }

    /// The last day of a term counted in calendar units (days, months, years) from day 0 `day`,
    /// by the counting rules above. `None` for a term that needs the production calendar or an
    /// instant (working days, hours, "immediately"), or whose end is past the last
    /// representable date.
    pub fn calendar_end(self, day: Date) -> Option<Date> {
        let span = match self {
            Term::CalendarDays(n) => Span::new().try_days(i64::from(n)),
            Term::Months(n) => Span::new().try_months(i64::from(n)),
            Term::Years(n) => Span::new().try_years(i64::from(n)),
            Term::Immediately | Term::Hours(_) | Term::WorkingDays(_) => return None,
        };
        day.checked_add(span.ok()?).ok()
    }

    /// The sum of two terms of the same unit.
    pub fn plus(self, other: Term) -> Option<Term> {
        Some(match (self, other) {
            (Term::Hours(a), Term::Hours(b)) => Term::Hours(a.checked_add(b)?),
            (Term::WorkingDays(a), Term::WorkingDays(b)) => Term::WorkingDays(a.checked_add(b)?),
            (Term::CalendarDays(a), Term::CalendarDays(b)) => Term::CalendarDays(a.checked_add(b)?),
            (Term::Months(a), Term::Months(b)) => Term::Months(a.checked_add(b)?),
            (Term::Years(a), Term::Years(b)) => Term::Years(a.checked_add(b)?),
            _ => return None,
        })
    }
}

impl std::fmt::Display for Term {
    /// In Russian: «10 рабочих дней», «24 часа», «немедленно».
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (n, forms) = match *self {
            Term::Immediately => return f.write_str("немедленно"),
            Term::Hours(n) => (n, ["час", "часа", "часов"]),
            Term::WorkingDays(n) => (n, ["рабочий день", "рабочих дня", "рабочих дней"]),
            Term::CalendarDays(n) => (
                n,
                ["календарный день", "календарных дня", "календарных дней"],
            ),
            Term::Months(n) => (n, ["месяц", "месяца", "месяцев"]),
            Term::Years(n) => (n, ["год", "года", "лет"]),
        };
        write!(f, "{n} {}", plural(n, forms))
    }
}

/// The Russian plural form for `n`: 1 день, 2 дня, 5 дней, 11 дней, 21 день.
pub(crate) fn plural(n: u32, [one, few, many]: [&'static str; 3]) -> &'static str {
    match (n % 10, n % 100) {
        (_, 11..=14) => many,
        (1, _) => one,
        (2..=4, _) => few,
        _ => many,
    }
}

/// One thing to be done by a deadline. Most rules have one stage; D7 has two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stage {
    pub action: &'static str,
    pub term: Term,
    pub norm: &'static str,
}

/// How far a deadline may be extended, and on what condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Extension {
    pub term: Term,
    pub condition: &'static str,
    pub norm: &'static str,
}

/// A row of the deadline table: what starts the clock, what must be done by when, and the norm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: RuleId,
    pub trigger: &'static str,
    /// In order of their due moments.
    pub stages: &'static [Stage],
    pub extension: Option<Extension>,
    pub norm: &'static str,
}

const NOTICE_EXTENSION: &str =
    "оператор направил мотивированное уведомление с указанием причин продления срока";

const fn one(action: &'static str, term: Term, norm: &'static str) -> [Stage; 1] {
    [Stage { action, term, norm }]
}

/// The deadline table, D1–D14 of REQUIREMENTS §3, in order. Norms are of 152-ФЗ «О персональных
/// данных» unless named otherwise.
pub const RULES: [Rule; 14] = [
    Rule {
        id: RuleId::D1,
        trigger: "запрос субъекта (его представителя) о доступе к своим персональным данным",
        stages: &one(
            "предоставить сведения по ч. 7 ст. 14 или направить мотивированный отказ",
            Term::WorkingDays(10),
            "ст. 14 ч. 3, ст. 20 ч. 1–2 152-ФЗ",
        ),
        extension: Some(Extension {
            term: Term::WorkingDays(5),
            condition: NOTICE_EXTENSION,
            norm: "ст. 14 ч. 3, ст. 20 ч. 2 152-ФЗ",
        }),
        norm: "ст. 14 ч. 3, ст. 20 ч. 1–2 152-ФЗ",
    },
    Rule {
        id: RuleId::D2,
        trigger: "представлены сведения, что персональные данные неполные, неточные или неактуальные",
        stages: &one(
            "внести изменения, уведомить субъекта и третьих лиц, которым данные переданы",
            Term::WorkingDays(7),
            "ст. 20 ч. 3, ст. 21 ч. 2 152-ФЗ",
        ),
        extension: None,
        norm: "ст. 20 ч. 3, ст. 21 ч. 2 152-ФЗ",
    },
    Rule {
        id: RuleId::D3,
        trigger: "представлены сведения, что персональные данные незаконно получены или не нужны для заявленной цели",
        stages: &one(
            "уничтожить данные, уведомить субъекта и третьих лиц, которым данные переданы",
            Term::WorkingDays(7),
            "ст. 20 ч. 3 152-ФЗ",
        ),
        extension: None,
        norm: "ст. 20 ч. 3 152-ФЗ",
    },
    Rule {
        id: RuleId::D4,
        trigger: "обращение или запрос о неточных персональных данных или неправомерной обработке",
        stages: &one(
            "заблокировать данные на период проверки",
            Term::Immediately,
            "ст. 21 ч. 1 152-ФЗ",
        ),
        extension: None,
        norm: "ст. 21 ч. 1 152-ФЗ",
    },
    Rule {
        id: RuleId::D5,
        trigger: "выявлена неправомерная обработка персональных данных",
        stages: &one(
            "прекратить неправомерную обработку",
            Term::WorkingDays(3),
            "ст. 21 ч. 3 152-ФЗ",
        ),
        extension: None,
        norm: "ст. 21 ч. 3 152-ФЗ",
    },
    Rule {
        id: RuleId::D6,
        trigger: "обеспечить правомерность обработки невозможно",
        stages: &one(
            "уничтожить персональные данные и уведомить субъекта",
            Term::WorkingDays(10),
            "ст. 21 ч. 3 152-ФЗ",
        ),
        extension: None,
        norm: "ст. 21 ч. 3 152-ФЗ",
    },
    Rule {
        id: RuleId::D7,
        trigger: "выявлен инцидент: неправомерная или случайная передача (предоставление, распространение, доступ) персональных данных",
        stages: &[
            Stage {
                action: "уведомить Роскомнадзор об инциденте, его предполагаемых причинах, вреде и принятых мерах",
                term: Term::Hours(24),
                norm: "ст. 21 ч. 3.1 п. 1 152-ФЗ",
            },
            Stage {
                action: "уведомить Роскомнадзор о результатах внутреннего расследования",
                term: Term::Hours(72),
                norm: "ст. 21 ч. 3.1 п. 2 152-ФЗ",
            },
        ],
        extension: None,
        norm: "ст. 21 ч. 3.1 152-ФЗ",
    },
    Rule {
        id: RuleId::D8,
        trigger: "достигнута цель обработки",
        stages: &one(
            "прекратить обработку и уничтожить персональные данные",
            Term::CalendarDays(30),
            "ст. 21 ч. 4 152-ФЗ",
        ),
        extension: None,
        norm: "ст. 21 ч. 4 152-ФЗ",
    },
    Rule {
        id: RuleId::D9,
        trigger: "субъект отозвал согласие",
        stages: &one(
            "прекратить обработку; уничтожить данные, для которых нет иного основания",
            Term::CalendarDays(30),
            "ст. 21 ч. 5 152-ФЗ",
        ),
        extension: None,
        norm: "ст. 21 ч. 5 152-ФЗ",
    },
    Rule {
        id: RuleId::D10,
        trigger: "требование субъекта прекратить обработку персональных данных",
        stages: &one(
            "прекратить обработку",
            Term::WorkingDays(10),
            "ст. 21 ч. 5.1 152-ФЗ",
        ),
        extension: Some(Extension {
            term: Term::WorkingDays(5),
            condition: NOTICE_EXTENSION,
            norm: "ст. 21 ч. 5.1 152-ФЗ",
        }),
        norm: "ст. 21 ч. 5.1 152-ФЗ",
    },
    Rule {
        id: RuleId::D11,
        trigger: "уничтожить персональные данные в установленный срок невозможно",
        stages: &one(
            "заблокировать данные и уничтожить их (не более чем за 6 месяцев, если иной срок не установлен федеральным законом)",
            Term::Months(6),
            "ст. 21 ч. 6 152-ФЗ",
        ),
        extension: None,
        norm: "ст. 21 ч. 6 152-ФЗ",
    },
    Rule {
        id: RuleId::D12,
        trigger: "требование прекратить обработку в целях продвижения товаров, работ, услуг",
        stages: &one(
            "прекратить обработку в целях продвижения",
            Term::Immediately,
            "ст. 15 ч. 2 152-ФЗ",
        ),
        extension: None,
        norm: "ст. 15 ч. 2 152-ФЗ",
    },
    Rule {
        id: RuleId::D13,
        trigger: "запрос Роскомнадзора",
        stages: &one(
            "сообщить запрошенную информацию",
            Term::WorkingDays(10),
            "ст. 20 ч. 4 152-ФЗ",
        ),
        extension: Some(Extension {
            term: Term::WorkingDays(5),
            condition: NOTICE_EXTENSION,
            norm: "ст. 20 ч. 4 152-ФЗ",
        }),
        norm: "ст. 20 ч. 4 152-ФЗ",
    },
    Rule {
        id: RuleId::D14,
        trigger: "уничтожение персональных данных выполнено, составлен акт",
        stages: &one(
            "хранить акт об уничтожении и выгрузку из журнала регистрации событий",
            Term::Years(3),
            "Приказ Роскомнадзора от 28.10.2022 № 179",
        ),
        extension: None,
        norm: "Приказ Роскомнадзора от 28.10.2022 № 179",
    },
];

/// Why a deadline cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineError {
    #[error("неизвестное правило «{0}»: допустимы D1–D14")]
    UnknownRule(String),
    #[error("срок по правилу {rule} не продлевается ({norm}); продление допускают D1, D10 и D13")]
    NoExtension { rule: RuleId, norm: &'static str },
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error("срок выходит за пределы представимых дат")]
    OutOfRange,
    /// The table itself is inconsistent (an extension in another unit than its stage, a rule
    /// without stages); a test of the table rules this out.
    #[error("внутренняя ошибка: строка {0} таблицы сроков противоречива")]
    Table(RuleId),
}

/// When something is due: a date (the whole day, in the operator's time zone) for rules counted
/// in days, an instant for rules counted in hours or "immediately".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Due {
    Date(Date),
    Instant(Timestamp),
}

impl std::fmt::Display for Due {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Due::Date(d) => write!(f, "{d}"),
            Due::Instant(t) => write!(f, "{t}"),
        }
    }
}

/// One stage's due moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageDue {
    pub action: &'static str,
    /// The term counted, the extension included when one was applied.
    pub term: Term,
    pub due: Due,
    /// The due moment without the extension, when one was applied: the extension notice must
    /// reach the subject by then.
    pub unextended_due: Option<Due>,
    pub norm: &'static str,
}

/// A computed deadline: what the request journal stores (REQUIREMENTS §3: the trigger
/// timestamp, the due date, the calendar version used and any extension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub rule: RuleId,
    pub received_at: Timestamp,
    /// The operator's time zone the day was counted in (IANA name, or the UTC offset of a
    /// zone without one).
    pub time_zone: String,
    /// Day 0: the date of receipt in that zone.
    pub received_on: Date,
    /// The extension applied, if any.
    pub extension: Option<Term>,
    /// Each stage, in order of their due moments.
    pub stages: Vec<StageDue>,
    /// The last stage's due moment: when everything the rule asks must be done.
    pub due: Due,
    /// The calendar years the working days were counted on (none for other units), with their
    /// versions and whether any was provisional.
    pub calendar: CalendarUse,
}

impl Deadline {
    /// Whether the deadline rests on provisional calendar data and must be recomputed once the
    /// decree is loaded.
    pub fn provisional(&self) -> bool {
        self.calendar.provisional
    }
}

/// Computes the deadline of `rule` for a trigger received at `received_at` by an operator in
/// `zone`; `extended` applies the rule's extension (an error for a rule without one).
pub fn compute(
    rule: RuleId,
    received_at: Timestamp,
    zone: &TimeZone,
    extended: bool,
    calendar: &WorkCalendar,
) -> Result<Deadline, DeadlineError> {
    let row = rule.rule();
    let extension = match (extended, row.extension) {
        (false, _) => None,
        (true, Some(extension)) => Some(extension.term),
        (true, None) => {
            return Err(DeadlineError::NoExtension {
                rule,
                norm: row.norm,
            });
        }
    };
    let local = received_at.to_zoned(zone.clone());
    let received_on = local.date();
    let time_zone = zone
        .iana_name()
        .map_or_else(|| format!("UTC{}", local.offset()), str::to_string);
    let mut used = CalendarUse::default();
    let mut stages = Vec::with_capacity(row.stages.len());
    for stage in row.stages {
        let counted = |term| advance(received_at, received_on, term, calendar);
        let base = counted(stage.term)?;
        used.merge(&base.1);
        let (due, unextended_due, term) = match extension {
            None => (base.0, None, stage.term),
            // An extension runs on from the original due date; for working days that is the
            // same as counting the sum from day 0 (a property test of the calendar).
            Some(more) => {
                let term = stage.term.plus(more).ok_or(DeadlineError::Table(rule))?;
                let extended = counted(term)?;
                used.merge(&extended.1);
                (extended.0, Some(base.0), term)
            }
        };
        stages.push(StageDue {
            action: stage.action,
            term,
            due,
            unextended_due,
            norm: stage.norm,
        });
    }
    let due = stages
        .last()
        .map(|s| s.due)
        .ok_or(DeadlineError::Table(rule))?;
    Ok(Deadline {
        rule,
        received_at,
        time_zone,
        received_on,
        extension,
        stages,
        due,
        calendar: used,
    })
}

/// The due moment of `term` counted from a receipt at `instant` on day 0 `day`, with the
/// calendar years it took.
fn advance(
    instant: Timestamp,
    day: Date,
    term: Term,
    calendar: &WorkCalendar,
) -> Result<(Due, CalendarUse), DeadlineError> {
    let no_calendar = |due| (due, CalendarUse::default());
    match term {
        Term::Immediately => Ok(no_calendar(Due::Instant(instant))),
        Term::Hours(hours) => instant
            .checked_add(SignedDuration::from_hours(i64::from(hours)))
            .map(|t| no_calendar(Due::Instant(t)))
            .map_err(|_| DeadlineError::OutOfRange),
        Term::WorkingDays(n) => {
            let counted = calendar.add_working_days(day, n)?;
            Ok((Due::Date(counted.value), counted.calendar))
        }
        Term::CalendarDays(_) | Term::Months(_) | Term::Years(_) => term
            .calendar_end(day)
            .map(|d| no_calendar(Due::Date(d)))
            .ok_or(DeadlineError::OutOfRange),
    }
}

#[cfg(test)]
mod tests;
