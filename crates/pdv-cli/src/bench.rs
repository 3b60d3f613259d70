//! `pdv bench destroy`: how fast destruction runs on the embedded SQLite store, against a plain
//! baseline measured in the same run on the same disk.
//!
//! The store is filled with `--subjects` synthetic subjects shaped like real ones (a wrapped
//! subject key, identifiers, three categories each with a category key, a record and two fields
//! of random ciphertext, a consent-free history), then `--destroy` of them, spread over the whole
//! id range, are destroyed exactly as the retention runner destroys a whole subject
//! (every data row, the category keys and the subject key, and a tombstone), through the store's
//! set-based `shred_subjects`, in transactions of `--batch`. The baseline deletes the same number
//! of rows, one per subject, from a single plain table keyed by subject id, with the same
//! set-based statement and batches: the least any destruction can cost. The figure that matters is the ratio, and that
//! the rate does not fall as the table grows (run it with 10× the subjects to see).

use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};
use pdv_core::SubjectId;
use pdv_store::Store;
use pdv_store::backup::{self, Value};
use pdv_store_sqlite::SqliteStore;
use sqlx::Connection;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Destruction throughput on SQLite: subjects destroyed per second, with a plain baseline.
    Destroy(DestroyArgs),
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Subjects in the store.
    #[arg(long, default_value_t = 100_000)]
    pub subjects: u32,
    /// Subjects to destroy (spread over the store).
    #[arg(long, default_value_t = 20_000)]
    pub destroy: u32,
    /// Subjects per transaction.
    #[arg(long, default_value_t = 5_000)]
    pub batch: u32,
    /// Directory for the scratch databases [default: a temporary directory].
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn id(n: u32) -> SubjectId {
    // Ids spread over the key space like v7 UUIDs of subjects created over time.
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&n.to_be_bytes());
    b[4..8].copy_from_slice(&n.wrapping_mul(2_654_435_761).to_be_bytes());
    SubjectId::from_bytes(b)
}

