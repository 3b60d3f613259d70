//! The Russian production calendar (производственный календарь): which days are working days,
//! where that knowledge comes from, and counting working days.
//!
//! Working days follow ТК РФ ст. 112 plus the yearly Government decree on transfers
//! (REQUIREMENTS §3). [`WorkCalendar::embedded`] holds the years pdvault ships (2025 and 2026
//! with their decrees, 2027 provisional); an operator adds a newer year, or the decree that
//! replaces a provisional one, with [`WorkCalendar::load_year`] from a small TOML file. A year in
//! [`FIRST_YEAR`]`..=`[`LAST_YEAR`] without data is computed from ст. 112 alone and flagged
//! provisional; a year outside that range is an error, never a guess.
//!
//! Every counting function reports which years it consulted and whether any was provisional
//! ([`CalendarUse`]), so that a deadline can be stored with the calendar version it used and
//! recomputed when a decree arrives. Each year has a `version`: a hash of its days, which changes
//! exactly when the working days change.

mod data;
mod file;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use data::{
    FIRST_YEAR, LABOUR_CODE_NORM, LAST_YEAR, STATUTORY_HOLIDAYS, StatutoryHoliday, is_weekend,
    statutory_holiday,
};
pub use file::CalendarFileError;

/// Why a question about the calendar has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The year is outside [`FIRST_YEAR`]`..=`[`LAST_YEAR`]: there is neither data nor a rule.
    #[error(
        "производственного календаря на {year} год нет: pdvault знает рабочие дни с {FIRST_YEAR} по {LAST_YEAR} год (данные постановлений или ст. 112 ТК РФ), а угадывать не будет"
    )]
    YearNotCovered { year: i16 },
    /// Counting ran past the dates the calendar can represent.
    #[error("дата вне представимого диапазона")]
    DateOutOfRange,
}

/// What kind of day a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A weekday that is a working day.
    Working,
    /// A Saturday or Sunday that a decree made a working day.
    WorkingWeekend,
    /// A Saturday or Sunday.
    Weekend,
    /// A non-working holiday of ТК РФ ст. 112 ч. 1.
    Holiday,
    /// A weekday off by a transfer (the decree, or ст. 112 ч. 2).
    DayOff,
}

impl DayKind {
    pub fn is_working(self) -> bool {
        matches!(self, DayKind::Working | DayKind::WorkingWeekend)
    }
}

/// Where a year's days come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum YearSource {
    /// Shipped with pdvault.
    Embedded,
    /// Loaded by the operator from a file.
    File { name: String },
    /// No data: computed from ТК РФ ст. 112 alone.
    LabourCode,
}

impl std::fmt::Display for YearSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            YearSource::Embedded => f.write_str("данные pdvault"),
            YearSource::File { name } => write!(f, "файл {name}"),
            YearSource::LabourCode => write!(f, "{LABOUR_CODE_NORM} без постановления"),
        }
    }
}

/// The provenance of one year of the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct YearInfo {
    pub year: i16,
    pub source: YearSource,
    /// The Government decree on transfers the days come from, when there is one.
    pub decree: Option<String>,
    pub note: Option<String>,
    /// No decree stands behind the days (a draft, or ст. 112 alone): deadlines counted with
    /// them must be recomputed once the decree is loaded.
    pub provisional: bool,
    /// Working days of the five-day week in the year.
    pub working_days: u16,
    /// The calendar version: 16 hex digits of a SHA-256 over the year, its non-working days,
    /// working weekend days and the provisional flag. Equal versions give equal deadlines.
    pub version: String,
}

/// The calendar years a computation consulted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CalendarUse {
    /// In order of the year, each once.
    pub years: Vec<YearInfo>,
    /// Whether any of them is provisional.
    pub provisional: bool,
}

impl CalendarUse {
    fn add(&mut self, info: &YearInfo) {
        if let Err(at) = self.years.binary_search_by_key(&info.year, |y| y.year) {
            self.years.insert(at, info.clone());
            self.provisional |= info.provisional;
        }
    }

    /// Adds the years another computation used.
    pub fn merge(&mut self, other: &CalendarUse) {
        for year in &other.years {
            self.add(year);
        }
    }

    /// Whether `calendar` still has the same days for every year used: when a decree (or any
    /// newer data) has been loaded for one of them since, the value counted with this use must
    /// be recomputed (REQUIREMENTS §3).
    pub fn is_current(&self, calendar: &WorkCalendar) -> bool {
        self.years.iter().all(|used| {
            calendar
                .year(used.year)
                .is_ok_and(|now| now.version == used.version)
        })
    }

