//! The legal data of the production calendar: the holidays of ТК РФ ст. 112 with its transfer
//! rule, and the yearly Government decrees pdvault ships. A lawyer reviewing the calendar reads
//! this one file.
//!
//! ## ТК РФ ст. 112 (as amended through 2025)
//!
//! ч. 1 lists the non-working holidays: 1, 2, 3, 4, 5, 6 and 8 January (Новогодние каникулы),
//! 7 January (Рождество Христово), 23 February, 8 March, 1 May, 9 May, 12 June and 4 November.
//! **31 December is not among them**: the bills that would have made it a statutory holiday were
//! rejected by the State Duma (the last in December 2024); in 2025 and 2026 it is a day off only
//! because the yearly decrees moved a January weekend day onto it. If ст. 112 is amended,
//! change [`STATUTORY_HOLIDAYS`] and nothing else.
//!
//! ч. 2: when a weekend day and a holiday coincide, the weekend day moves to the next working
//! day after the holiday — except for the January holidays; two of those weekend days are moved
//! by the Government to other days of the year (ч. 5), which only its decree can tell.
//!
//! A year without a decree is therefore computed from ч. 1 and ч. 2 alone and is always
//! provisional: the January weekend days are not moved anywhere, and no Saturday becomes a
//! working day. That can only give *more* working days than the decree will, hence deadlines
//! that are never later than the real ones — the conservative side for the operator. Open
//! deadlines are recomputed once the decree is loaded (REQUIREMENTS §3).

use jiff::civil::{Date, Weekday};

/// The norm the holidays and the transfer rule come from.
pub const LABOUR_CODE_NORM: &str = "ст. 112 Трудового кодекса РФ";

/// The first and the last year pdvault keeps a production calendar for. Earlier years have no
/// data in pdvault (it began with 2025); later ones are too far for the current ст. 112 to be a
/// sensible guess. A date outside is an error, never a guess.
pub const FIRST_YEAR: i16 = 2025;
/// See [`FIRST_YEAR`].
pub const LAST_YEAR: i16 = 2100;

/// A non-working holiday of ТК РФ ст. 112 ч. 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatutoryHoliday {
    pub month: i8,
    pub day: i8,
    pub name: &'static str,
}

impl StatutoryHoliday {
    /// The January holidays (ч. 1 абз. 2–3), whose coinciding weekend days are not moved by ч. 2.
    pub fn is_january(&self) -> bool {
        self.month == 1
    }

    /// The holiday in `year`.
    pub fn in_year(&self, year: i16) -> Option<Date> {
        Date::new(year, self.month, self.day).ok()
    }
}

const fn holiday(month: i8, day: i8, name: &'static str) -> StatutoryHoliday {
    StatutoryHoliday { month, day, name }
}

/// ТК РФ ст. 112 ч. 1: the non-working holidays, in the order of the law.
pub const STATUTORY_HOLIDAYS: [StatutoryHoliday; 14] = [
    holiday(1, 1, "Новогодние каникулы"),
    holiday(1, 2, "Новогодние каникулы"),
    holiday(1, 3, "Новогодние каникулы"),
    holiday(1, 4, "Новогодние каникулы"),
    holiday(1, 5, "Новогодние каникулы"),
    holiday(1, 6, "Новогодние каникулы"),
    holiday(1, 8, "Новогодние каникулы"),
    holiday(1, 7, "Рождество Христово"),
    holiday(2, 23, "День защитника Отечества"),
    holiday(3, 8, "Международный женский день"),
    holiday(5, 1, "Праздник Весны и Труда"),
    holiday(5, 9, "День Победы"),
    holiday(6, 12, "День России"),
    holiday(11, 4, "День народного единства"),
];

/// The statutory holiday on `date`, if it is one.
pub fn statutory_holiday(date: Date) -> Option<&'static StatutoryHoliday> {
    STATUTORY_HOLIDAYS
        .iter()
        .find(|h| h.month == date.month() && h.day == date.day())
}

/// Saturday and Sunday: the weekly days off of the five-day week (ТК РФ ст. 111).
pub fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// One year of the production calendar as a decree (or REQUIREMENTS §3) gives it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShippedYear {
    pub year: i16,
    /// The decree on transfers; `None` while there is none.
    pub decree: Option<&'static str>,
    /// What a reader of the data should know: the transfers, or why the year is provisional.
    pub note: &'static str,
    pub provisional: bool,
    /// Days off besides ordinary Saturdays and Sundays, as (month, first day, last day). A span
    /// may include weekend days (1–8 January), which changes nothing.
    pub days_off: &'static [(i8, i8, i8)],
    /// Saturdays and Sundays that are working days, as (month, day).
    pub working_weekends: &'static [(i8, i8)],
    /// Working days of the five-day week in the year, as the published calendar gives them;
    /// a test recounts them from the dates above (and that is its only reader).
    #[cfg_attr(not(test), allow(dead_code))]
    pub working_days: u16,
}

