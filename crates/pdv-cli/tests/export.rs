//! `pdv export depersonalised` on the «КОНЕКТ» demo operator, run as an operator would run it:
//! the dataset carries none of the demo's identifying values, k is at least what was asked,
//! the key table is a separate private file, and a refusal writes nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn policy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/konekt.toml")
}

/// `pdv` in `dir`, with none of the test runner's own `PDV_…` settings, the «КОНЕКТ» policy
/// (it has two depersonalised-only purposes) and a quiet log.
fn command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pdv"));
    command.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PDV_") {
            command.env_remove(name);
        }
    }
    command.env("PDV_POLICY", policy()).env("PDV_LOG", "error");
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

/// A database with the demo operator's subjects, in a fresh directory.
fn demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = pdv(dir.path(), &["init"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = pdv(dir.path(), &["demo", "--subjects", "20"]);
    assert!(out.status.success(), "{}", text(&out));
    dir
}

/// What the demo loader (crates/pdv-service/src/demo.rs) writes that identifies a person or is
/// free text: names, e-mail addresses and URLs (example.ru), phones (+7916…), IP addresses
/// (198.51.100.x), cookie ids (ck-…), street addresses, masked cards, free texts.
const IDENTIFYING: &[&str] = &[
    "example.ru",
    "@",
    "+7916",
    "198.51.100.",
    "ck-",
    "ул. ",
    "кв. ",
    "427600",
    "Демонстрационный текст",
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Александр",
    "Мария",
    "Дмитрий",
    "Анна",
    "Сергей",
    "Елена",
    "Андрей",
    "Ольга",
    "Наталья",
    "Сергеевич",
    "Ивановна",
    "Петрович",
    "Алексеевна",
    "Николаевич",
    "Дмитриевна",
    "Викторович",
    "Андреевна",
    "Олегович",
    "Юрьевна",
];

fn assert_no_identifying_value(dataset: &str) {
    for value in IDENTIFYING {
        assert!(
            !dataset.contains(value),
            "«{value}» found in the depersonalised dataset:\n{dataset}"
        );
    }
}

/// Files in `dir` other than the database and its key.
fn extra_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("pdvault."))
        .collect()
}

