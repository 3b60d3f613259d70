//! `pdv bench destroy`: how fast destruction runs on the embedded SQLite store, and what a purge
//! does to foreground reads, each against a baseline measured in the same run on the same disk.
//!
//! The store is filled with `--subjects` synthetic subjects shaped like real ones (a wrapped
//! subject key, an e-mail with its blind index, three categories each with a category key, a
//! record and two fields of random ciphertext: 15 rows per subject, 13 of them left for the sweep).
//! Two disjoint sets of `--destroy` subjects, spread over the whole id range, are then destroyed
//! the way pdvault destroys a whole subject, in two steps:
//!
//! 1. **Throughput**, with nothing else running. The key shred (`Transaction::shred_keys`: the
//!    subject key, the tombstone, the sweep queue) of the first set in
//!    transactions of `--batch`, then the sweep (`Transaction::sweep_shredded` and, as the
//!    service does, one audit event per transaction) in transactions of `--sweep-batch`. Each is
//!    compared with a plain baseline in a separate database with the same settings: a table with
//!    one row per subject from which the same subjects' rows are deleted by primary key in the
//!    same batches (for the shred), and a table with the sweep's 13 rows per subject from which
//!    the same subjects' rows are deleted by primary key in the same batches (for the sweep).
//! 2. **Foreground reads during a purge.** A reader does point reads of random live subjects at
//!    `--read-rate` per second, each the store work of reading a subject's data (a write
//!    transaction with the subject, its tombstone, its key, its records and an audit event, as
//!    every read in pdvault is). Its latency alone for `--read-secs` is the baseline; then the
//!    second set is purged while it reads — key shreds of `--purge-batch` subjects (the
//!    retention runner's batch), then the sweep with `--purge-sweep-batch` and
//!    `--sweep-pause-ms`, as `pdv serve` runs it — and its latency during the purge is compared
//!    with the baseline.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use pdv_core::SubjectId;
use pdv_core::audit::{AuditRecord, Outcome};
use pdv_service::SweepSettings;
use pdv_store::Store;
use pdv_store_sqlite::SqliteStore;
use serde_json::json;
use sqlx::{Connection, SqliteConnection};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Destruction on SQLite: key shred and sweep rates, and foreground read latency during a
    /// purge, each against a baseline.
    Destroy(DestroyArgs),
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Subjects in the store.
    #[arg(long, default_value_t = 100_000)]
    pub subjects: u32,
    /// Subjects destroyed in each of the two phases (spread over the store); less than half of
    /// --subjects.
    #[arg(long, default_value_t = 20_000)]
    pub destroy: u32,
    /// Subjects per key-shred transaction when measuring throughput.
    #[arg(long, default_value_t = 5_000)]
    pub batch: u32,
    /// Subjects per sweep transaction when measuring throughput (as `pdv retention sweep
    /// --batch` would in a quiet hour).
    #[arg(long, default_value_t = 100)]
    pub sweep_batch: u32,
    /// Subjects per key-shred transaction during the purge (the retention runner's batch).
    #[arg(long, default_value_t = pdv_service::DEFAULT_BATCH)]
    pub purge_batch: u32,
    /// Subjects per sweep transaction during the purge [default: retention.sweep_batch's].
    #[arg(long, default_value_t = pdv_service::DEFAULT_SWEEP_BATCH)]
    pub purge_sweep_batch: u32,
    /// Shortest pause between sweep transactions during the purge, in milliseconds [default:
    /// retention.sweep_pause_ms's].
    #[arg(long, default_value_t = pdv_service::DEFAULT_SWEEP_PAUSE.as_millis() as u64)]
    pub sweep_pause_ms: u64,
    /// Share of the writer's time the sweep holds during the purge, in thousandths [default:
    /// retention.sweep_share_permille's].
    #[arg(long, default_value_t = pdv_service::DEFAULT_SWEEP_SHARE_PERMILLE)]
    pub sweep_share: u32,
    /// Seconds of the paced sweep during which foreground reads are measured; the rest of the
    /// sweep then runs flat out, unmeasured, and its paced duration is projected.
    #[arg(long, default_value_t = 60)]
    pub purge_secs: u64,
    /// Point reads per second of the foreground reader.
    #[arg(long, default_value_t = 500)]
    pub read_rate: u32,
    /// Seconds the reader runs alone for its baseline.
    #[arg(long, default_value_t = 5)]
    pub read_secs: u64,
    /// Directory for the scratch databases [default: a temporary directory].
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Rows per subject the sweep deletes: an identifier, three category keys, three records, six
/// fields.
const SWEPT_PER_SUBJECT: u32 = 13;

