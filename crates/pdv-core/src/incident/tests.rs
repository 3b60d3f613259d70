use super::*;
use crate::law::{INCIDENT_FIRST_NOTICE_ELEMENTS, INCIDENT_RESULTS_ELEMENTS};
use crate::policy::test_fixture;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const DETECTED: &str = "2026-03-02T07:00:00Z"; // 10:00 in Moscow

fn h(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

fn report() -> IncidentReport {
    IncidentReport {
        detected_at: "2026-03-02T10:00:00+03:00".into(),
        how: "Выгрузка заказов оказалась в открытом доступе; сообщил покупатель".into(),
        categories: vec!["contacts".into(), "order".into()],
        subjects: Some(120),
        identifiers: Some(240),
        causes: "Ошибка настройки прав доступа к хранилищу".into(),
        harm: "Возможное использование адресов и телефонов для рассылок".into(),
        measures: "Доступ закрыт, ссылки отозваны, пароли сменены".into(),
        contact: None,
    }
}

fn incident() -> Incident {
    let facts = report()
        .validate(&test_fixture(), ts("2026-03-02T08:00:00Z"))
        .unwrap();
    Incident::new(IncidentNumber { year: 2026, seq: 7 }, facts)
}

fn sent(at: Timestamp) -> NoticeSent {
    NoticeSent {
        at,
        how: "портал Роскомнадзора".into(),
        reference: Some("ИНЦ-123".into()),
    }
}

fn findings() -> Investigation {
    Investigation {
        results: "Права доступа были открыты при переносе хранилища".into(),
        persons: Some("Сидоров С. С., системный администратор".into()),
    }
}

#[test]
fn the_periods_are_rule_d7_of_the_deadline_table_in_hours() {
    assert_eq!(Timer::FirstNotice.stage().term, Term::Hours(24));
    assert_eq!(Timer::Results.stage().term, Term::Hours(72));
    assert_eq!(Timer::FirstNotice.period(), h(24));
    assert_eq!(Timer::Results.period(), h(72));
    assert_eq!(Timer::FirstNotice.norm(), "ст. 21 ч. 3.1 п. 1 152-ФЗ");
    assert_eq!(Timer::Results.norm(), "ст. 21 ч. 3.1 п. 2 152-ФЗ");
    assert_eq!(RULE.rule().norm, law::INCIDENT_NORM);
    for t in Timer::ALL {
        assert_eq!(Timer::parse(t.as_str()), Some(t));
    }
}

#[test]
fn hours_run_continuously_from_detection_through_nights_and_holidays() {
    // Detected on the eve of the New Year holidays: the first notice is due on 1 January.
    let d = ts("2025-12-31T12:30:00+03:00");
    assert_eq!(Timer::FirstNotice.due(d), ts("2026-01-01T12:30:00+03:00"));
    assert_eq!(Timer::Results.due(d), ts("2026-01-03T12:30:00+03:00"));
}

#[test]
fn the_first_timer_is_in_time_at_exactly_24_hours_and_overdue_just_after() {
    let d = ts(DETECTED);
    let due = Timer::FirstNotice.due(d);
    assert_eq!(due, ts("2026-03-03T07:00:00Z"));
    let at = |offset: SignedDuration| TimerState::at(due, None, d + offset);
    assert_eq!(at(h(1)), TimerState::Pending { left: h(23) });
    // Six hours before is the edge of "due soon".
    assert_eq!(
        at(h(18) - SignedDuration::from_secs(1)),
        TimerState::Pending {
            left: h(6) + SignedDuration::from_secs(1)
        }
    );
    assert_eq!(at(h(18)), TimerState::DueSoon { left: h(6) });
    // At the due instant itself the notice is still in time.
    assert_eq!(
        at(h(24)),
        TimerState::DueSoon {
            left: SignedDuration::ZERO
        }
    );
    assert!(!at(h(24)).is_overdue());
    let just_after = at(h(24) + SignedDuration::from_millis(1));
    assert_eq!(
        just_after,
        TimerState::Overdue {
            by: SignedDuration::from_millis(1)
        }
    );
    assert_eq!(
        at(h(29)),
        TimerState::Overdue { by: h(5) },
        "five hours late"
    );
    assert_eq!(at(h(29)).describe(), "ПРОСРОЧЕНО на 5 ч");
    // Sent exactly at the due instant: in time; a second later: late by that second.
    assert_eq!(
        TimerState::at(due, Some(due), d + h(30)),
        TimerState::Done {
            at: due,
            late_by: None
        }
    );
    let late = due + SignedDuration::from_secs(1);
    assert_eq!(
        TimerState::at(due, Some(late), d + h(30)),
        TimerState::Done {
            at: late,
            late_by: Some(SignedDuration::from_secs(1))
        }
    );
}

#[test]
fn the_results_timer_is_in_time_at_exactly_72_hours_and_overdue_just_after() {
    let mut i = incident();
    let d = i.facts.detected_at;
    i.apply(Step::FirstNoticeSent(sent(d + h(3)))).unwrap();
    let at = |i: &Incident, offset: SignedDuration| i.timers(d + offset)[1].state;
    assert_eq!(i.timers(d)[1].due, ts("2026-03-05T07:00:00Z"));
    assert_eq!(at(&i, h(66)), TimerState::DueSoon { left: h(6) });
    assert_eq!(
        at(&i, h(72)),
        TimerState::DueSoon {
            left: SignedDuration::ZERO
        }
    );
    assert!(!i.is_overdue(d + h(72)));
    assert!(!overdue(d, i.status, d + h(72)));
    assert_eq!(
        at(&i, h(72) + SignedDuration::from_millis(1)),
        TimerState::Overdue {
            by: SignedDuration::from_millis(1)
        }
    );
    assert!(i.is_overdue(d + h(72) + SignedDuration::from_millis(1)));
    assert!(overdue(
        d,
        i.status,
        d + h(72) + SignedDuration::from_millis(1)
    ));
    // The first notice went in three hours: done, in time, whatever the hour now.
    assert_eq!(
        i.timers(d + h(100))[0].state,
        TimerState::Done {
            at: d + h(3),
            late_by: None
        }
    );
    // Results sent exactly at 72 hours are in time, and nothing is overdue afterwards.
    i.apply(Step::Results(findings())).unwrap();
    i.apply(Step::ResultsSent(sent(d + h(72)))).unwrap();
    let later = d + h(500);
    assert_eq!(
        i.timers(later)[1].state,
        TimerState::Done {
            at: d + h(72),
            late_by: None
        }
    );
    assert!(!i.is_overdue(later));
    assert!(!overdue(d, i.status, later));
    assert_eq!(i.next_timer(later), None);
}

#[test]
fn the_next_timer_is_the_first_notice_still_to_send() {
    let mut i = incident();
    let d = i.facts.detected_at;
    let next = i.next_timer(d + h(30)).unwrap();
    assert_eq!(next.timer, Timer::FirstNotice);
    assert_eq!(next.state, TimerState::Overdue { by: h(6) });
    // Both are overdue once 72 hours pass without a notice; monitoring agrees.
    assert!(i.timers(d + h(73)).iter().all(|t| t.state.is_overdue()));
    assert!(overdue(d, Status::Registered, d + h(25)));
    i.apply(Step::FirstNoticeSent(sent(d + h(30)))).unwrap();
    assert_eq!(i.next_timer(d + h(31)).unwrap().timer, Timer::Results);
    assert!(!overdue(d, Status::FirstNoticeSent, d + h(31)));
}

#[test]
fn the_state_machine_refuses_steps_out_of_order() {
    let mut i = incident();
    let d = i.facts.detected_at;
    assert_eq!(
        i.check(&Step::ResultsSent(sent(d + h(2)))),
        Err(StepRefused::FirstNoticeNotSent)
    );
    assert_eq!(i.check(&Step::Close), Err(StepRefused::ResultsNotSent));
    assert_eq!(
        i.check(&Step::FirstNoticeSent(sent(d - h(1)))),
        Err(StepRefused::SentBeforeDetection)
    );
    // Results may be recorded before the first notice, and replaced until they are sent.
    assert_eq!(
        i.apply(Step::Results(Investigation {
            results: "черновик".into(),
            persons: None
        })),
        Ok(Status::Registered)
    );
    assert_eq!(i.apply(Step::Results(findings())), Ok(Status::Registered));
    assert_eq!(i.investigation, Some(findings()));
    assert_eq!(
        i.apply(Step::FirstNoticeSent(sent(d + h(5)))),
        Ok(Status::FirstNoticeSent)
    );
    assert_eq!(
        i.check(&Step::FirstNoticeSent(sent(d + h(6)))),
        Err(StepRefused::FirstNoticeAlreadySent)
    );
    assert_eq!(
        i.check(&Step::Dismiss {
            reason: "ложная тревога".into()
        }),
        Err(StepRefused::AlreadyNotified)
    );
    assert_eq!(
        i.check(&Step::ResultsSent(sent(d + h(4)))),
        Err(StepRefused::SentBeforeFirstNotice)
    );
    assert_eq!(i.check(&Step::Close), Err(StepRefused::ResultsNotSent));
    assert_eq!(
        i.apply(Step::ResultsSent(sent(d + h(50)))),
        Ok(Status::ResultsSent)
    );
    assert_eq!(
        i.check(&Step::Results(findings())),
        Err(StepRefused::ResultsAlreadySent)
    );
    assert_eq!(
        i.check(&Step::ResultsSent(sent(d + h(51)))),
        Err(StepRefused::ResultsAlreadySent)
    );
    assert_eq!(i.apply(Step::Close), Ok(Status::Closed));
    for step in [
        Step::Close,
        Step::Results(findings()),
        Step::FirstNoticeSent(sent(d + h(60))),
    ] {
        assert_eq!(i.check(&step), Err(StepRefused::Closed(Status::Closed)));
    }
    // Codes are stable and distinct.
    let codes: std::collections::BTreeSet<&str> = [
        StepRefused::Closed(Status::Closed),
        StepRefused::FirstNoticeAlreadySent,
        StepRefused::FirstNoticeNotSent,
        StepRefused::NoResults,
        StepRefused::ResultsAlreadySent,
        StepRefused::ResultsNotSent,
        StepRefused::AlreadyNotified,
        StepRefused::SentBeforeDetection,
        StepRefused::SentBeforeFirstNotice,
    ]
    .iter()
    .map(StepRefused::code)
    .collect();
    assert_eq!(codes.len(), 9);
}

#[test]
fn the_results_notice_needs_recorded_results() {
    let mut i = incident();
    let d = i.facts.detected_at;
    i.apply(Step::FirstNoticeSent(sent(d + h(1)))).unwrap();
    assert_eq!(
        i.check(&Step::ResultsSent(sent(d + h(2)))),
        Err(StepRefused::NoResults)
    );
}

#[test]
fn a_dismissed_incident_needs_no_notice_and_is_never_overdue() {
    let mut i = incident();
    let d = i.facts.detected_at;
    assert_eq!(
        i.apply(Step::Dismiss {
            reason: "выгрузка не содержала персональных данных".into()
        }),
        Ok(Status::Dismissed)
    );
    let later = d + h(100);
    assert!(
        i.timers(later)
            .iter()
            .all(|t| t.state == TimerState::NotRequired)
    );
    assert!(!i.is_overdue(later));
    assert!(!overdue(d, Status::Dismissed, later));
    assert_eq!(i.next_timer(later), None);
    assert_eq!(
        i.check(&Step::Close),
        Err(StepRefused::Closed(Status::Dismissed))
    );
}

#[test]
fn a_report_is_checked_field_by_field() {
    let policy = test_fixture();
    let now = ts("2026-03-02T08:00:00Z");
    let facts = report().validate(&policy, now).unwrap();
    assert_eq!(facts.detected_at, ts(DETECTED));
    assert_eq!(facts.subjects, 120);
    // Without a contact, the operator's responsible person is the contact.
    assert_eq!(facts.contact.name, "Иванова Анна Петровна");
    assert_eq!(facts.contact.email.as_deref(), Some("dpo@example.ru"));
    // A local time is read in the operator's zone (Moscow, UTC+3).
    let local = IncidentReport {
        detected_at: "2026-03-02 10:00".into(),
        ..report()
    };
    assert_eq!(
        local.validate(&policy, now).unwrap().detected_at,
        ts(DETECTED)
    );

    let bad = IncidentReport {
        detected_at: "вчера".into(),
        how: "  ".into(),
        categories: vec!["contacts".into(), "passport".into(), "contacts".into()],
        subjects: Some(-1),
        identifiers: None,
        causes: String::new(),
        harm: "x".into(),
        measures: "y".into(),
        contact: Some(Contact {
            name: "Сидоров".into(),
            position: None,
            phone: Some(" ".into()),
            email: None,
        }),
    };
    let problems = bad.validate(&policy, now).unwrap_err();
    let got: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.field.as_str(), p.code))
        .collect();
    assert_eq!(
        got,
        [
            ("detected_at", "invalid_date"),
            ("how", "required"),
            ("categories[1]", "unknown_category"),
            ("categories[2]", "duplicate_category"),
            ("subjects", "negative_count"),
            ("identifiers", "required"),
            ("causes", "required"),
            ("contact.phone", "required"),
        ]
    );
    assert!(problems.iter().all(|p| !p.message.is_empty()));

    let future = IncidentReport {
        detected_at: "2026-03-02T09:00:00Z".into(),
        ..report()
    };
    assert_eq!(
        future.validate(&policy, now).unwrap_err()[0].code,
        "in_the_future"
    );
    let none = IncidentReport {
        categories: vec![],
        ..report()
    };
    assert_eq!(
        none.validate(&policy, now).unwrap_err()[0].field,
        "categories"
    );
    // Zero subjects is a count, not a missing one.
    let zero = IncidentReport {
        subjects: Some(0),
        identifiers: Some(0),
        ..report()
    };
    assert!(zero.validate(&policy, now).is_ok());
}

