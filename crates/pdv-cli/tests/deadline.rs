//! `pdv deadline`: the built binary, run as an operator would, on the shipped calendar and on
//! calendar files given by flag, variable and `pdv.toml`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn policy(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(name)
}

/// `pdv` in `dir`, with none of the test runner's own `PDV_…` settings, the «ЛИДЕР» policy
/// (Europe/Moscow) and a quiet log.
fn command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pdv"));
    command.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PDV_") {
            command.env_remove(name);
        }
    }
    command
        .env("PDV_POLICY", policy("lider.toml"))
        .env("PDV_LOG", "error");
    command
}

fn pdv(dir: &Path, args: &[&str]) -> Output {
    command(dir).args(args).output().expect("pdv runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs a command that must succeed and print JSON.
fn json(dir: &Path, args: &[&str]) -> Value {
    let out = pdv(dir, args);
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

/// Runs a command that must fail with exit code 2, and returns what it said.
fn refused(dir: &Path, args: &[&str]) -> String {
    let out = pdv(dir, args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    text(&out)
}

#[test]
fn a_deadline_across_the_new_year_holidays_with_and_without_extension() {
    let dir = tempfile::tempdir().unwrap();
    let out = pdv(
        dir.path(),
        &["deadline", "D1", "--from", "2025-12-25T10:00:00+03:00"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("срок: 2026-01-20 (вторник) включительно"),
        "{shown}"
    );
    assert!(
        shown.contains("день 0 — 2025-12-25") && shown.contains("Europe/Moscow"),
        "{shown}"
    );
    assert!(
        shown.contains("№ 1335") && shown.contains("№ 1466"),
        "{shown}"
    );
    assert!(
        shown.contains("данные календаря предварительные: нет"),
        "{shown}"
    );
    assert!(shown.contains("--extended"), "{shown}");

    let out = pdv(
        dir.path(),
        &[
            "deadline",
            "d1",
            "--from",
            "2025-12-25T07:00:00Z",
            "--extended",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("срок: 2026-01-27 (вторник)"), "{shown}");
    assert!(shown.contains("без продления — 2026-01-20"), "{shown}");
    assert!(shown.contains("15 рабочих дней"), "{shown}");

    let v = json(
        dir.path(),
        &[
            "deadline",
            "D13",
            "--from",
            "2025-12-25T07:00:00Z",
            "--extended",
            "--json",
        ],
    );
    assert_eq!(v["due"], "2026-01-27");
    assert_eq!(v["extended"], true);
    assert_eq!(v["extension"]["amount"], 5);
    assert_eq!(v["stages"][0]["unextended_due"], "2026-01-20");
    assert_eq!(v["provisional"], false);
}

#[test]
fn may_holidays_a_working_saturday_and_the_31st_of_december() {
    let dir = tempfile::tempdir().unwrap();
    let due = |rule: &str, from: &str| {
        json(dir.path(), &["deadline", rule, "--from", from, "--json"])["due"].clone()
    };
    assert_eq!(due("D2", "2025-04-30T15:00:00+03:00"), "2025-05-15");
    assert_eq!(due("D5", "2025-10-29T12:00:00+03:00"), "2025-11-01");
    assert_eq!(due("D1", "2025-12-31T12:00:00+03:00"), "2026-01-23");
    // Calendar days end on their last day, a holiday included.
    assert_eq!(due("D8", "2025-12-02T12:00:00+03:00"), "2026-01-01");

    // Counting into 2027 uses provisional data, and says so.
    let v = json(
        dir.path(),
        &["deadline", "D1", "--from", "2026-12-31", "--json"],
    );
    assert_eq!(v["due"], "2027-01-22");
    assert_eq!(v["received_on"], "2026-12-31");
    assert_eq!(v["received_local"], "2026-12-31T00:00:00+03:00");
    assert_eq!(v["provisional"], true);
    assert_eq!(v["calendar"][0]["year"], 2027);
    assert_eq!(v["calendar"][0]["provisional"], true);
    let out = pdv(dir.path(), &["deadline", "D1", "--from", "2026-12-31"]);
    assert!(
        text(&out).contains("данные календаря предварительные: ДА — 2027"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_same_instant_is_another_day_in_vladivostok_and_the_policy_zone_is_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let instant = "2025-10-30T20:00:00Z";
    let moscow = json(dir.path(), &["deadline", "D2", "--from", instant, "--json"]);
    assert_eq!(moscow["time_zone"], "Europe/Moscow");
    assert!(
        moscow["time_zone_source"]
            .as_str()
            .unwrap()
            .contains("lider.toml")
    );
    assert_eq!(moscow["received_on"], "2025-10-30");
    assert_eq!(moscow["due"], "2025-11-11");
    let vladivostok = json(
        dir.path(),
        &[
            "deadline",
            "D2",
            "--from",
            instant,
            "--tz",
            "Asia/Vladivostok",
            "--json",
        ],
    );
    assert_eq!(vladivostok["received_on"], "2025-10-31");
    assert_eq!(vladivostok["received_local"], "2025-10-31T06:00:00+10:00");
    assert_eq!(vladivostok["due"], "2025-11-12");
    assert_eq!(vladivostok["time_zone_source"], "флаг --tz");
    // «КОНЕКТ» counts in Novosibirsk (+07:00), where it is already Friday.
    let konekt = policy("konekt.toml");
    let novosibirsk = json(
        dir.path(),
        &[
            "deadline",
            "D2",
            "--from",
            instant,
            "--policy",
            konekt.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(novosibirsk["time_zone"], "Asia/Novosibirsk");
    assert_eq!(novosibirsk["received_on"], "2025-10-31");
    // Without a policy file at the default path, Moscow.
    let mut bare = command(dir.path());
    bare.env_remove("PDV_POLICY");
    let out = bare
        .args(["deadline", "D9", "--from", instant, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["time_zone"], "Europe/Moscow");
    assert_eq!(v["due"], "2025-11-29");
    // A policy that was named but is missing is an error, not Moscow.
    let err = refused(
        dir.path(),
        &[
            "deadline",
            "D9",
            "--from",
            instant,
            "--policy",
            "absent.toml",
        ],
    );
    assert!(err.contains("absent.toml"), "{err}");
}

#[test]
fn hour_rules_run_across_midnight_and_print_both_stages_of_d7() {
    let dir = tempfile::tempdir().unwrap();
    let v = json(
        dir.path(),
        &[
            "deadline",
            "D7",
            "--from",
            "2025-12-31T22:30:00+03:00",
            "--json",
        ],
    );
    assert_eq!(v["stages"][0]["due"], "2026-01-01T19:30:00Z");
    assert_eq!(v["stages"][0]["due_local"], "2026-01-01T22:30:00+03:00");
    assert_eq!(v["stages"][0]["term"]["amount"], 24);
    assert_eq!(v["stages"][1]["due"], "2026-01-03T19:30:00Z");
    assert_eq!(v["due"], "2026-01-03T19:30:00Z");
    assert_eq!(v["calendar"], serde_json::json!([]));
    let out = pdv(
        dir.path(),
        &["deadline", "D7", "--from", "2025-12-31T22:30:00+03:00"],
    );
    let shown = text(&out);
    assert!(
        shown.contains("срок 1: 2026-01-01T19:30:00Z (2026-01-01T22:30:00+03:00 по Europe/Moscow)"),
        "{shown}"
    );
    assert!(shown.contains("срок 2: 2026-01-03T19:30:00Z"), "{shown}");
    let v = json(
        dir.path(),
        &[
            "deadline",
            "D12",
            "--from",
            "2026-01-03T03:04:05Z",
            "--json",
        ],
    );
    assert_eq!(v["due"], "2026-01-03T03:04:05Z");
}

const DECREE_2027: &str = "year = 2027\n\
    decree = \"Постановление Правительства РФ (тестовое)\"\n\
    holidays = [\"2027-01-01..2027-01-08\", 2027-02-22, 2027-02-23, 2027-03-08, 2027-05-03, \
    2027-05-10, 2027-06-14, 2027-11-04, 2027-11-05, 2027-12-31]\n\
    working_weekends = [2027-11-13]\n";

#[test]
fn a_calendar_file_replaces_provisional_data_from_flag_variable_or_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("2027.toml");
    std::fs::write(&file, DECREE_2027).unwrap();
    let file = file.to_str().unwrap();
    let args = ["deadline", "D1", "--from", "2026-12-31", "--json"];

    let check = |v: Value| {
        assert_eq!(v["provisional"], false, "{v}");
        assert_eq!(v["calendar"][0]["source"]["kind"], "file");
        assert!(
            v["calendar"][0]["decree"]
                .as_str()
                .unwrap()
                .contains("тестовое")
        );
    };
    let mut with_flag = args.to_vec();
    with_flag.extend(["--calendar", file]);
    check(json(dir.path(), &with_flag));

    let out = command(dir.path())
        .env("PDV_CALENDAR_FILES", file)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    check(serde_json::from_slice(&out.stdout).unwrap());

    std::fs::write(
        dir.path().join("pdv.toml"),
        "[calendar]\nfiles = [\"2027.toml\"]\n",
    )
    .unwrap();
    check(json(dir.path(), &args));
    // The working Saturday of the decree counts: 3 WD from Wednesday 10 November 2027.
    let v = json(
        dir.path(),
        &["deadline", "D5", "--from", "2027-11-10", "--json"],
    );
    assert_eq!(v["due"], "2027-11-13");
    let out = pdv(dir.path(), &["config", "show"]);
    assert!(
        text(&out).contains("files = [\"2027.toml\"]  # "),
        "{}",
        text(&out)
    );
}

#[test]
fn mistakes_are_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let err = refused(dir.path(), &["deadline", "D15", "--from", "2025-01-01"]);
    assert!(err.contains("неизвестное правило «D15»"), "{err}");
    let err = refused(
        dir.path(),
        &["deadline", "D2", "--from", "2025-03-03", "--extended"],
    );
    assert!(err.contains("не продлевается"), "{err}");
    let err = refused(
        dir.path(),
        &["deadline", "D2", "--from", "2025-03-03T10:00"],
    );
    assert!(err.contains("нужен момент RFC 3339 со смещением"), "{err}");
    let err = refused(
        dir.path(),
        &["deadline", "D2", "--from", "2025-03-03", "--tz", "Moscow"],
    );
    assert!(err.contains("неизвестный часовой пояс «Moscow»"), "{err}");
    let err = refused(dir.path(), &["deadline", "D1", "--from", "2100-12-25"]);
    assert!(err.contains("на 2101 год нет"), "{err}");
    let err = refused(dir.path(), &["deadline", "D1", "--from", "2024-12-02"]);
    assert!(err.contains("на 2024 год нет"), "{err}");

    let bad = dir.path().join("2028.toml");
    std::fs::write(
        &bad,
        "year = 2028\ndecree = \"x\"\nholidays = [\"2028-01-01..2028-01-08\", 2028-02-23, 2028-03-08, 2028-05-09, 2028-06-12, 2028-11-06]\n",
    )
    .unwrap();
    let err = refused(
        dir.path(),
        &[
            "deadline",
            "D1",
            "--from",
            "2028-04-25",
            "--calendar",
            bad.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("2028.toml:3:12: ошибка: в holidays нет 2028-05-01"),
        "{err}"
    );
    let err = refused(
        dir.path(),
        &[
            "deadline",
            "D1",
            "--from",
            "2028-04-25",
            "--calendar",
            "absent.toml",
        ],
    );
    assert!(err.contains("absent.toml"), "{err}");

    // `pdv config check` reads the configured files too.
    let out = command(dir.path())
        .env("PDV_CALENDAR_FILES", bad.to_str().unwrap())
        .args(["config", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("производственный календарь: ОШИБКА"),
        "{}",
        text(&out)
    );
    let out = pdv(dir.path(), &["config", "check"]);
    assert!(
        text(&out).contains("производственный календарь: годы 2025, 2026, 2027 (предварительно)"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_year_without_a_decree_is_counted_by_article_112_and_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let v = json(
        dir.path(),
        &["deadline", "D1", "--from", "2028-04-28", "--json"],
    );
    assert_eq!(v["provisional"], true);
    assert_eq!(v["calendar"][0]["source"]["kind"], "labour_code");
    assert_eq!(v["calendar"][0]["decree"], Value::Null);
}

#[test]
fn the_table_lists_every_rule() {
    let dir = tempfile::tempdir().unwrap();
    let v = json(dir.path(), &["deadline", "--list", "--json"]);
    let rules = v.as_array().unwrap();
    assert_eq!(rules.len(), 14);
    assert_eq!(rules[6]["id"], "D7");
    assert_eq!(rules[6]["stages"].as_array().unwrap().len(), 2);
    let out = pdv(dir.path(), &["deadline", "--list"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(shown.lines().count(), 14, "{shown}");
    assert!(shown.contains("24 часа / 72 часа"), "{shown}");
    assert!(shown.contains("№ 179"), "{shown}");
}

#[test]
fn the_documented_calendar_file_is_accepted() {
    let doc = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/calendar.md"),
    )
    .unwrap();
    let example = doc
        .split("```toml\n")
        .filter_map(|block| block.split("```").next())
        .find(|block| block.contains("year = 2028"))
        .expect("docs/calendar.md shows a year file");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("2028.toml");
    std::fs::write(&file, example).unwrap();
    let v = json(
        dir.path(),
        &[
            "deadline",
            "D1",
            "--from",
            "2028-04-28",
            "--calendar",
            file.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(v["provisional"], false, "{v}");
    assert_eq!(v["calendar"][0]["working_days"], 249);
    // 28 April 2028 is a Friday: 2–5, 8, 10–12, 15–16 May (1 and 9 May off).
    assert_eq!(v["due"], "2028-05-16");
}
