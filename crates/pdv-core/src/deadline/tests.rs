use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;

use super::*;

fn moscow() -> TimeZone {
    TimeZone::get("Europe/Moscow").unwrap()
}

fn vladivostok() -> TimeZone {
    TimeZone::get("Asia/Vladivostok").unwrap()
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn due(rule: RuleId, received: &str, zone: &TimeZone, extended: bool) -> Deadline {
    compute(
        rule,
        at(received),
        zone,
        extended,
        &WorkCalendar::embedded(),
    )
    .unwrap_or_else(|e| panic!("{rule} from {received}: {e}"))
}

fn day(d: &Deadline) -> Date {
    match d.due {
        Due::Date(d) => d,
        Due::Instant(t) => panic!("a date was expected, got {t}"),
    }
}

fn years(d: &Deadline) -> Vec<i16> {
    d.calendar.years.iter().map(|y| y.year).collect()
}

#[test]
fn the_table_is_complete_ordered_and_consistent() {
    for (i, id) in RuleId::ALL.iter().enumerate() {
        let rule = &RULES[i];
        assert_eq!(rule.id, *id, "RULES must follow the order of RuleId");
        assert_eq!(id.rule().id, *id);
        assert!(!rule.stages.is_empty(), "{id}");
        assert!(!rule.trigger.is_empty() && !rule.norm.is_empty(), "{id}");
        for stage in rule.stages {
            assert!(
                stage.norm.contains("152-ФЗ") || stage.norm.contains("№ 179"),
                "{id}: {}",
                stage.norm
            );
        }
        if let Some(extension) = rule.extension {
            assert_eq!(rule.stages.len(), 1, "{id}");
            assert!(rule.stages[0].term.plus(extension.term).is_some(), "{id}");
        }
        assert_eq!(id.as_str().parse::<RuleId>(), Ok(*id));
        assert_eq!(id.as_str().to_lowercase().parse::<RuleId>(), Ok(*id));
    }
    // The numbers of REQUIREMENTS §3, row by row.
    let terms: Vec<Vec<Term>> = RULES
        .iter()
        .map(|r| r.stages.iter().map(|s| s.term).collect())
        .collect();
    use Term::*;
    assert_eq!(
        terms,
        vec![
            vec![WorkingDays(10)],
            vec![WorkingDays(7)],
            vec![WorkingDays(7)],
            vec![Immediately],
            vec![WorkingDays(3)],
            vec![WorkingDays(10)],
            vec![Hours(24), Hours(72)],
            vec![CalendarDays(30)],
            vec![CalendarDays(30)],
            vec![WorkingDays(10)],
            vec![Months(6)],
            vec![Immediately],
            vec![WorkingDays(10)],
            vec![Years(3)],
        ]
    );
    let extendable: Vec<RuleId> = RULES
        .iter()
        .filter(|r| r.extension.is_some())
        .map(|r| r.id)
        .collect();
    assert_eq!(extendable, vec![RuleId::D1, RuleId::D10, RuleId::D13]);
    assert_eq!(
        "D15".parse::<RuleId>(),
        Err(DeadlineError::UnknownRule("D15".into()))
    );
}

#[test]
fn terms_read_in_russian() {
    assert_eq!(Term::WorkingDays(10).to_string(), "10 рабочих дней");
    assert_eq!(Term::WorkingDays(3).to_string(), "3 рабочих дня");
    assert_eq!(Term::WorkingDays(21).to_string(), "21 рабочий день");
    assert_eq!(Term::WorkingDays(11).to_string(), "11 рабочих дней");
    assert_eq!(Term::Hours(24).to_string(), "24 часа");
    assert_eq!(Term::Hours(72).to_string(), "72 часа");
    assert_eq!(Term::CalendarDays(30).to_string(), "30 календарных дней");
    assert_eq!(Term::Months(6).to_string(), "6 месяцев");
    assert_eq!(Term::Years(3).to_string(), "3 года");
    assert_eq!(Term::Immediately.to_string(), "немедленно");
}

#[test]
fn working_days_skip_the_new_year_holidays_and_an_extension_runs_on() {
    // Thursday 25 December 2025: 26, 29, 30 December, then 31 December and 1–11 January are off.
    let d = due(RuleId::D1, "2025-12-25T10:00:00+03:00", &moscow(), false);
    assert_eq!(d.received_on, date(2025, 12, 25));
    assert_eq!(day(&d), date(2026, 1, 20));
    assert_eq!(years(&d), vec![2025, 2026]);
    assert!(!d.provisional());
    assert_eq!(d.extension, None);
    assert_eq!(d.stages[0].unextended_due, None);

    let e = due(RuleId::D1, "2025-12-25T10:00:00+03:00", &moscow(), true);
    assert_eq!(day(&e), date(2026, 1, 27));
    assert_eq!(e.extension, Some(Term::WorkingDays(5)));
    assert_eq!(e.stages[0].term, Term::WorkingDays(15));
    assert_eq!(
        e.stages[0].unextended_due,
        Some(Due::Date(date(2026, 1, 20)))
    );
    assert_eq!(
        day(&due(
            RuleId::D13,
            "2025-12-25T10:00:00+03:00",
            &moscow(),
            true
        )),
        date(2026, 1, 27)
    );
    assert_eq!(
        day(&due(
            RuleId::D10,
            "2025-12-25T10:00:00+03:00",
            &moscow(),
            true
        )),
        date(2026, 1, 27)
    );
}

#[test]
fn a_rule_without_an_extension_refuses_one() {
    let err = compute(
        RuleId::D2,
        at("2025-03-03T10:00:00Z"),
        &moscow(),
        true,
        &WorkCalendar::embedded(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        DeadlineError::NoExtension {
            rule: RuleId::D2,
            ..
        }
    ));
    assert!(err.to_string().contains("не продлевается"), "{err}");
}

#[test]
fn the_31st_of_december_is_a_day_off_in_2025_and_2026() {
    // Received on a day off: day 0 is still 31 December, counting starts on 12 January.
    let d = due(RuleId::D1, "2025-12-31T12:00:00+03:00", &moscow(), false);
    assert_eq!(d.received_on, date(2025, 12, 31));
    assert_eq!(day(&d), date(2026, 1, 23));
    assert_eq!(years(&d), vec![2026]);
    // 2027 is provisional: the deadline says so, naming the year.
    let d = due(RuleId::D1, "2026-12-31T12:00:00+03:00", &moscow(), false);
    assert_eq!(day(&d), date(2027, 1, 22));
    assert!(d.provisional());
    assert_eq!(
        d.calendar
            .provisional_years()
            .map(|y| y.year)
            .collect::<Vec<_>>(),
        vec![2027]
    );
    // Received on 30 December 2026: the 31st is skipped like a holiday.
    assert_eq!(
        day(&due(
            RuleId::D5,
            "2026-12-30T09:00:00+03:00",
            &moscow(),
            false
        )),
        date(2027, 1, 13)
    );
    // Calendar days end on their last day even when it is a holiday: no roll-forward.
    let d = due(RuleId::D8, "2025-12-02T12:00:00+03:00", &moscow(), false);
    assert_eq!(day(&d), date(2026, 1, 1));
    assert!(d.calendar.years.is_empty());
    assert_eq!(
        day(&due(
            RuleId::D9,
            "2025-12-31T23:59:59+03:00",
            &moscow(),
            false
        )),
        date(2026, 1, 30)
    );
}

#[test]
fn may_holidays_are_skipped() {
    // Wednesday 30 April 2025: 1–4 May off, 5–7 May, 8–11 May off, 12–15 May.
    let d = due(RuleId::D2, "2025-04-30T15:00:00+03:00", &moscow(), false);
    assert_eq!(day(&d), date(2025, 5, 15));
    assert_eq!(
        day(&due(
            RuleId::D3,
            "2026-04-30T15:00:00+03:00",
            &moscow(),
            false
        )),
        // 2026: 1 May off, 4–8 May, 11 May off, 12–13 May.
        date(2026, 5, 13)
    );
}

#[test]
fn a_working_saturday_counts() {
    // Thursday 30 October 2025: Friday 31, Saturday 1 November (working), 3–4 November off,
    // Wednesday 5 November.
    let d = due(RuleId::D5, "2025-10-30T12:00:00+03:00", &moscow(), false);
    assert_eq!(day(&d), date(2025, 11, 5));
    // From Wednesday 29 October the third working day is that Saturday itself.
    let d = due(RuleId::D5, "2025-10-29T12:00:00+03:00", &moscow(), false);
    assert_eq!(day(&d), date(2025, 11, 1));
    // On ст. 112 alone the Saturday would be a day off and 3 November a working day.
    let by_law = compute(
        RuleId::D5,
        at("2025-10-29T12:00:00+03:00"),
        &moscow(),
        false,
        &WorkCalendar::labour_code_only(),
    )
    .unwrap();
    assert_eq!(by_law.due, Due::Date(date(2025, 11, 3)));
    assert!(by_law.provisional());
}

#[test]
fn the_same_instant_is_a_different_day_in_moscow_and_vladivostok() {
    // 20:00 UTC: 23:00 on Thursday in Moscow, 06:00 on Friday in Vladivostok.
    let instant = "2025-10-30T20:00:00Z";
    let msk = due(RuleId::D2, instant, &moscow(), false);
    let vvo = due(RuleId::D2, instant, &vladivostok(), false);
    assert_eq!(msk.received_on, date(2025, 10, 30));
    assert_eq!(vvo.received_on, date(2025, 10, 31));
    assert_eq!(msk.time_zone, "Europe/Moscow");
    assert_eq!(vvo.time_zone, "Asia/Vladivostok");
    assert_eq!(day(&msk), date(2025, 11, 11));
    assert_eq!(day(&vvo), date(2025, 11, 12));
    assert_eq!(
        day(&due(RuleId::D9, instant, &moscow(), false)),
        date(2025, 11, 29)
    );
    assert_eq!(
        day(&due(RuleId::D9, instant, &vladivostok(), false)),
        date(2025, 11, 30)
    );
}

#[test]
fn hours_run_continuously_across_midnight_and_the_new_year() {
    let d = due(RuleId::D7, "2025-12-31T22:30:00+03:00", &moscow(), false);
    assert_eq!(d.stages.len(), 2);
    assert_eq!(d.stages[0].term, Term::Hours(24));
    assert_eq!(d.stages[0].due, Due::Instant(at("2026-01-01T19:30:00Z")));
    assert_eq!(d.stages[1].due, Due::Instant(at("2026-01-03T19:30:00Z")));
    assert_eq!(d.due, d.stages[1].due);
    assert!(d.calendar.years.is_empty(), "hours need no calendar");
    assert!(!d.provisional());
    // In Vladivostok the same instant is already 1 January, the due instants are the same.
    let v = due(
        RuleId::D7,
        "2025-12-31T22:30:00+03:00",
        &vladivostok(),
        false,
    );
    assert_eq!(v.received_on, date(2026, 1, 1));
    assert_eq!(v.stages[0].due, d.stages[0].due);
    // Hours are not moved by a day off: 24 h from a Friday evening end on Saturday evening.
    let friday = due(RuleId::D7, "2025-03-14T21:00:00+03:00", &moscow(), false);
    assert_eq!(
        friday.stages[0].due,
        Due::Instant(at("2025-03-15T18:00:00Z"))
    );
}

#[test]
fn immediate_rules_are_due_at_receipt() {
    for rule in [RuleId::D4, RuleId::D12] {
        let d = due(rule, "2026-01-03T03:04:05Z", &moscow(), false);
        assert_eq!(d.due, Due::Instant(at("2026-01-03T03:04:05Z")));
    }
}

#[test]
fn months_and_years_end_on_the_same_day_or_the_months_last() {
    assert_eq!(
        day(&due(
            RuleId::D11,
            "2025-08-31T12:00:00+03:00",
            &moscow(),
            false
        )),
        date(2026, 2, 28)
    );
    assert_eq!(
        day(&due(
            RuleId::D11,
            "2025-03-15T12:00:00+03:00",
            &moscow(),
            false
        )),
        date(2025, 9, 15)
    );
    assert_eq!(
        day(&due(
            RuleId::D14,
            "2028-02-29T12:00:00+03:00",
            &moscow(),
            false
        )),
        date(2031, 2, 28)
    );
}

#[test]
fn calendar_terms_end_on_a_date_without_the_calendar() {
    assert_eq!(
        Term::CalendarDays(30).calendar_end(date(2025, 2, 1)),
        Some(date(2025, 3, 3))
    );
    assert_eq!(
        Term::Months(6).calendar_end(date(2025, 8, 31)),
        Some(date(2026, 2, 28))
    );
    assert_eq!(
        Term::Years(3).calendar_end(date(2028, 2, 29)),
        Some(date(2031, 2, 28))
    );
    assert_eq!(Term::WorkingDays(7).calendar_end(date(2025, 2, 1)), None);
    assert_eq!(Term::Hours(24).calendar_end(date(2025, 2, 1)), None);
    assert_eq!(Term::Immediately.calendar_end(date(2025, 2, 1)), None);
    assert_eq!(Term::Years(1).calendar_end(Date::MAX), None);
}

#[test]
fn a_year_without_data_or_rules_is_an_error() {
    let err = compute(
        RuleId::D1,
        at("2100-12-25T12:00:00Z"),
        &moscow(),
        false,
        &WorkCalendar::embedded(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        DeadlineError::Calendar(CalendarError::YearNotCovered { year: 2101 })
    );
    // Received in 2024: the days counted lie in 2024, which pdvault does not cover.
    assert!(
        compute(
            RuleId::D1,
            at("2024-12-20T12:00:00Z"),
            &moscow(),
            false,
            &WorkCalendar::embedded()
        )
        .is_err()
    );
    // A year in range without a decree is counted by ст. 112 and flagged.
    let d = due(RuleId::D1, "2028-04-28T12:00:00+03:00", &moscow(), false);
    assert!(d.provisional());
    assert_eq!(years(&d), vec![2028]);
}

#[test]
fn a_deadline_serialises_for_the_journal() {
    let d = due(RuleId::D1, "2025-12-25T07:00:00Z", &moscow(), true);
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["rule"], "D1");
    assert_eq!(json["due"], "2026-01-27");
    assert_eq!(json["received_at"], "2025-12-25T07:00:00Z");
    assert_eq!(json["received_on"], "2025-12-25");
    assert_eq!(json["extension"]["unit"], "working_days");
    assert_eq!(json["extension"]["amount"], 5);
    assert_eq!(json["stages"][0]["unextended_due"], "2026-01-20");
    assert_eq!(json["calendar"]["provisional"], false);
    assert_eq!(json["calendar"]["years"][1]["year"], 2026);
    assert_eq!(json["calendar"]["years"][1]["source"]["kind"], "embedded");
    let hours =
        serde_json::to_value(due(RuleId::D7, "2025-12-25T07:00:00Z", &moscow(), false)).unwrap();
    assert_eq!(hours["due"], "2025-12-28T07:00:00Z");
}