    /// The provisional years among those used.
    pub fn provisional_years(&self) -> impl Iterator<Item = &YearInfo> {
        self.years.iter().filter(|y| y.provisional)
    }
}

/// A value counted on the calendar, with the years it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted<T> {
    pub value: T,
    pub calendar: CalendarUse,
}

/// One year's days.
#[derive(Debug, Clone, PartialEq, Eq)]
struct YearTable {
    info: YearInfo,
    /// Days off besides ordinary weekends (may include weekend dates, which changes nothing).
    days_off: BTreeSet<Date>,
    working_weekends: BTreeSet<Date>,
}

impl YearTable {
    fn new(
        year: i16,
        source: YearSource,
        decree: Option<String>,
        note: Option<String>,
        provisional: bool,
        days_off: BTreeSet<Date>,
        working_weekends: BTreeSet<Date>,
    ) -> YearTable {
        let mut hash = Sha256::new();
        hash.update(format!("pdv-calendar-1\n{year}\n{provisional}\n"));
        for date in &days_off {
            hash.update(format!("off {date}\n"));
        }
        for date in &working_weekends {
            hash.update(format!("work {date}\n"));
        }
        let version = hex::encode(&hash.finalize()[..8]);
        let mut table = YearTable {
            info: YearInfo {
                year,
                source,
                decree,
                note,
                provisional,
                working_days: 0,
                version,
            },
            days_off,
            working_weekends,
        };
        table.info.working_days = table.count_working_days();
        table
    }

    fn shipped(shipped: &data::ShippedYear) -> YearTable {
        YearTable::new(
            shipped.year,
            YearSource::Embedded,
            shipped.decree.map(str::to_string),
            Some(shipped.note.to_string()),
            shipped.provisional,
            shipped.days_off().into_iter().collect(),
            shipped.working_weekends().into_iter().collect(),
        )
    }

    fn labour_code(year: i16) -> YearTable {
        YearTable::new(
            year,
            YearSource::LabourCode,
            None,
            Some(format!(
                "постановление о переносе выходных дней на {year} год не загружено: дни посчитаны по ч. 1–2 {LABOUR_CODE_NORM}, январские выходные не перенесены (ч. 5), рабочих суббот нет"
            )),
            true,
            data::labour_code_days_off(year).into_iter().collect(),
            BTreeSet::new(),
        )
    }

    fn kind(&self, date: Date) -> DayKind {
        let weekend = is_weekend(date);
        if self.working_weekends.contains(&date) {
            DayKind::WorkingWeekend
        } else if !weekend && !self.days_off.contains(&date) {
            DayKind::Working
        } else if statutory_holiday(date).is_some() {
            DayKind::Holiday
        } else if weekend {
            DayKind::Weekend
        } else {
            DayKind::DayOff
        }
    }

    fn is_working(&self, date: Date) -> bool {
        self.kind(date).is_working()
    }

    fn count_working_days(&self) -> u16 {
        let mut count = 0;
        let mut date = Date::new(self.info.year, 1, 1).ok();
        while let Some(day) = date.filter(|d| d.year() == self.info.year) {
            if self.is_working(day) {
                count += 1;
            }
            date = day.tomorrow().ok();
        }
        count
    }
}

/// The production calendar: shipped years, years the operator loaded, and ст. 112 for the rest
/// of the supported range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    years: BTreeMap<i16, YearTable>,
}

impl Default for WorkCalendar {
    fn default() -> Self {
        WorkCalendar::embedded()
    }
}

impl WorkCalendar {
    /// The years pdvault ships: 2025 and 2026 with their decrees, 2027 provisional.
    pub fn embedded() -> WorkCalendar {
        WorkCalendar {
            years: data::SHIPPED_YEARS
                .iter()
                .map(|y| (y.year, YearTable::shipped(y)))
                .collect(),
        }
    }

    /// A calendar without any shipped or loaded year: every year in range is computed from
    /// ст. 112 alone. For tests and comparisons.
    pub fn labour_code_only() -> WorkCalendar {
        WorkCalendar {
            years: BTreeMap::new(),
        }
    }