/// The years pdvault ships (REQUIREMENTS §3). An operator loads a newer year, or the decree
/// that replaces a provisional year, from a file (`WorkCalendar::load_year`).
pub(crate) const SHIPPED_YEARS: [ShippedYear; 3] = [
    ShippedYear {
        year: 2025,
        decree: Some(
            "Постановление Правительства РФ от 04.10.2024 № 1335 «О переносе выходных дней в 2025 году»",
        ),
        note: "переносы: с 4 января на 2 мая, с 5 января на 31 декабря, с 23 февраля на 8 мая, \
               с 8 марта на 13 июня, с субботы 1 ноября на 3 ноября (1 ноября — рабочий день)",
        provisional: false,
        days_off: &[
            (1, 1, 8),
            (5, 1, 4),
            (5, 8, 11),
            (6, 12, 13),
            (11, 3, 4),
            (12, 31, 31),
        ],
        working_weekends: &[(11, 1)],
        working_days: 247,
    },
    ShippedYear {
        year: 2026,
        decree: Some(
            "Постановление Правительства РФ от 24.09.2025 № 1466 «О переносе выходных дней в 2026 году»",
        ),
        // REQUIREMENTS §3 lists the days off that fall on weekdays (and 1–9 January as one
        // span). 8 March (Sunday) and 9 May (Saturday) are not listed: they are weekend days
        // and non-working anyway, and their weekend days move to 9 March and 11 May by
        // ст. 112 ч. 2 itself, which the list does name. Taken literally, as written.
        note: "переносы: с 3 января на 9 января, с 4 января на 31 декабря; по ст. 112 ч. 2 ТК РФ \
               выходные 8 марта (воскресенье) и 9 мая (суббота) перенесены на 9 марта и 11 мая",
        provisional: false,
        days_off: &[
            (1, 1, 9),
            (2, 23, 23),
            (3, 9, 9),
            (5, 1, 1),
            (5, 11, 11),
            (6, 12, 12),
            (11, 4, 4),
            (12, 31, 31),
        ],
        working_weekends: &[],
        working_days: 247,
    },
    ShippedYear {
        year: 2027,
        decree: None,
        note: "предварительно: постановление о переносе выходных дней в 2027 году при подготовке \
               данных не было известно; дни — по REQUIREMENTS §3 (проект: 22 февраля и 5 ноября \
               выходные, суббота 20 февраля рабочая). Загрузите постановление файлом, когда оно выйдет",
        provisional: true,
        days_off: &[
            (1, 1, 8),
            (2, 22, 23),
            (3, 8, 8),
            (5, 3, 3),
            (5, 10, 10),
            (6, 14, 14),
            (11, 4, 5),
            (12, 31, 31),
        ],
        working_weekends: &[(2, 20)],
        working_days: 247,
    },
];

impl ShippedYear {
    /// The days off as dates; a span that names a day that does not exist is skipped (a test
    /// checks that none does).
    pub(crate) fn days_off(&self) -> Vec<Date> {
        let mut dates = Vec::new();
        for &(month, first, last) in self.days_off {
            for day in first..=last {
                if let Ok(date) = Date::new(self.year, month, day) {
                    dates.push(date);
                }
            }
        }
        dates
    }

    pub(crate) fn working_weekends(&self) -> Vec<Date> {
        self.working_weekends
            .iter()
            .filter_map(|&(month, day)| Date::new(self.year, month, day).ok())
            .collect()
    }
}

/// The days off of a year without a decree, by ст. 112 ч. 1–2 alone: the holidays, and for every
/// holiday outside January that falls on a Saturday or Sunday, the next weekday after it that is
/// neither a holiday nor already such a moved day off.
pub(crate) fn labour_code_days_off(year: i16) -> Vec<Date> {
    let holidays: Vec<(Date, &StatutoryHoliday)> = STATUTORY_HOLIDAYS
        .iter()
        .filter_map(|h| h.in_year(year).map(|d| (d, h)))
        .collect();
    let mut days_off: Vec<Date> = holidays.iter().map(|(d, _)| *d).collect();
    for (date, holiday) in &holidays {
        if holiday.is_january() || !is_weekend(*date) {
            continue;
        }
        let mut next = *date;
        // The next weekday is at most a few days away; a date past the end of the representable
        // range cannot occur for years up to LAST_YEAR.
        while let Ok(day) = next.tomorrow() {
            next = day;
            if !is_weekend(next) && !days_off.contains(&next) {
                days_off.push(next);
                break;
            }
        }
    }
    days_off.sort();
    days_off
}
