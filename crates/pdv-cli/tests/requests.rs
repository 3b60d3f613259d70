//! `pdv requests due` and `pdv requests export` on a journal filled through the service.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use pdv_core::Policy;
use pdv_crypto::MasterKey;
use pdv_service::{NewRequest, Requester, SystemClock, Vault};
use pdv_store_sqlite::SqliteStore;

fn policy_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/lider.toml")
}

fn pdv(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pdv"))
        .args(args)
        .current_dir(dir)
        .env_remove("PDV_MASTER_KEY")
        .env_remove("PDV_DATABASE_URL")
        .env_remove("PDV_KEY_FILE")
        .env("PDV_POLICY", policy_path())
        .env("PDV_LOG", "error")
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

fn request(kind: &str, received_at: Option<String>, name: &str) -> NewRequest {
    NewRequest {
        kind: kind.into(),
        channel: "post".into(),
        received_at,
        subject: None,
        requester: Requester {
            name: name.into(),
            contact: None,
            representative: None,
        },
        identity: Default::default(),
        text: String::new(),
        purposes: vec![],
        categories: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_lists_what_is_late_and_export_writes_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = pdv(d, &["init"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = pdv(d, &["requests", "due"]);
    assert!(
        out.status.success(),
        "an empty journal is not late: {}",
        text(&out)
    );
    assert!(
        text(&out).contains("просроченных обращений нет"),
        "{}",
        text(&out)
    );

    {
        let store = SqliteStore::open(&format!("sqlite://{}", d.join("pdvault.db").display()))
            .await
            .unwrap();
        let source = std::fs::read_to_string(policy_path()).unwrap();
        let vault = Vault::open(
            Arc::new(store),
            Arc::new(Policy::from_toml("lider.toml", &source).unwrap()),
            &MasterKey::read_file(&d.join("pdvault.key")).unwrap(),
            Arc::new(SystemClock),
        )
        .await
        .unwrap();
        let month_ago =
            (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 30)).to_string();
        let actor = pdv_service::Actor::new("test");
        vault
            .receive_request(
                &actor,
                request("rectification", Some(month_ago), "Ким, \"Сергей\""),
            )
            .await
            .unwrap();
        vault
            .receive_request(&actor, request("access", None, "Орлова Ольга"))
            .await
            .unwrap();
    }

    let out = pdv(d, &["requests", "due", "--within", "1d"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "something is overdue: {}",
        text(&out)
    );
    let shown = text(&out);
    assert!(shown.contains("ПРОСРОЧЕНО"), "{shown}");
    assert!(shown.contains("требование уточнить данные"), "{shown}");
    assert!(
        !shown.contains("запрос сведений"),
        "the fresh access request is due in two weeks, not within a day: {shown}"
    );
    let out = pdv(d, &["requests", "due", "--within", "a week"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("--within"), "{}", text(&out));

    let out = pdv(d, &["requests", "recompute"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("не изменились"), "{}", text(&out));

    let out = pdv(d, &["requests", "export"]);
    assert!(out.status.success(), "{}", text(&out));
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("number,kind,"));
    assert!(
        lines[1].contains(",rectification,") && lines[1].ends_with(",true"),
        "{csv}"
    );
    assert!(
        lines[2].contains(",access,") && lines[2].ends_with(",false"),
        "{csv}"
    );
    assert!(
        !csv.contains("Ким") && !csv.contains("Орлова"),
        "requesters' names stay in the encrypted journal"
    );
}
