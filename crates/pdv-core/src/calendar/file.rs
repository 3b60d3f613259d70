//! Reading one year of the production calendar from a TOML file written by the operator:
//!
//! ```toml
//! year = 2028
//! decree = "Постановление Правительства РФ от … № … «О переносе выходных дней в 2028 году»"
//! holidays = ["2028-01-01..2028-01-08", 2028-02-23, 2028-03-08]
//! working_weekends = []
//! working_days = 247   # optional: the total the published calendar gives, checked
//! ```
//!
//! Mistakes are reported like policy mistakes: Russian message, file, line and column, and how
//! to fix it. A file cannot contradict ст. 112: every statutory holiday must be a non-working day.

use std::collections::BTreeSet;
use std::ops::Range;

use jiff::civil::Date;
use serde::Deserialize;
use toml::Spanned;

use super::data::{FIRST_YEAR, LABOUR_CODE_NORM, LAST_YEAR, STATUTORY_HOLIDAYS, is_weekend};
use super::{YearSource, YearTable};
use crate::policy::{Diagnostic, Severity};

/// A calendar file that could not be accepted: every error found, with the text to point into.
#[derive(Debug, Clone)]
pub struct CalendarFileError {
    pub file: String,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl CalendarFileError {
    pub(super) fn new(file: &str, source: &str, diagnostics: Vec<Diagnostic>) -> CalendarFileError {
        CalendarFileError {
            file: file.to_string(),
            source: source.to_string(),
            diagnostics,
        }
    }
}

impl std::fmt::Display for CalendarFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for d in &self.diagnostics {
            f.write_str(&d.render(&self.file, &self.source))?;
        }
        let errors = self
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        write!(
            f,
            "{}: ошибок: {errors}; производственный календарь не принят",
            self.file
        )
    }
}

impl std::error::Error for CalendarFileError {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: Spanned<i64>,
    #[serde(default)]
    decree: Option<Spanned<String>>,
    #[serde(default)]
    provisional: bool,
    #[serde(default)]
    note: Option<String>,
    holidays: Spanned<Vec<Spanned<toml::Value>>>,
    #[serde(default)]
    working_weekends: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    working_days: Option<Spanned<i64>>,
}

const KEYS: &str = "year, decree, provisional, note, holidays, working_weekends, working_days";
const DATE_HELP: &str = "дата пишется как 2028-01-01 (можно без кавычек), несколько дней подряд — строкой \"2028-01-01..2028-01-08\"";

/// Parses and checks a year; returns it with the span of its `year` value.
pub(super) fn parse(
    file: &str,
    source: &str,
) -> Result<(YearTable, Range<usize>), CalendarFileError> {
    let fail = |diagnostics| CalendarFileError::new(file, source, diagnostics);
    let parsed: YearFile = toml::from_str(source).map_err(|e| fail(vec![translate(&e)]))?;
    let mut errors = Vec::new();

    let year_span = parsed.year.span();
    let year = match i16::try_from(*parsed.year.get_ref()) {
        Ok(y) if (FIRST_YEAR..=LAST_YEAR).contains(&y) => y,
        _ => {
            let d = Diagnostic::error(
                Some(year_span),
                format!(
                    "год {} вне диапазона, который ведёт pdvault: с {FIRST_YEAR} по {LAST_YEAR}",
                    parsed.year.get_ref()
                ),
            );
            return Err(fail(vec![d]));
        }
    };

    let decree = match (&parsed.decree, parsed.provisional) {
        (Some(d), _) if d.get_ref().trim().is_empty() => {
            errors.push(
                Diagnostic::error(Some(d.span()), "постановление указано пустой строкой")
                    .help("впишите реквизиты: «Постановление Правительства РФ от ДД.ММ.ГГГГ № …»"),
            );
            None
        }
        (Some(d), _) => Some(d.get_ref().trim().to_string()),
        (None, true) => None,
        (None, false) => {
            errors.push(
                Diagnostic::error(Some(year_span.clone()), "не указано постановление о переносе выходных дней (ключ decree)")
                    .help("добавьте decree = \"Постановление Правительства РФ от … № …\"; для проекта без постановления укажите provisional = true"),
            );
            None
        }
    };

    let holidays_span = parsed.holidays.span();
    let days_off = dates(&parsed.holidays.into_inner(), year, "holidays", &mut errors);
    let working_weekends = dates(
        &parsed.working_weekends,
        year,
        "working_weekends",
        &mut errors,
    );
    for (date, span) in &working_weekends {
        if !is_weekend(*date) {
            errors.push(
                Diagnostic::error(
                    Some(span.clone()),
                    format!("{date} — {}, а не суббота или воскресенье", weekday_name(*date)),
                )
                .help("в working_weekends перечисляются только субботы и воскресенья, ставшие рабочими днями"),
            );
        }
        if days_off.iter().any(|(d, _)| d == date) {
            errors.push(Diagnostic::error(
                Some(span.clone()),
                format!("{date} указан и в holidays, и в working_weekends"),
            ));
        }
    }
    let days_off_set: BTreeSet<Date> = days_off.iter().map(|(d, _)| *d).collect();
    let working_set: BTreeSet<Date> = working_weekends.iter().map(|(d, _)| *d).collect();
    for holiday in &STATUTORY_HOLIDAYS {
        let Some(date) = holiday.in_year(year) else {
            continue;
        };
        if working_set.contains(&date) {
            errors.push(Diagnostic::error(
                working_weekends
                    .iter()
                    .find(|(d, _)| *d == date)
                    .map(|(_, s)| s.clone()),
                format!(
                    "{date} ({}) — нерабочий праздничный день по {LABOUR_CODE_NORM}; рабочим он быть не может",
                    holiday.name
                ),
            ));
        } else if !is_weekend(date) && !days_off_set.contains(&date) {
            errors.push(
                Diagnostic::error(
                    Some(holidays_span.clone()),
                    format!(
                        "в holidays нет {date} ({}, {}) — нерабочего праздничного дня по {LABOUR_CODE_NORM}",
                        weekday_name(date),
                        holiday.name
                    ),
                )
                .help("добавьте эту дату в holidays"),
            );
        }
    }

    let table = YearTable::new(
        year,
        YearSource::File {
            name: file.to_string(),
        },
        decree,
        parsed.note,
        parsed.provisional,
        days_off_set,
        working_set,
    );
    if let Some(expected) = &parsed.working_days
        && *expected.get_ref() != i64::from(table.info.working_days)
    {
        errors.push(
            Diagnostic::error(
                Some(expected.span()),
                format!(
                    "в файле указано рабочих дней: {}, а по перечисленным датам их {}",
                    expected.get_ref(),
                    table.info.working_days
                ),
            )
            .help("сверьте holidays и working_weekends с постановлением: какой-то день пропущен или лишний"),
        );
    }
    if errors.is_empty() {
        Ok((table, year_span))
    } else {
        Err(fail(errors))
    }
}