#[test]
fn the_first_notice_draft_has_every_element_of_the_law() {
    let policy = test_fixture();
    let zone = TimeZone::get("Europe/Moscow").unwrap();
    let i = incident();
    let d = draft(
        NoticeKind::First,
        &i,
        &policy,
        &zone,
        ts("2026-03-02T09:00:00Z"),
    );
    let t = &d.text;
    assert!(d.missing.is_empty(), "{:?}", d.missing);
    for el in INCIDENT_FIRST_NOTICE_ELEMENTS {
        assert!(t.contains(el.heading), "{}: {t}", el.id);
    }
    for value in [
        // The incident, with its number.
        "2026-000007",
        "02.03.2026 10:00 (Europe/Moscow)",
        "Выгрузка заказов оказалась в открытом доступе",
        "Контактные данные (contacts)",
        "Сведения о заказе (order)",
        ": 120",
        ": 240",
        // Causes, harm, measures, contact.
        "Ошибка настройки прав доступа",
        "Возможное использование адресов",
        "Доступ закрыт, ссылки отозваны",
        "Иванова Анна Петровна, Ответственный за организацию обработки ПДн, эл. почта dpo@example.ru",
        // The operator from the policy.
        "Общество с ограниченной ответственностью «Пример»",
        "ИНН: 7712345671",
        "ОГРН: 1027712345671",
        "г. Москва, ул. Примерная, д. 1",
        // The norm and the deadlines.
        "ст. 21 ч. 3.1 п. 1 152-ФЗ",
        "в течение 24 часов с момента выявления",
        "не позднее 03.03.2026 10:00",
        "не позднее 05.03.2026 10:00",
        "demo = true",
    ] {
        assert!(t.contains(value), "{value:?} missing from:\n{t}");
    }
    assert!(!t.contains(BLANK));
}

