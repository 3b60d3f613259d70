use jiff::civil::{Date, date};
use proptest::prelude::*;

use super::*;

fn working(calendar: &WorkCalendar, d: Date) -> bool {
    calendar.is_working_day(d).unwrap()
}

/// A shipped year written as a calendar file, the way an operator would write it.
fn as_file(shipped: &data::ShippedYear) -> String {
    let list = |dates: Vec<Date>| {
        dates
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!("year = {}\n", shipped.year);
    match shipped.decree {
        Some(decree) => text.push_str(&format!("decree = \"{decree}\"\n")),
        None => text.push_str("provisional = true\n"),
    }
    text.push_str(&format!(
        "holidays = [{}]\nworking_weekends = [{}]\nworking_days = {}\n",
        list(shipped.days_off()),
        list(shipped.working_weekends()),
        shipped.working_days
    ));
    text
}

#[test]
fn shipped_years_have_the_published_working_day_totals() {
    let calendar = WorkCalendar::embedded();
    // REQUIREMENTS §3: 247 working days in 2025 and in 2026.
    assert_eq!(calendar.year(2025).unwrap().working_days, 247);
    assert_eq!(calendar.year(2026).unwrap().working_days, 247);
    for shipped in &data::SHIPPED_YEARS {
        let info = calendar.year(shipped.year).unwrap();
        assert_eq!(info.working_days, shipped.working_days, "{}", shipped.year);
        assert_eq!(info.source, YearSource::Embedded);
        assert_eq!(
            info.provisional,
            shipped.decree.is_none(),
            "{}",
            shipped.year
        );
        let listed: usize = shipped
            .days_off
            .iter()
            .map(|&(_, first, last)| usize::try_from(last - first + 1).unwrap())
            .sum();
        assert_eq!(
            shipped.days_off().len(),
            listed,
            "{}: a span names a day that does not exist",
            shipped.year
        );
    }
    assert!(calendar.year(2027).unwrap().provisional);
    assert!(
        calendar
            .year(2026)
            .unwrap()
            .decree
            .unwrap()
            .contains("№ 1466")
    );
    assert!(
        calendar
            .year(2025)
            .unwrap()
            .decree
            .unwrap()
            .contains("№ 1335")
    );
}

#[test]
fn shipped_years_pass_the_checks_a_loaded_file_must_pass() {
    for shipped in &data::SHIPPED_YEARS {
        let mut calendar = WorkCalendar::embedded();
        let embedded = calendar.year(shipped.year).unwrap();
        let text = as_file(shipped);
        let loaded = calendar
            .load_year("shipped.toml", &text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(loaded.version, embedded.version, "{}", shipped.year);
        assert_eq!(loaded.working_days, embedded.working_days);
    }
}

#[test]
fn the_days_of_2025_follow_decree_1335() {
    let c = WorkCalendar::embedded();
    for off in [
        date(2025, 1, 1),
        date(2025, 1, 8),
        date(2025, 5, 2),
        date(2025, 5, 8),
        date(2025, 6, 13),
        date(2025, 11, 3),
        date(2025, 11, 4),
        date(2025, 12, 31),
    ] {
        assert!(!working(&c, off), "{off}");
    }
    for on in [
        date(2025, 1, 9),
        date(2025, 2, 24),
        date(2025, 3, 10),
        date(2025, 5, 5),
        date(2025, 12, 30),
    ] {
        assert!(working(&c, on), "{on}");
    }
    assert_eq!(
        c.day_kind(date(2025, 11, 1)).unwrap(),
        DayKind::WorkingWeekend
    );
    assert_eq!(c.day_kind(date(2025, 11, 4)).unwrap(), DayKind::Holiday);
    assert_eq!(c.day_kind(date(2025, 11, 3)).unwrap(), DayKind::DayOff);
    assert_eq!(c.day_kind(date(2025, 3, 8)).unwrap(), DayKind::Holiday);
    assert_eq!(c.day_kind(date(2025, 3, 15)).unwrap(), DayKind::Weekend);
    assert_eq!(c.day_kind(date(2025, 3, 14)).unwrap(), DayKind::Working);
}

#[test]
fn the_days_of_2026_and_2027_follow_requirements() {
    let c = WorkCalendar::embedded();
    for off in [
        date(2026, 1, 9),
        date(2026, 2, 23),
        date(2026, 3, 8),
        date(2026, 3, 9),
        date(2026, 5, 9),
        date(2026, 5, 11),
        date(2026, 11, 4),
        date(2026, 12, 31),
        date(2027, 2, 22),
        date(2027, 11, 5),
        date(2027, 12, 31),
    ] {
        assert!(!working(&c, off), "{off}");
    }
    for on in [
        date(2026, 1, 12),
        date(2026, 12, 30),
        date(2027, 1, 11),
        date(2027, 2, 20),
    ] {
        assert!(working(&c, on), "{on}");
    }
}

#[test]
fn a_year_without_data_follows_article_112_and_is_provisional() {
    let c = WorkCalendar::embedded();
    let info = c.year(2028).unwrap();
    assert!(info.provisional);
    assert_eq!(info.source, YearSource::LabourCode);
    assert!(info.decree.is_none());
    // 4 November 2028 is a Saturday: its weekend day moves to Monday 6 November (ч. 2).
    assert_eq!(c.day_kind(date(2028, 11, 4)).unwrap(), DayKind::Holiday);
    assert_eq!(c.day_kind(date(2028, 11, 6)).unwrap(), DayKind::DayOff);
    // 1 January 2028 is a Saturday too, but January weekend days are not moved by ч. 2.
    assert!(working(&c, date(2028, 1, 10)));
    // 260 weekdays; 3–7 January, 23 February, 8 March, 1 and 9 May, 12 June, 6 November off.
    assert_eq!(info.working_days, 249);

    // For 2026 the rule alone reproduces the decree except its two January transfers.
    let by_law = WorkCalendar::labour_code_only();
    let decree: BTreeSet<Date> = c.days_off(2026).unwrap().into_iter().collect();
    let law: BTreeSet<Date> = by_law.days_off(2026).unwrap().into_iter().collect();
    let only_decree: Vec<Date> = decree.difference(&law).copied().collect();
    let only_law: Vec<Date> = law
        .difference(&decree)
        .copied()
        .filter(|d| !is_weekend(*d))
        .collect();
    assert_eq!(only_decree, vec![date(2026, 1, 9), date(2026, 12, 31)]);
    assert_eq!(only_law, Vec::<Date>::new());
    assert!(!by_law.is_working_day(date(2026, 3, 9)).unwrap());
    assert!(!by_law.is_working_day(date(2026, 5, 11)).unwrap());
}

#[test]
fn years_outside_the_range_are_errors_not_guesses() {
    let c = WorkCalendar::embedded();
    assert_eq!(
        c.is_working_day(date(2024, 12, 30)),
        Err(CalendarError::YearNotCovered { year: 2024 })
    );
    assert_eq!(
        c.year(2101),
        Err(CalendarError::YearNotCovered { year: 2101 })
    );
    assert_eq!(
        c.add_working_days(date(2100, 12, 28), 10),
        Err(CalendarError::YearNotCovered { year: 2101 })
    );
    let message = CalendarError::YearNotCovered { year: 2024 }.to_string();
    assert!(
        message.contains("2024") && message.contains("2025"),
        "{message}"
    );
    // Day 0 is never looked up: counting from 31 December 2024 needs only 2025.
    let counted = c.add_working_days(date(2024, 12, 31), 1).unwrap();
    assert_eq!(counted.value, date(2025, 1, 9));
    assert_eq!(counted.calendar.years.len(), 1);
}

#[test]
fn counting_reports_the_years_used_and_their_provisional_flag() {
    let c = WorkCalendar::embedded();
    let within = c.add_working_days(date(2026, 3, 2), 5).unwrap();
    assert_eq!(within.value, date(2026, 3, 10));
    assert_eq!(
        within
            .calendar
            .years
            .iter()
            .map(|y| y.year)
            .collect::<Vec<_>>(),
        vec![2026]
    );
    assert!(!within.calendar.provisional);

    let across = c.add_working_days(date(2026, 12, 28), 10).unwrap();
    // 29, 30 December; 31 December and 1–8 January 2027 off; 11–15, 18–20 January.
    assert_eq!(across.value, date(2027, 1, 20));
    assert_eq!(
        across
            .calendar
            .years
            .iter()
            .map(|y| y.year)
            .collect::<Vec<_>>(),
        vec![2026, 2027]
    );
    assert!(across.calendar.provisional);
    assert_eq!(
        across
            .calendar
            .provisional_years()
            .map(|y| y.year)
            .collect::<Vec<_>>(),
        vec![2027]
    );
}

const FILE_2028: &str = r#"# Производственный календарь на 2028 год (пример для тестов)
year = 2028
decree = "Постановление Правительства РФ от 01.10.2027 № 9999 «О переносе выходных дней в 2028 году»"
holidays = [
  "2028-01-01..2028-01-08",
  2028-02-23,
  2028-03-08,
  "2028-05-01", 2028-05-09,
  2028-06-12,
  2028-11-06,
  2028-12-29,
]
working_weekends = []
working_days = 248
"#;

#[test]
fn a_loaded_year_replaces_the_rule_and_is_not_provisional() {
    let mut c = WorkCalendar::embedded();
    let info = c.load_year("2028.toml", FILE_2028).unwrap();
    assert_eq!(info.working_days, 248);
    assert!(!info.provisional);
    assert_eq!(
        info.source,
        YearSource::File {
            name: "2028.toml".into()
        }
    );
    assert_eq!(c.year(2028).unwrap(), info);
    assert!(!c.is_working_day(date(2028, 12, 29)).unwrap());
    assert_eq!(
        c.known_years().map(|y| y.year).collect::<Vec<_>>(),
        vec![2025, 2026, 2027, 2028]
    );
    let version = info.version.clone();
    assert_eq!(version.len(), 16);
    assert_ne!(
        version,
        WorkCalendar::embedded().year(2028).unwrap().version
    );

    // A second file for the same year is refused at its `year`.
    let err = c
        .load_year("other.toml", FILE_2028)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("other.toml:2:8: ошибка: 2028 год уже загружен из файла 2028.toml"),
        "{err}"
    );
}

#[test]
fn a_decree_file_replaces_a_provisional_shipped_year() {
    let mut c = WorkCalendar::embedded();
    let before = c.year(2027).unwrap();
    let text = "year = 2027\ndecree = \"Постановление Правительства РФ № 1 (тест)\"\n\
                holidays = [\"2027-01-01..2027-01-08\", 2027-02-22, 2027-02-23, 2027-03-08, 2027-05-03, 2027-05-10, 2027-06-14, 2027-11-04, 2027-11-05, 2027-12-31]\n\
                working_weekends = [2027-11-13]\n";
    let info = c.load_year("2027.toml", text).unwrap();
    assert!(!info.provisional);
    assert_ne!(info.version, before.version);
    assert!(c.is_working_day(date(2027, 11, 13)).unwrap());
    assert!(!c.is_working_day(date(2027, 2, 20)).unwrap());

    // A count made with the provisional data is now stale; one made within 2026 is not.
    let shipped = WorkCalendar::embedded();
    let across = shipped.add_working_days(date(2026, 12, 28), 10).unwrap();
    let within = shipped.add_working_days(date(2026, 3, 2), 5).unwrap();
    assert!(across.calendar.is_current(&shipped));
    assert!(!across.calendar.is_current(&c));
    assert!(within.calendar.is_current(&c));
}

fn load_error(text: &str) -> String {
    match WorkCalendar::embedded().load_year("cal.toml", text) {
        Ok(info) => panic!("must be refused, got {info:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn calendar_file_mistakes_are_named_with_line_and_column() {
    let err = load_error("year = 2028\ndecre = \"x\"\nholidays = []\n");
    assert!(
        err.contains("cal.toml:2:1: ошибка: неизвестный ключ «decre»"),
        "{err}"
    );
    assert!(err.contains("допустимые ключи"), "{err}");
    assert!(err.contains("календарь не принят"), "{err}");

    let err = load_error("year = 2028\ndecree = \"x\"\n");
    assert!(
        err.contains("не хватает обязательного ключа «holidays»"),
        "{err}"
    );

    let err = load_error("year = 2024\ndecree = \"x\"\nholidays = []\n");
    assert!(
        err.contains("cal.toml:1:8: ошибка: год 2024 вне диапазона"),
        "{err}"
    );

    let err = load_error(&FILE_2028.replace("decree = ", "note = "));
    assert!(err.contains("не указано постановление"), "{err}");
    assert!(err.contains("provisional = true"), "{err}");

    // A date of another year, a bad date, a duplicate, a weekday as a working weekend.
    let err = load_error(
        &FILE_2028
            .replace(
                "2028-03-08,",
                "2028-03-08, 2027-03-08, \"2028-02-30\", 2028-02-23, \"2028-04-03T10:00\",",
            )
            .replace("working_weekends = []", "working_weekends = [2028-01-10]"),
    );
    assert!(
        err.contains("cal.toml:7:15: ошибка: holidays: 2027-03-08 не относится к 2028 году"),
        "{err}"
    );
    assert!(err.contains("«2028-02-30» не разобрано как дата"), "{err}");
    assert!(err.contains("holidays: 2028-02-23 указан дважды"), "{err}");
    assert!(err.contains("«2028-04-03T10:00» не разобрано"), "{err}");
    assert!(
        err.contains(
            "cal.toml:13:21: ошибка: 2028-01-10 — понедельник, а не суббота или воскресенье"
        ),
        "{err}"
    );
}

#[test]
fn a_calendar_file_cannot_contradict_article_112() {
    // 1 May 2028 is a Monday and a statutory holiday.
    let err = load_error(&FILE_2028.replace("\"2028-05-01\", ", ""));
    assert!(
        err.contains("в holidays нет 2028-05-01 (понедельник, Праздник Весны и Труда)"),
        "{err}"
    );
    assert!(err.contains("cal.toml:4:12"), "{err}");
    // 1 January 2028 is a Saturday: it cannot be made a working day either.
    let err = load_error(&FILE_2028.replace(
        "working_weekends = []",
        "working_weekends = [\"2028-01-01\"]",
    ));
    assert!(
        err.contains("нерабочий праздничный день по ст. 112"),
        "{err}"
    );
    // The declared total must match the dates.
    let err = load_error(&FILE_2028.replace("working_days = 248", "working_days = 247"));
    assert!(
        err.contains("cal.toml:14:16: ошибка: в файле указано рабочих дней: 247, а по перечисленным датам их 248"),
        "{err}"
    );
}

#[test]
fn a_provisional_file_needs_no_decree() {
    let text = FILE_2028
        .replace("decree = ", "note = ")
        .replace("year = 2028", "year = 2028\nprovisional = true");
    let mut c = WorkCalendar::embedded();
    let info = c.load_year("draft.toml", &text).unwrap();
    assert!(info.provisional);
    assert!(info.decree.is_none());
}

fn any_date() -> impl Strategy<Value = Date> {
    // 2025 to 2031: shipped, provisional and ст. 112 years and the changes between them.
    (0i32..(7 * 365)).prop_map(|offset| {
        date(2025, 1, 1)
            .checked_add(jiff::Span::new().days(offset))
            .unwrap()
    })
}

proptest! {
    #[test]
    fn a_due_date_is_never_a_non_working_day(from in any_date(), n in 1u32..300) {
        let c = WorkCalendar::embedded();
        let due = c.add_working_days(from, n).unwrap().value;
        prop_assert!(due > from);
        prop_assert!(c.is_working_day(due).unwrap(), "{} + {} = {}", from, n, due);
    }

    #[test]
    fn adding_a_then_b_equals_adding_a_plus_b(from in any_date(), a in 0u32..200, b in 0u32..200) {
        let c = WorkCalendar::embedded();
        let at_once = c.add_working_days(from, a + b).unwrap();
        let first = c.add_working_days(from, a).unwrap();
        let then = c.add_working_days(first.value, b).unwrap();
        prop_assert_eq!(at_once.value, then.value);
    }

    #[test]
    fn counting_back_gives_n(from in any_date(), n in 0u32..400) {
        let c = WorkCalendar::embedded();
        let to = c.add_working_days(from, n).unwrap();
        let counted = c.working_days_between(from, to.value).unwrap();
        prop_assert_eq!(counted.value, n);
        prop_assert_eq!(counted.calendar, to.calendar);
    }
}