/// Subjects per generating statement while filling.
const FILL_STEP: u32 = 50_000;

fn id(n: u32) -> SubjectId {
    // Ids spread over the key space like v7 UUIDs of subjects created over time; `fill` computes
    // the same bytes in SQL.
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&n.to_be_bytes());
    b[4..8].copy_from_slice(&n.wrapping_mul(2_654_435_761).to_be_bytes());
    SubjectId::from_bytes(b)
}

/// The SQL of [`id`] for a column `n`.
const SQL_ID: &str = "unhex(printf('%08x%08x0000000000000000', n, (n * 2654435761) % 4294967296))";

/// Fills the store in SQL: generating the rows where they are stored is what makes ten million
/// subjects take minutes rather than hours. The rows are what the service would write, with
/// random bytes for ciphertext and keys.
async fn fill(store: &SqliteStore, subjects: u32) -> anyhow::Result<()> {
    let ids = format!(
        "WITH RECURSIVE s(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < ?2),
              ids(n, sid) AS (SELECT n, {SQL_ID} FROM s),
              cats(c, name) AS (VALUES (0, 'identity'), (1, 'contacts'), (2, 'order')),
              fs(f) AS (VALUES ('a'), ('b'))"
    );
    let rid = "unhex(printf('%08x%08x0000000000000000', n, c))";
    let statements = [
        "INSERT INTO subjects (subject_id, kind, created_at) SELECT sid, 'buyer', 0 FROM ids"
            .to_string(),
        "INSERT INTO subject_keys (subject_id, wrapped_key, master_key_id, created_at)
         SELECT sid, randomblob(61), 'bench', 0 FROM ids"
            .to_string(),
        "INSERT INTO subject_identifiers (subject_id, kind, blind, value_ct)
         SELECT sid, 'email', randomblob(32), randomblob(48) FROM ids"
            .to_string(),
        "INSERT INTO category_keys (subject_id, category, wrapped_key, created_at)
         SELECT sid, name, randomblob(61), 0 FROM ids, cats"
            .to_string(),
        format!(
            "INSERT INTO pd_records (subject_id, record_id, category, source, created_at)
             SELECT sid, {rid}, name, 'subject', 0 FROM ids, cats"
        ),
        format!(
            "INSERT INTO pd_fields (subject_id, record_id, field, value_ct)
             SELECT sid, {rid}, f, randomblob(40) FROM ids, cats, fs"
        ),
    ];
    let mut from = 0;
    while from < subjects {
        let to = (from + FILL_STEP).min(subjects);
        let mut tx = store.pool().begin().await?;
        for statement in &statements {
            sqlx::query(sqlx::AssertSqlSafe(format!("{ids} {statement}")))
                .bind(i64::from(from))
                .bind(i64::from(to))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        from = to;
        // The fill bypasses the store's transactions and so its checkpoints; without one now and
        // then the WAL would grow to the size of the whole store.
        if (from / FILL_STEP).is_multiple_of(20) {
            settle(store).await?;
        }
    }
    Ok(())
}

/// The baseline database: the same journal, synchronisation and secure deletion as the store,
/// and two plain tables keyed by subject id — `keys` with one row per subject, `rows` with the
/// sweep's rows per subject.
async fn plain(path: &std::path::Path, subjects: u32) -> anyhow::Result<SqliteConnection> {
    let mut conn = SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            .pragma("secure_delete", "ON"),
    )
    .await?;
    for ddl in [
        "CREATE TABLE keys (id BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID",
        "CREATE TABLE rows (id BLOB NOT NULL, k INTEGER NOT NULL, v BLOB NOT NULL,
         PRIMARY KEY (id, k)) WITHOUT ROWID",
    ] {
        sqlx::query(ddl).execute(&mut conn).await?;
    }
    let ids = format!(
        "WITH RECURSIVE s(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < ?2),
              ids(n, sid) AS (SELECT n, {SQL_ID} FROM s),
              ks(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM ks WHERE k + 1 < {SWEPT_PER_SUBJECT})"
    );
    let mut from = 0;
    while from < subjects {
        let to = (from + FILL_STEP).min(subjects);
        let mut tx = conn.begin().await?;
        for statement in [
            "INSERT INTO keys (id, v) SELECT sid, randomblob(61) FROM ids",
            "INSERT INTO rows (id, k, v) SELECT sid, k, randomblob(40) FROM ids, ks",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!("{ids} {statement}")))
                .bind(i64::from(from))
                .bind(i64::from(to))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        from = to;
    }
    Ok(conn)
}