#[test]
fn the_results_draft_has_every_element_and_marks_what_is_not_recorded_yet() {
    let policy = test_fixture();
    let zone = TimeZone::get("Europe/Moscow").unwrap();
    let mut i = incident();
    let now = ts("2026-03-03T09:00:00Z");
    let empty = draft(NoticeKind::Results, &i, &policy, &zone, now);
    assert_eq!(empty.missing, ["first_notice", "results", "persons"]);
    assert!(empty.text.contains(BLANK));
    for el in INCIDENT_RESULTS_ELEMENTS {
        assert!(empty.text.contains(el.heading), "{}", el.id);
    }

    let d = i.facts.detected_at;
    i.apply(Step::FirstNoticeSent(sent(d + h(2)))).unwrap();
    i.apply(Step::Results(findings())).unwrap();
    let full = draft(NoticeKind::Results, &i, &policy, &zone, now);
    assert!(full.missing.is_empty());
    let t = &full.text;
    for el in INCIDENT_RESULTS_ELEMENTS {
        assert!(t.contains(el.heading), "{}: {t}", el.id);
    }
    for value in [
        "2026-000007",
        "Права доступа были открыты при переносе хранилища",
        "Сидоров С. С., системный администратор",
        "02.03.2026 12:00 (Europe/Moscow), портал Роскомнадзора, номер ИНЦ-123",
        "ИНН: 7712345671",
        "ОГРН: 1027712345671",
        "ст. 21 ч. 3.1 п. 2 152-ФЗ",
        "в течение 72 часов с момента выявления",
        "не позднее 05.03.2026 10:00",
        INCIDENT_FIRST_NOTICE_ELEMENTS[4].heading,
    ] {
        assert!(t.contains(value), "{value:?} missing from:\n{t}");
    }
    assert!(!t.contains(BLANK));
    // No persons found: the notice says so rather than leaving the element out.
    i.investigation = Some(Investigation {
        results: "r".into(),
        persons: None,
    });
    let t = draft(NoticeKind::Results, &i, &policy, &zone, now).text;
    assert!(t.contains("причиной инцидента: не установлены"), "{t}");
}