fn noise(n: u32, len: usize) -> Vec<u8> {
    let mut x = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

async fn fill(store: &SqliteStore, subjects: u32) -> anyhow::Result<()> {
    let t = |name| backup::table(name).expect("a listed table");
    let step = 5_000;
    let mut from = 0;
    while from < subjects {
        let to = (from + step).min(subjects);
        let (mut s, mut k, mut ck, mut ids, mut recs, mut fields) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for n in from..to {
            let sid = Value::Bytes(id(n).as_bytes().to_vec());
            s.push(vec![
                sid.clone(),
                Value::Text("buyer".into()),
                Value::Int(0),
            ]);
            k.push(vec![
                sid.clone(),
                Value::Bytes(noise(n, 61)),
                Value::Text("bench".into()),
                Value::Int(0),
            ]);
            ids.push(vec![
                sid.clone(),
                Value::Text("email".into()),
                Value::Bytes(noise(n ^ 7, 32)),
                Value::Bytes(noise(n ^ 8, 48)),
            ]);
            for (c, category) in ["identity", "contacts", "order"].iter().enumerate() {
                let rid = Value::Bytes(noise(n * 3 + c as u32, 16));
                ck.push(vec![
                    sid.clone(),
                    Value::Text(category.to_string()),
                    Value::Bytes(noise(n ^ 9, 61)),
                    Value::Int(0),
                ]);
                recs.push(vec![
                    sid.clone(),
                    rid.clone(),
                    Value::Text(category.to_string()),
                    Value::Text("subject".into()),
                    Value::Int(0),
                    Value::Null,
                ]);
                for f in ["a", "b"] {
                    fields.push(vec![
                        sid.clone(),
                        rid.clone(),
                        Value::Text(f.into()),
                        Value::Bytes(noise(n ^ 11, 40)),
                    ]);
                }
            }
        }
        let mut tx = store.begin().await?;
        tx.insert_rows(t("subjects"), &s, false).await?;
        tx.insert_rows(t("subject_keys"), &k, false).await?;
        tx.insert_rows(t("category_keys"), &ck, false).await?;
        tx.insert_rows(t("subject_identifiers"), &ids, false)
            .await?;
        tx.insert_rows(t("pd_records"), &recs, false).await?;
        tx.insert_rows(t("pd_fields"), &fields, false).await?;
        tx.commit().await?;
        from = to;
    }
    Ok(())
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    let BenchCommand::Destroy(args) = cmd;
    if args.destroy == 0 || args.destroy > args.subjects || args.batch == 0 {
        anyhow::bail!("нужно 0 < --destroy ≤ --subjects и --batch > 0");
    }
    let scratch = tempfile_dir(args.dir.as_deref())?;
    let store_path = scratch.join("bench-store.db");
    let store = SqliteStore::open(&format!("sqlite://{}", store_path.display())).await?;
    eprintln!("заполнение: {} субъектов…", args.subjects);
    fill(&store, args.subjects).await?;
    let stride = args.subjects / args.destroy;
    let victims: Vec<SubjectId> = (0..args.destroy).map(|i| id(i * stride)).collect();

    // pdvault: each subject destroyed as the runner does it.
    let started = Instant::now();
    for chunk in victims.chunks(args.batch as usize) {
        let mut tx = store.begin().await?;
        tx.shred_keys(chunk, 0).await?;
        tx.commit().await?;
    }
    loop {
        let mut tx = store.begin().await?;
        if tx.sweep_shredded(args.batch).await?.subjects == 0 {
            break;
        }
        tx.commit().await?;
    }
    let ours = started.elapsed();

    // Baseline: one plain table, one row per subject, the same deletes in the same batches.
    let plain_path = scratch.join("bench-plain.db");
    let mut conn = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&plain_path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal),
    )
    .await?;
    sqlx::query("CREATE TABLE plain (id BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
        .execute(&mut conn)
        .await?;
    let mut from = 0;
    while from < args.subjects {
        let to = (from + 5_000).min(args.subjects);
        let mut tx = conn.begin().await?;
        for n in from..to {
            sqlx::query("INSERT INTO plain (id, v) VALUES (?, ?)")
                .bind(&id(n).as_bytes()[..])
                .bind(noise(n, 61))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        from = to;
    }
    let started = Instant::now();
    for chunk in victims.chunks(args.batch as usize) {
        let ids = serde_json::to_string(
            &chunk
                .iter()
                .map(|s| hex_of(s.as_bytes()))
                .collect::<Vec<_>>(),
        )?;
        let mut tx = conn.begin().await?;
        sqlx::query("DELETE FROM plain WHERE id IN (SELECT unhex(value) FROM json_each(?))")
            .bind(ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    let baseline = started.elapsed();
    drop(conn);
    let _ = std::fs::remove_dir_all(&scratch);

    let rate = |d: std::time::Duration| f64::from(args.destroy) / d.as_secs_f64();
    let (ours_rate, base_rate) = (rate(ours), rate(baseline));
    let ratio = ours.as_secs_f64() / baseline.as_secs_f64();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "subjects": args.subjects,
                "destroyed": args.destroy,
                "batch": args.batch,
                "pdvault_subjects_per_sec": ours_rate.round(),
                "baseline_rows_per_sec": base_rate.round(),
                "time_ratio_vs_baseline": (ratio * 100.0).round() / 100.0,
            })
        );
    } else {
        println!(
            "уничтожено {} из {} субъектов пачками по {}:\n  pdvault (ключ, строки данных, надгробие): {:.0} субъектов/с\n  базовый уровень (одна строка в одной таблице): {:.0} строк/с\n  pdvault медленнее базового уровня в {:.2} раза",
            args.destroy, args.subjects, args.batch, ours_rate, base_rate, ratio
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn tempfile_dir(parent: Option<&std::path::Path>) -> anyhow::Result<std::path::PathBuf> {
    let parent = parent.map_or_else(std::env::temp_dir, std::path::Path::to_path_buf);
    let dir = parent.join(format!("pdv-bench-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
