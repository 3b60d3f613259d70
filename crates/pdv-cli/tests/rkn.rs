//! Localisation and the ст. 22 notice at the command line: `pdv serve` refuses a policy whose
//! primary database is abroad before it creates a key or a database, `pdv policy check` reports
//! a foreign store with its line and a missing kind of store, and `pdv rkn notice` exits 3 until
//! the notice is filed and again after the policy changes what it states.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shipped(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../policies")
        .join(name)
}

/// `pdv` in `dir`, with none of the test runner's own `PDV_…` settings and a quiet log.
fn pdv(dir: &Path, policy: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pdv"));
    command.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PDV_") {
            command.env_remove(name);
        }
    }
    command
        .env("PDV_POLICY", policy)
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

/// The shipped «ЛИДЕР» policy with one replacement, written into `dir`.
fn variant(dir: &Path, file: &str, from: &str, to: &str) -> PathBuf {
    let source = std::fs::read_to_string(shipped("lider.toml")).unwrap();
    assert!(source.contains(from), "lider.toml lacks {from:?}");
    let path = dir.join(file);
    std::fs::write(&path, source.replacen(from, to, 1)).unwrap();
    path
}

const PRIMARY_RU: &str =
    "kind = \"primary\"\ntitle = \"Основная база данных pdvault (ЦОД в Москве)\"\ncountry = \"RU\"";
const PRIMARY_DE: &str =
    "kind = \"primary\"\ntitle = \"Основная база данных pdvault (ЦОД в Москве)\"\ncountry = \"DE\"";

#[test]
fn serve_refuses_a_primary_database_abroad_before_touching_anything() {
    let dir = tempfile::tempdir().unwrap();
    let policy = variant(dir.path(), "abroad.toml", PRIMARY_RU, PRIMARY_DE);
    let out = pdv(
        dir.path(),
        &policy,
        &["serve", "--demo", "--listen", "127.0.0.1:0"],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("pdv serve не запущен"), "{said}");
    assert!(
        said.contains("хранилище «primary_db» (основная база данных)"),
        "{said}"
    );
    assert!(said.contains("за пределами России (DE)"), "{said}");
    assert!(said.contains("ст. 18 ч. 5 152-ФЗ"), "{said}");
    assert!(said.contains("abroad.toml:"), "the line is named: {said}");
    // Refused before the key and the database were created.
    assert!(!dir.path().join("pdvault.key").exists());
    assert!(!dir.path().join("pdvault.db").exists());
}

#[test]
fn policy_check_reports_foreign_stores_with_their_line_and_missing_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let policy = variant(
        dir.path(),
        "backup_abroad.toml",
        "title = \"Резервные копии базы данных (второй ЦОД)\"\ncountry = \"RU\"",
        "title = \"Резервные копии базы данных (второй ЦОД)\"\ncountry = \"NL\"",
    );
    let source = std::fs::read_to_string(&policy).unwrap();
    let line = source[..source.find("country = \"NL\"").unwrap()]
        .matches('\n')
        .count()
        + 1;
    let out = pdv(
        dir.path(),
        &policy,
        &["policy", "check", policy.to_str().unwrap()],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("backup_abroad.toml:{line}:")),
        "line {line}: {said}"
    );
    assert!(
        said.contains("хранилище «backup» (резервные копии)"),
        "{said}"
    );

    let policy = variant(
        dir.path(),
        "no_exports.toml",
        "kind = \"export\"",
        "kind = \"paper\"",
    );
    let out = pdv(
        dir.path(),
        &policy,
        &["policy", "check", policy.to_str().unwrap()],
    );
    let said = text(&out);
    assert!(out.status.success(), "a missing kind is a warning: {said}");
    assert!(said.contains("kind = \"export\""), "{said}");

    for name in ["lider.toml", "konekt.toml"] {
        let out = pdv(
            dir.path(),
            &shipped(name),
            &["policy", "check", shipped(name).to_str().unwrap()],
        );
        let said = text(&out);
        assert!(out.status.success(), "{said}");
        assert!(!said.contains("[[storage]] не объявлено"), "{name}: {said}");
    }
}

#[test]
fn rkn_notice_exits_3_until_filed_and_after_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let policy = shipped("lider.toml");
    let out = pdv(dir.path(), &policy, &["init"]);
    assert!(out.status.success(), "{}", text(&out));

    let out = pdv(dir.path(), &policy, &["rkn", "notice"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(
        said.contains("# Уведомление об обработке персональных данных"),
        "{said}"
    );
    assert!(said.contains("## 7.1."), "{said}");
    assert!(said.contains("подача не отмечена"), "{said}");

    let out = pdv(
        dir.path(),
        &policy,
        &["rkn", "filed", "--date", "2099-01-01"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("date"), "{}", text(&out));
    let out = pdv(
        dir.path(),
        &policy,
        &[
            "rkn",
            "filed",
            "--date",
            "2025-09-15",
            "--number",
            "77-25-000001",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("актуально"), "{}", text(&out));

    let file = dir.path().join("notice.md");
    let out = pdv(
        dir.path(),
        &policy,
        &["rkn", "notice", "--out", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("## 10.1."), "{written}");
    assert!(
        !text(&out).contains("## 10.1."),
        "the text went to the file"
    );

    // A new address of the backup site: stale, naming item 10.1, exit 3 for cron.
    let moved = variant(
        dir.path(),
        "moved.toml",
        "Московская обл. (ДЕМО: укажите площадку резервного копирования)",
        "г. Тверь (ДЕМО)",
    );
    let out = pdv(dir.path(), &moved, &["rkn", "notice", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "stale");
    assert_eq!(json["changed"][0]["item"], "10.1");
    assert_eq!(json["filed"]["number"], "77-25-000001");
    let out = pdv(
        dir.path(),
        &moved,
        &["rkn", "notice", "--out", file.to_str().unwrap()],
    );
    assert!(text(&out).contains("п. 10.1"), "{}", text(&out));

    let out = pdv(dir.path(), &policy, &["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn the_register_lists_every_party_and_exits_3_when_one_cannot_receive_data() {
    let dir = tempfile::tempdir().unwrap();
    let policy = shipped("konekt.toml");
    let out = pdv(dir.path(), &policy, &["init"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = pdv(dir.path(), &policy, &["register"]);
    let said = text(&out);
    assert!(
        out.status.success(),
        "both shipped policies are ready: {said}"
    );
    assert!(
        said.contains("installers") && said.contains("передача возможна"),
        "{said}"
    );
    let out = pdv(dir.path(), &policy, &["register", "--json"]);
    let register: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        register
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "ready")
    );

    // A processor whose contract leaves out the incident duty cannot receive data.
    let source = std::fs::read_to_string(&policy).unwrap();
    let needle = "incident_notice = true";
    assert!(source.contains(needle));
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        source.replacen(needle, "incident_notice = false", 1),
    )
    .unwrap();
    let out = pdv(dir.path(), &broken, &["register"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(
        said.contains("НЕЛЬЗЯ ПЕРЕДАВАТЬ") && said.contains("инцидент"),
        "{said}"
    );
}
