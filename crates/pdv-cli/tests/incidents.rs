//! `pdv incidents`: an incident registered at the console, overdue unmistakably (exit 3), its
//! draft notices, its steps to closing, and the refusals.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn policy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/lider.toml")
}

fn pdv(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pdv"));
    command.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PDV_") {
            command.env_remove(name);
        }
    }
    command
        .env("PDV_POLICY", policy())
        .env("PDV_LOG", "error")
        .args(args)
        .output()
        .expect("pdv runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = pdv(dir, args);
    assert!(out.status.success(), "pdv {args:?}: {}", text(&out));
    text(&out)
}

#[test]
fn an_incident_is_registered_overdue_notified_and_closed_at_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["init"]);
    let out = ok(d, &["incidents", "due"]);
    assert!(out.contains("просроченных нет"), "{out}");

    // Detected thirty hours ago: the first notice is six hours late.
    let detected = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(30)).to_string();
    let out = ok(
        d,
        &[
            "incidents",
            "register",
            "--detected-at",
            &detected,
            "--how",
            "Письмо с выгрузкой заказов ушло постороннему адресату",
            "--categories",
            "contacts,addresses",
            "--subjects",
            "40",
            "--identifiers",
            "80",
            "--causes",
            "Ошибка автодополнения адреса",
            "--harm",
            "Адреса покупателей стали известны постороннему",
            "--measures",
            "Адресат удалил письмо",
        ],
    );
    let year = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(30))
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Moscow").unwrap())
        .year();
    let number = format!("{year}-000001");
    assert!(out.contains(&format!("№ {number}")), "{out}");
    assert!(out.contains("ПРОСРОЧЕНО на 6 ч"), "{out}");

    let due = pdv(d, &["incidents", "due"]);
    assert_eq!(
        due.status.code(),
        Some(3),
        "overdue exits 3: {}",
        text(&due)
    );
    let shown = text(&due);
    assert!(shown.contains("ПРОСРОЧЕНО на 6 ч"), "{shown}");
    assert!(shown.contains("первичное уведомление"), "{shown}");
    assert!(shown.contains("ст. 21 ч. 3.1 п. 1 152-ФЗ"), "{shown}");
    let json = pdv(d, &["incidents", "due", "--json"]);
    assert_eq!(json.status.code(), Some(3));
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(list[0]["next"]["state"], "overdue");

    let draft = ok(d, &["incidents", "notice", &number, "--kind", "first"]);
    for part in [
        "Уведомление об инциденте в области персональных данных",
        &format!("Номер инцидента в реестре оператора: {number}"),
        "ИНН: 7723456782",
        "Ошибка автодополнения адреса",
        "Петрова Мария Ивановна",
    ] {
        assert!(draft.contains(part), "{part:?} missing from\n{draft}");
    }
    let results_draft = pdv(d, &["incidents", "notice", &number, "--kind", "results"]);
    assert!(results_draft.status.success());
    assert!(
        text(&results_draft).contains("в проекте не хватает"),
        "{}",
        text(&results_draft)
    );

    let out = ok(
        d,
        &[
            "incidents",
            "mark",
            &number,
            "first-sent",
            "--how",
            "портал Роскомнадзора",
            "--reference",
            "17",
        ],
    );
    assert!(out.contains("с опозданием на 6 ч"), "{out}");
    let out = ok(d, &["incidents", "due"]);
    assert!(
        out.contains("уведомление о результатах внутреннего расследования"),
        "{out}"
    );
    let refused = pdv(
        d,
        &[
            "incidents",
            "mark",
            &number,
            "results-sent",
            "--how",
            "портал",
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused).contains("результаты внутреннего расследования не внесены"),
        "{}",
        text(&refused)
    );
    ok(
        d,
        &[
            "incidents",
            "mark",
            &number,
            "results",
            "--results",
            "Адрес подставило автодополнение почтового клиента",
            "--persons",
            "менеджер Орлова О. О.",
        ],
    );
    ok(
        d,
        &[
            "incidents",
            "mark",
            &number,
            "results-sent",
            "--how",
            "портал",
        ],
    );
    ok(d, &["incidents", "mark", &number, "close"]);
    let shown = ok(d, &["incidents", "show", &number]);
    assert!(shown.contains("закрыт"), "{shown}");
    assert!(shown.contains("менеджер Орлова О. О."), "{shown}");
    let list = pdv(d, &["incidents", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["status"], "closed");
    let out = ok(d, &["incidents", "due"]);
    assert!(out.contains("просроченных нет"), "{out}");
    let out = ok(d, &["audit", "verify"]);
    assert!(!out.is_empty());
}

#[test]
fn a_report_comes_from_a_file_and_bad_input_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["init"]);
    std::fs::write(
        d.join("incident.toml"),
        r#"
detected_at = "2026-01-10 09:00"
how = """
Ночью с сервера резервных копий была скачана копия базы заказов.
Обнаружено утром по журналу доступа."""
categories = ["contacts"]
subjects = 1200
identifiers = 2400
causes = "Открытый порт сервера резервных копий"
harm = "Телефоны и адреса эл. почты покупателей могут использоваться для мошеннических звонков"
measures = "Порт закрыт, пароли сменены, копия удалена"

[contact]
name = "Сидоров Семён Семёнович"
position = "администратор безопасности"
email = "security@example.ru"
"#,
    )
    .unwrap();
    let out = ok(
        d,
        &["incidents", "register", "--file", "incident.toml", "--json"],
    );
    let view: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(view["number"], "2026-000001");
    assert_eq!(view["contact"]["name"], "Сидоров Семён Семёнович");
    assert_eq!(view["timers"][1]["state"], "overdue");

    let bad = pdv(
        d,
        &[
            "incidents",
            "register",
            "--file",
            "incident.toml",
            "--categories",
            "horoscope",
            "--subjects",
            "-5",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    let shown = text(&bad);
    assert!(shown.contains("categories[0]"), "{shown}");
    assert!(shown.contains("subjects"), "{shown}");
    let bad = pdv(
        d,
        &["incidents", "notice", "2026-000001", "--kind", "second"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("--kind"), "{}", text(&bad));
    let bad = pdv(d, &["incidents", "show", "42"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("ГГГГ-НННННН"), "{}", text(&bad));
    let bad = pdv(d, &["incidents", "mark", "2026-000001", "send"]);
    assert_eq!(bad.status.code(), Some(2));
}