#[test]
fn durations_read_in_hours_and_minutes_rounded_up() {
    assert_eq!(hours_minutes(SignedDuration::ZERO), "0 мин");
    assert_eq!(hours_minutes(SignedDuration::from_secs(1)), "1 мин");
    assert_eq!(hours_minutes(SignedDuration::from_secs(60)), "1 мин");
    assert_eq!(hours_minutes(SignedDuration::from_secs(61)), "2 мин");
    assert_eq!(hours_minutes(h(5)), "5 ч");
    assert_eq!(
        hours_minutes(h(77) + SignedDuration::from_mins(3)),
        "77 ч 3 мин"
    );
    assert_eq!(hours_minutes(-h(2)), "2 ч");
    assert_eq!(
        TimerState::DueSoon { left: h(2) }.describe(),
        "СРОК ИСТЕКАЕТ: осталось 2 ч"
    );
}

#[test]
fn numbers_print_and_parse() {
    let n = IncidentNumber { year: 2026, seq: 1 };
    assert_eq!(n.to_string(), "2026-000001");
    assert_eq!("2026-000001".parse::<IncidentNumber>(), Ok(n));
    for bad in [
        "",
        "2026",
        "26-000001",
        "2026-",
        "2026-00x001",
        "2026-000000",
    ] {
        assert!(bad.parse::<IncidentNumber>().is_err(), "{bad:?}");
    }
}

#[test]
fn statuses_round_trip_and_only_closed_and_dismissed_are_not_open() {
    for s in Status::ALL {
        assert_eq!(Status::parse(s.as_str()), Some(s));
        assert_eq!(s.is_open(), Status::OPEN.contains(&s));
    }
}