/// Deletes the rows of `victims` from a plain table by primary key, `batch` subjects per
/// transaction, with the statement shape the store uses.
async fn plain_delete(
    conn: &mut SqliteConnection,
    table: &str,
    victims: &[SubjectId],
    batch: u32,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    for chunk in victims.chunks(batch as usize) {
        let ids = serde_json::to_string(
            &chunk
                .iter()
                .map(|s| hex_of(s.as_bytes()))
                .collect::<Vec<_>>(),
        )?;
        let mut tx = conn.begin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE id IN (SELECT unhex(value) FROM json_each(?))"
        )))
        .bind(ids)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    Ok(started.elapsed())
}

fn event(action: &str, subject: Option<SubjectId>) -> AuditRecord {
    AuditRecord {
        at_ms: 0,
        actor: "bench".into(),
        action: action.into(),
        operation: None,
        purpose: None,
        subject,
        outcome: Outcome::Done,
        details: "{}".into(),
    }
}

/// Key shreds of `victims`, `batch` per transaction, paced by `pace` when given (as the
/// retention runner inside `pdv serve` is).
async fn shred(
    store: &SqliteStore,
    victims: &[SubjectId],
    batch: u32,
    pace: Option<SweepSettings>,
) -> anyhow::Result<()> {
    for chunk in victims.chunks(batch as usize) {
        let mut tx = store.begin().await?;
        let held = Instant::now();
        tx.shred_keys(chunk, 0).await?;
        tx.commit().await?;
        if let Some(pace) = pace {
            tokio::time::sleep(pace.pause_after(held.elapsed())).await;
        }
    }
    Ok(())
}

/// What a sweep did: subjects, rows, and the time its transactions held the writer.
#[derive(Debug, Default, Clone, Copy)]
struct Swept {
    subjects: u64,
    rows: u64,
    held: Duration,
}

/// Sweeps until the queue is empty or `until` passes, as the service does: `pace.batch` subjects
/// and one audit event (with the head written to the metadata, as the seal is) per transaction,
/// paced by `pace` (`SweepSettings::pause_after`).
async fn sweep(
    store: &SqliteStore,
    pace: SweepSettings,
    until: Option<Instant>,
) -> anyhow::Result<Swept> {
    let mut done = Swept::default();
    loop {
        if until.is_some_and(|t| Instant::now() >= t) {
            return Ok(done);
        }
        let mut tx = store.begin().await?;
        let held = Instant::now();
        let swept = tx.sweep_shredded(pace.batch).await?;
        if swept.subjects == 0 {
            return Ok(done);
        }
        let head = tx.append_audit(event("destruction.swept", None)).await?;
        tx.set_meta("bench_head", &head.seq.to_string()).await?;
        tx.commit().await?;
        let held = held.elapsed();
        done.subjects += swept.subjects;
        done.rows += swept.rows;
        done.held += held;
        let pause = pace.pause_after(held);
        if pause.is_zero() {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(pause).await;
        }
    }
}

/// Sweeping flat out: no pause, the whole writer.
fn flat_out(batch: u32) -> SweepSettings {
    SweepSettings {
        batch,
        pause: Duration::ZERO,
        share_permille: 1000,
        in_background: false,
    }
}