#[test]
fn the_dataset_identifies_no_one_and_the_key_table_is_kept_apart() {
    let dir = demo();
    let d = dir.path();
    std::fs::create_dir(d.join("keys")).unwrap();
    let out = pdv(
        d,
        &[
            "export",
            "depersonalised",
            "--purpose",
            "statistics",
            "--k",
            "2",
            "--suppress",
            "--out",
            "data.csv",
            "--key-table",
            "keys/keys.csv",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["purposes"],
        serde_json::json!(["service_quality", "site_statistics"])
    );
    assert_eq!(report["k_required"], 2);
    let rows = report["rows"].as_u64().unwrap();
    assert!(
        rows > 0,
        "the demo operator has statistics data to export: {report}"
    );
    let k = report["k_achieved"].as_u64().unwrap();
    assert!(k >= 2, "k achieved {k} is below the k asked for: {report}");
    let methods = report["methods"].as_array().unwrap();
    for m in ["identifier_replacement", "identifier_removal", "shuffling"] {
        assert!(methods.iter().any(|x| x == m), "{m} in {report}");
    }
    assert_eq!(report["sha256"].as_str().unwrap().len(), 64);
    assert!(report["key_table_sha256"].is_string());

    let dataset = std::fs::read_to_string(d.join("data.csv")).unwrap();
    assert_eq!(report["bytes"].as_u64().unwrap(), dataset.len() as u64);
    let mut lines = dataset.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("pseudonym,category,"), "{header}");
    for dropped in [
        "contacts.",
        "identity.",
        "review.display_name",
        "review.review_text",
        "cookie.cookie_id",
        "device.ip_address",
        "search_queries.query_text",
        "site_activity.referrer",
        "connection_request.request_number",
    ] {
        assert!(!header.contains(dropped), "{dropped} in {header}");
    }
    let data_rows: Vec<&str> = lines.collect();
    assert_eq!(data_rows.len() as u64, rows);
    assert_no_identifying_value(&dataset);

    let keys = std::fs::read_to_string(d.join("keys/keys.csv")).unwrap();
    let mut key_lines = keys.lines();
    assert_eq!(key_lines.next(), Some("pseudonym,subject"));
    let mut keyed = BTreeSet::new();
    for line in key_lines {
        let (pseudonym, subject) = line.split_once(',').unwrap();
        assert!(uuid::Uuid::parse_str(subject).is_ok(), "{line}");
        assert!(
            !dataset.contains(subject),
            "a subject id in the dataset: {subject}"
        );
        keyed.insert(pseudonym.to_string());
    }
    let shown: BTreeSet<String> = data_rows
        .iter()
        .map(|r| r.split(',').next().unwrap().to_string())
        .collect();
    assert_eq!(
        shown, keyed,
        "the key table lists exactly the dataset's pseudonyms"
    );
    assert_eq!(keyed.len() as u64, report["subjects"].as_u64().unwrap());
    assert!(
        !keys.contains("category") && !dataset.contains(&keys),
        "the key table is not part of the dataset"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("keys/keys.csv"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key table is the owner's only");
    }
    assert_eq!(
        extra_files(d),
        BTreeSet::from(["data.csv".into(), "keys".into()])
    );
    assert_eq!(
        extra_files(&d.join("keys")),
        BTreeSet::from(["keys.csv".into()]),
        "no temporary file is left behind"
    );

    // Two runs draw different pseudonyms: datasets of different runs cannot be joined on them.
    let out = pdv(
        d,
        &[
            "export",
            "depersonalised",
            "--purpose",
            "statistics",
            "--k",
            "2",
            "--suppress",
            "--out",
            "again.csv",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let again = std::fs::read_to_string(d.join("again.csv")).unwrap();
    assert!(keyed.iter().all(|p| !again.contains(p.as_str())));
    assert!(
        text(&out).contains("таблица соответствия не создавалась"),
        "{}",
        text(&out)
    );

    let out = pdv(d, &["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn refusals_write_nothing_and_say_why() {
    let dir = demo();
    let d = dir.path();
    let export = |args: &[&str]| {
        let mut all = vec!["export", "depersonalised"];
        all.extend_from_slice(args);
        pdv(d, &all)
    };

    // A purpose that is not depersonalised-only: named, with the allowed ones listed.
    let out = export(&["--purpose", "marketing", "--out", "m.csv"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("«marketing»"), "{shown}");
    assert!(
        shown.contains("service_quality, site_statistics"),
        "{shown}"
    );
    let out = export(&["--purpose", "nonsense", "--out", "m.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("«nonsense»"), "{}", text(&out));

    // A direct identifier cannot be made a quasi-identifier.
    let out = export(&["--purpose", "statistics", "--quasi", "contacts.email"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("прямой идентификатор"),
        "{}",
        text(&out)
    );
    let out = export(&["--purpose", "statistics", "--k", "1"]);
    assert_eq!(out.status.code(), Some(2), "k = 1 protects nobody");

    // k not reached: exit 1, the k achieved and required are told, no file of either kind.
    let out = export(&[
        "--purpose",
        "statistics",
        "--k",
        "1000",
        "--out",
        "big.csv",
        "--key-table",
        "big-keys.csv",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("k-анонимность не достигнута"), "{shown}");
    assert!(shown.contains("не меньше 1000"), "{shown}");
    assert!(extra_files(d).is_empty(), "{:?}", extra_files(d));

    // An existing key table is never overwritten without --force, and nothing is exported.
    std::fs::write(d.join("keys.csv"), "precious").unwrap();
    let ok = [
        "--purpose",
        "statistics",
        "--k",
        "2",
        "--suppress",
        "--out",
        "data.csv",
        "--key-table",
        "keys.csv",
    ];
    let out = export(&ok);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--force"), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(d.join("keys.csv")).unwrap(),
        "precious"
    );
    assert!(!d.join("data.csv").exists());
    let mut forced = ok.to_vec();
    forced.push("--force");
    let out = export(&forced);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        std::fs::read_to_string(d.join("keys.csv"))
            .unwrap()
            .starts_with("pseudonym,subject")
    );

    // The dataset and the key table are never one file.
    let out = export(&[
        "--purpose",
        "statistics",
        "--k",
        "2",
        "--suppress",
        "--out",
        "same.csv",
        "--key-table",
        "./same.csv",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!d.join("same.csv").exists());

    let out = pdv(d, &["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn without_out_the_dataset_goes_to_standard_output_and_no_key_table_exists() {
    let dir = demo();
    let d = dir.path();
    let out = pdv(
        d,
        &[
            "export",
            "depersonalised",
            "--purpose",
            "site_statistics",
            "--k",
            "2",
            "--suppress",
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert!(!rows.is_empty());
    for row in &rows {
        let row = row.as_object().unwrap();
        assert!(row["pseudonym"].as_str().unwrap().starts_with("p-"));
        for dropped in [
            "cookie.cookie_id",
            "device.ip_address",
            "site_activity.referrer",
            "search_queries.query_text",
        ] {
            assert!(!row.contains_key(dropped), "{dropped} in {row:?}");
        }
    }
    assert_no_identifying_value(&String::from_utf8_lossy(&out.stdout));
    let report = String::from_utf8_lossy(&out.stderr);
    assert!(report.contains("site_statistics"), "{report}");
    assert!(
        report.contains("таблица соответствия не создавалась"),
        "{report}"
    );
    assert!(
        extra_files(d).is_empty(),
        "nothing but the output: {:?}",
        extra_files(d)
    );
}