/// The dates of a list, each with the span it was written at; ranges are expanded. Mistakes
/// (not a date, another year, a date twice) are added to `errors`.
fn dates(
    entries: &[Spanned<toml::Value>],
    year: i16,
    key: &str,
    errors: &mut Vec<Diagnostic>,
) -> Vec<(Date, Range<usize>)> {
    let mut out: Vec<(Date, Range<usize>)> = Vec::new();
    for entry in entries {
        let span = entry.span();
        let parsed = match entry.get_ref() {
            toml::Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
                (Some(d), None, None) => Date::new(d.year as i16, d.month as i8, d.day as i8)
                    .map(|d| vec![d])
                    .map_err(|e| e.to_string()),
                _ => Err("ожидается дата без времени".to_string()),
            },
            toml::Value::String(text) => parse_dates(text),
            other => Err(format!(
                "ожидается дата, указано значение типа {}",
                other.type_str()
            )),
        };
        match parsed {
            Err(problem) => errors.push(
                Diagnostic::error(Some(span), format!("{key}: не дата: {problem}")).help(DATE_HELP),
            ),
            Ok(list) => {
                for date in list {
                    if date.year() != year {
                        errors.push(
                            Diagnostic::error(
                                Some(span.clone()),
                                format!("{key}: {date} не относится к {year} году"),
                            )
                            .help("в одном файле — один год; другой год опишите отдельным файлом"),
                        );
                    } else if out.iter().any(|(d, _)| *d == date) {
                        errors.push(
                            Diagnostic::error(
                                Some(span.clone()),
                                format!("{key}: {date} указан дважды"),
                            )
                            .help("оставьте дату один раз"),
                        );
                    } else {
                        out.push((date, span.clone()));
                    }
                }
            }
        }
    }
    out
}

/// `2028-01-01` or the inclusive range `2028-01-01..2028-01-08`.
fn parse_dates(text: &str) -> Result<Vec<Date>, String> {
    let one = |s: &str| {
        let s = s.trim();
        // `Date` would also take a date with a time and keep the date: a time here is a mistake.
        s.parse::<Date>()
            .ok()
            .filter(|_| s.len() == "ГГГГ-ММ-ДД".chars().count())
            .ok_or_else(|| format!("«{s}» не разобрано как дата ГГГГ-ММ-ДД"))
    };
    match text.split_once("..") {
        None => Ok(vec![one(text)?]),
        Some((first, last)) => {
            let (first, last) = (one(first)?, one(last)?);
            if last < first || first.year() != last.year() {
                return Err(format!("диапазон «{text}» пуст или переходит в другой год"));
            }
            let mut days = Vec::new();
            let mut day = first;
            while day <= last {
                days.push(day);
                match day.tomorrow() {
                    Ok(next) => day = next,
                    Err(_) => break,
                }
            }
            Ok(days)
        }
    }
}

pub(super) fn weekday_name(date: Date) -> &'static str {
    use jiff::civil::Weekday::*;
    match date.weekday() {
        Monday => "понедельник",
        Tuesday => "вторник",
        Wednesday => "среда",
        Thursday => "четверг",
        Friday => "пятница",
        Saturday => "суббота",
        Sunday => "воскресенье",
    }
}

/// The TOML parser's English message as a Russian diagnostic naming the key.
fn translate(e: &toml::de::Error) -> Diagnostic {
    let msg = e.message().trim();
    let span = e.span();
    let quoted = |s: &str| s.split('`').nth(1).unwrap_or("").to_string();
    if msg.starts_with("unknown field") {
        Diagnostic::error(span, format!("неизвестный ключ «{}»", quoted(msg))).help(format!(
            "допустимые ключи: {KEYS}; формат — docs/calendar.md"
        ))
    } else if msg.starts_with("missing field") {
        Diagnostic::error(
            span,
            format!("не хватает обязательного ключа «{}»", quoted(msg)),
        )
        .help(format!("обязательны year и holidays; все ключи: {KEYS}"))
    } else if msg.starts_with("invalid type") {
        Diagnostic::error(span, format!("неверный тип значения ({msg})")).help(
            "year и working_days — числа, decree и note — строки в кавычках, provisional — true или false, holidays и working_weekends — списки дат в квадратных скобках",
        )
    } else if msg.contains("duplicate key") {
        Diagnostic::error(span, "ключ задан дважды").help("оставьте одно значение")
    } else {
        Diagnostic::error(span, format!("файл не разобран как TOML: {msg}"))
            .help("исправьте запись в указанном месте")
    }
}