/// Checkpoints the whole WAL into the database and empties it.
async fn settle(store: &SqliteStore) -> anyhow::Result<()> {
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(store.pool())
        .await?;
    Ok(())
}

/// One foreground read of a subject's data: the store work of `Vault::read_data`.
async fn read_one(store: &SqliteStore, subject: SubjectId) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    anyhow::ensure!(tx.subject(subject).await?.is_some(), "a live subject");
    anyhow::ensure!(tx.tombstone(subject).await?.is_none(), "a live subject");
    anyhow::ensure!(tx.wrapped_key(subject).await?.is_some(), "a live subject");
    let records = tx.records(subject, None).await?;
    anyhow::ensure!(records.len() == 3, "a live subject's three records");
    tx.append_audit(event("data.read", Some(subject))).await?;
    tx.commit().await?;
    Ok(())
}

/// Reads random live subjects at `rate` per second until `stop`, and returns each read's start
/// and time.
async fn reader(
    store: Arc<SqliteStore>,
    live: Arc<dyn Fn(u64) -> SubjectId + Send + Sync>,
    rate: u32,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Vec<(Instant, Duration)>> {
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let mut next = tokio::time::Instant::now();
    let mut random = 0x2545_F491_4F6C_DD1Du64;
    let mut latencies = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        next += interval;
        let now = tokio::time::Instant::now();
        if next > now {
            tokio::time::sleep_until(next).await;
        } else {
            // Behind schedule: go on at once, without a burst to catch up.
            next = now;
        }
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let subject = live(random);
        let started = Instant::now();
        read_one(&store, subject).await?;
        latencies.push((started, started.elapsed()));
    }
    Ok(latencies)
}

#[derive(Debug, Clone, Copy)]
struct Latency {
    reads: usize,
    p50: Duration,
    p99: Duration,
    p999: Duration,
    max: Duration,
}