    /// Reads one year from the text of a calendar file (format: `docs/calendar.md`) and adds it,
    /// replacing the shipped data for that year. `file` names the file in messages and in the
    /// year's source. A year already loaded from another file is refused: two files for one
    /// year leave it unclear which is meant.
    pub fn load_year(&mut self, file: &str, source: &str) -> Result<YearInfo, CalendarFileError> {
        let (table, year_span) = file::parse(file, source)?;
        let year = table.info.year;
        if let Some(YearSource::File { name }) = self.years.get(&year).map(|t| &t.info.source) {
            return Err(CalendarFileError::new(
                file,
                source,
                vec![
                    crate::policy::Diagnostic::error(
                        Some(year_span),
                        format!("{year} год уже загружен из файла {name}"),
                    )
                    .help("оставьте один файл на каждый год"),
                ],
            ));
        }
        let info = table.info.clone();
        self.years.insert(year, table);
        Ok(info)
    }

    /// The provenance of a year: shipped, loaded, or ст. 112 alone.
    pub fn year(&self, year: i16) -> Result<YearInfo, CalendarError> {
        Ok(self.table(year)?.info.clone())
    }

    /// Years with data (shipped or loaded), in order.
    pub fn known_years(&self) -> impl Iterator<Item = &YearInfo> {
        self.years.values().map(|t| &t.info)
    }

    /// What kind of day `date` is.
    pub fn day_kind(&self, date: Date) -> Result<DayKind, CalendarError> {
        Ok(self.table(date.year())?.kind(date))
    }

    pub fn is_working_day(&self, date: Date) -> Result<bool, CalendarError> {
        Ok(self.day_kind(date)?.is_working())
    }

    /// The non-working days of a year that are not ordinary weekends, plus weekend days that
    /// are holidays, in order: what a decree lists.
    pub fn days_off(&self, year: i16) -> Result<Vec<Date>, CalendarError> {
        Ok(self.table(year)?.days_off.iter().copied().collect())
    }

    /// Saturdays and Sundays that are working days in a year.
    pub fn working_weekends(&self, year: i16) -> Result<Vec<Date>, CalendarError> {
        Ok(self.table(year)?.working_weekends.iter().copied().collect())
    }

    /// The `n`-th working day after `from` (REQUIREMENTS §3: day 0 is `from`, counting starts
    /// with the next working day). `from` itself may be any day and is not looked up; `n = 0`
    /// gives `from`. For `n ≥ 1` the result is always a working day.
    pub fn add_working_days(&self, from: Date, n: u32) -> Result<Counted<Date>, CalendarError> {
        let mut cursor = Cursor::new(self);
        let mut date = from;
        let mut left = n;
        while left > 0 {
            date = date.tomorrow().map_err(|_| CalendarError::DateOutOfRange)?;
            if cursor.is_working(date)? {
                left -= 1;
            }
        }
        Ok(Counted {
            value: date,
            calendar: cursor.used,
        })
    }

    /// The number of working days after `from` up to and including `to`; 0 when `to` is not
    /// after `from`. `working_days_between(d, add_working_days(d, n)) == n`.
    pub fn working_days_between(
        &self,
        from: Date,
        to: Date,
    ) -> Result<Counted<u32>, CalendarError> {
        let mut cursor = Cursor::new(self);
        let mut count = 0;
        let mut date = from;
        while date < to {
            date = date.tomorrow().map_err(|_| CalendarError::DateOutOfRange)?;
            if cursor.is_working(date)? {
                count += 1;
            }
        }
        Ok(Counted {
            value: count,
            calendar: cursor.used,
        })
    }

    fn table(&self, year: i16) -> Result<Cow<'_, YearTable>, CalendarError> {
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return Err(CalendarError::YearNotCovered { year });
        }
        Ok(match self.years.get(&year) {
            Some(table) => Cow::Borrowed(table),
            None => Cow::Owned(YearTable::labour_code(year)),
        })
    }
}

/// Walks dates in order, keeping the current year's table and noting every year it used.
struct Cursor<'a> {
    calendar: &'a WorkCalendar,
    table: Option<Cow<'a, YearTable>>,
    used: CalendarUse,
}

impl<'a> Cursor<'a> {
    fn new(calendar: &'a WorkCalendar) -> Cursor<'a> {
        Cursor {
            calendar,
            table: None,
            used: CalendarUse::default(),
        }
    }

    fn is_working(&mut self, date: Date) -> Result<bool, CalendarError> {
        let table = match self.table.take() {
            Some(table) if table.info.year == date.year() => table,
            _ => {
                let table = self.calendar.table(date.year())?;
                self.used.add(&table.info);
                table
            }
        };
        let working = table.is_working(date);
        self.table = Some(table);
        Ok(working)
    }
}

#[cfg(test)]
mod tests;