fn latency(mut times: Vec<Duration>) -> Latency {
    times.sort_unstable();
    let at = |q: f64| {
        times
            .get(((times.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    };
    Latency {
        reads: times.len(),
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        max: times.last().copied().unwrap_or_default(),
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn latency_json(l: &Latency) -> serde_json::Value {
    json!({ "reads": l.reads, "p50_ms": ms(l.p50), "p99_ms": ms(l.p99), "p999_ms": ms(l.p999), "max_ms": ms(l.max) })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    let BenchCommand::Destroy(args) = cmd;
    if args.destroy == 0
        || u64::from(args.destroy) * 2 >= u64::from(args.subjects)
        || args.batch == 0
        || args.sweep_batch == 0
        || args.purge_batch == 0
        || args.purge_sweep_batch == 0
        || args.read_rate == 0
        || !(1..=1000).contains(&args.sweep_share)
    {
        anyhow::bail!(
            "нужно 0 < --destroy < --subjects / 2; --batch, --sweep-batch, --purge-batch, --purge-sweep-batch и --read-rate больше 0; --sweep-share от 1 до 1000"
        );
    }
    let scratch = tempfile_dir(args.dir.as_deref())?;
    let outcome = measure(&args, &scratch).await;
    let _ = std::fs::remove_dir_all(&scratch);
    outcome
}

async fn measure(args: &DestroyArgs, scratch: &std::path::Path) -> anyhow::Result<ExitCode> {
    let store_path = scratch.join("bench-store.db");
    let store = Arc::new(SqliteStore::open(&format!("sqlite://{}", store_path.display())).await?);
    eprintln!("заполнение хранилища: {} субъектов…", args.subjects);
    let started = Instant::now();
    fill(&store, args.subjects).await?;
    // Everything in the database file before anything is measured.
    settle(&store).await?;
    let fill_secs = started.elapsed().as_secs_f64();
    eprintln!("  {fill_secs:.0} с; базовая база…");
    let started = Instant::now();
    let mut conn = plain(&scratch.join("bench-plain.db"), args.subjects).await?;
    let plain_fill_secs = started.elapsed().as_secs_f64();

    // The first set at even steps, the second at odd ones, both over the whole id range.
    let stride = args.subjects / (2 * args.destroy);
    let first: Vec<SubjectId> = (0..args.destroy).map(|i| id(2 * i * stride)).collect();
    let second: Vec<SubjectId> = (0..args.destroy)
        .map(|i| id((2 * i + 1) * stride))
        .collect();
    let destroyed_span = 2 * args.destroy * stride;
    let subjects = args.subjects;
    let live: Arc<dyn Fn(u64) -> SubjectId + Send + Sync> = Arc::new(move |r: u64| {
        let mut n = (r % u64::from(subjects)) as u32;
        if n < destroyed_span && n.is_multiple_of(stride) {
            // A victim: with a stride of 2 or more its neighbour is live; with a stride of 1
            // every subject of the span is a victim, so take one after it.
            n = if stride >= 2 {
                n + 1
            } else {
                destroyed_span + n % (subjects - destroyed_span)
            };
        }
        id(n)
    });

    // 1. Throughput, nothing else running.
    eprintln!("уничтожение ключей: {} субъектов…", args.destroy);
    let started = Instant::now();
    shred(&store, &first, args.batch, None).await?;
    let shred_time = started.elapsed();
    eprintln!("зачистка…");
    let started = Instant::now();
    let swept = sweep(&store, flat_out(args.sweep_batch), None).await?;
    let sweep_time = started.elapsed();
    anyhow::ensure!(
        swept.subjects == u64::from(args.destroy)
            && swept.rows == u64::from(args.destroy * SWEPT_PER_SUBJECT),
        "the sweep deleted {} rows of {} subjects",
        swept.rows,
        swept.subjects
    );
    let base_shred = plain_delete(&mut conn, "keys", &first, args.batch).await?;
    let base_sweep = plain_delete(&mut conn, "rows", &first, args.sweep_batch).await?;
    drop(conn);

    // 2. Foreground reads alone, then during the purge of the second set, each from a quiet
    // store: the first phase's WAL checkpointed and emptied, so that neither measurement pays
    // for it.
    settle(&store).await?;
    eprintln!("чтение без уничтожения: {} с…", args.read_secs);
    let stop = Arc::new(AtomicBool::new(false));
    let task = tokio::spawn(reader(
        store.clone(),
        live.clone(),
        args.read_rate,
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(args.read_secs)).await;
    stop.store(true, Ordering::Relaxed);
    let idle = latency(task.await??.into_iter().map(|(_, d)| d).collect());

    settle(&store).await?;
    eprintln!("чтение во время уничтожения {} субъектов…", args.destroy);
    let stop = Arc::new(AtomicBool::new(false));
    let task = tokio::spawn(reader(
        store.clone(),
        live.clone(),
        args.read_rate,
        stop.clone(),
    ));
    let pace = SweepSettings {
        batch: args.purge_sweep_batch,
        pause: Duration::from_millis(args.sweep_pause_ms),
        share_permille: args.sweep_share,
        in_background: false,
    };
    let started = Instant::now();
    // The runner inside `pdv serve` paces its batches to the same share as the sweep.
    let shred_pace = SweepSettings {
        pause: Duration::ZERO,
        ..pace
    };
    shred(&store, &second, args.purge_batch, Some(shred_pace)).await?;
    let shred_end = Instant::now();
    let purge_shred = shred_end - started;
    let paced = sweep(
        &store,
        pace,
        Some(shred_end + Duration::from_secs(args.purge_secs)),
    )
    .await?;
    let sweep_end = Instant::now();
    let paced_secs = (sweep_end - shred_end).as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let reads = task.await??;
    // The rest of the queue, unmeasured and flat out, so that the check below holds.
    let rest = sweep(&store, flat_out(args.sweep_batch), None).await?;
    anyhow::ensure!(
        store.counts().await?.sweep_backlog == 0
            && paced.subjects + rest.subjects == u64::from(args.destroy),
        "the sweep finished"
    );
    // At the measured pace, the whole queue would have taken this long.
    let projected_sweep_secs = if paced.subjects == 0 {
        0.0
    } else {
        paced_secs * f64::from(args.destroy) / paced.subjects as f64
    };
    let during = |from: Instant, to: Instant| {
        latency(
            reads
                .iter()
                .filter(|(at, _)| *at >= from && *at < to)
                .map(|(_, d)| *d)
                .collect(),
        )
    };
    let during_shred = during(started, shred_end);
    let busy = during(shred_end, sweep_end + Duration::from_secs(1));

    let rate = |n: u32, d: Duration| f64::from(n) / d.as_secs_f64();
    let shred_ratio = shred_time.as_secs_f64() / base_shred.as_secs_f64();
    let sweep_ratio = sweep_time.as_secs_f64() / base_sweep.as_secs_f64();
    let p99_ratio = busy.p99.as_secs_f64() / idle.p99.as_secs_f64().max(1e-9);
    let shred_p99_ratio = during_shred.p99.as_secs_f64() / idle.p99.as_secs_f64().max(1e-9);
    let report = json!({
        "subjects": args.subjects,
        "destroyed": args.destroy,
        "fill_secs": fill_secs.round(),
        "baseline_fill_secs": plain_fill_secs.round(),
        "key_shred": {
            "batch": args.batch,
            "subjects_per_sec": rate(args.destroy, shred_time).round(),
            "baseline_rows_per_sec": rate(args.destroy, base_shred).round(),
            "time_ratio_vs_baseline": round2(shred_ratio),
        },
        "sweep": {
            "batch": args.sweep_batch,
            "subjects_per_sec": rate(args.destroy, sweep_time).round(),
            "rows_per_sec": rate(args.destroy * SWEPT_PER_SUBJECT, sweep_time).round(),
            "baseline_rows_per_sec": rate(args.destroy * SWEPT_PER_SUBJECT, base_sweep).round(),
            "time_ratio_vs_baseline": round2(sweep_ratio),
        },
        "foreground_reads": {
            "rate_per_sec": args.read_rate,
            "alone": latency_json(&idle),
            "during_sweep": latency_json(&busy),
            "p99_ratio": round2(p99_ratio),
            "during_key_shred": latency_json(&during_shred),
            "key_shred_p99_ratio": round2(shred_p99_ratio),
        },
        "purge": {
            "subjects": args.destroy,
            "shred_batch": args.purge_batch,
            "shred_secs": round2(purge_shred.as_secs_f64()),
            "sweep_batch": args.purge_sweep_batch,
            "sweep_pause_ms": args.sweep_pause_ms,
            "sweep_share_permille": args.sweep_share,
            "sweep_measured_secs": round2(paced_secs),
            "subjects_swept_paced": paced.subjects,
            "writer_share_held": round2(paced.held.as_secs_f64() / paced_secs.max(1e-9) * 1000.0),
            "projected_sweep_secs": projected_sweep_secs.round(),
        },
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "хранилище: {} субъектов (заполнение {fill_secs:.0} с), уничтожено {} дважды\n\
             уничтожение ключей пачками по {}: {:.0} субъектов/с; базовый уровень {:.0} строк/с; \
             медленнее в {shred_ratio:.2} раза\n\
             зачистка пачками по {}: {:.0} субъектов/с ({:.0} строк/с); базовый уровень {:.0} строк/с; \
             медленнее в {sweep_ratio:.2} раза\n\
             чтение ({} в секунду): p99 {:.3} мс без уничтожения; {:.3} мс во время зачистки \
             ({:.0} с измерено, вся зачистка заняла бы {projected_sweep_secs:.0} с) — в {p99_ratio:.2} раза; \
             {:.3} мс во время уничтожения ключей ({:.1} с) — в {shred_p99_ratio:.2} раза",
            args.subjects,
            args.destroy,
            args.batch,
            rate(args.destroy, shred_time),
            rate(args.destroy, base_shred),
            args.sweep_batch,
            rate(args.destroy, sweep_time),
            rate(args.destroy * SWEPT_PER_SUBJECT, sweep_time),
            rate(args.destroy * SWEPT_PER_SUBJECT, base_sweep),
            args.read_rate,
            ms(idle.p99),
            ms(busy.p99),
            paced_secs,
            ms(during_shred.p99),
            purge_shred.as_secs_f64(),
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
