//! Backup, restore and the crypto-shredding guarantee.
//!
//! A backup is two archives written from one consistent snapshot: the **data archive**
//! (ciphertext, metadata, accounts, the audit trail) and the **key archive** (subjects' wrapped
//! data keys). They go to separate files, meant for separate media, and a data archive never
//! holds a key. Both carry the tombstones of destroyed keys.
//!
//! Destroying a subject deletes its wrapped key and leaves a tombstone. Because of that, no
//! restore brings a destroyed subject back:
//! - restoring a data archive keeps the live key store (or takes keys from a key archive), and
//!   keys are pruned against every tombstone known to the live store and to both archives;
//! - a subject in the restored data whose key is tombstoned has its data deleted again at once,
//!   and the re-applied destruction is written to the audit trail.
//!
//! The one thing that can bring a key back is a key archive older than the destruction restored
//! into a database that has lost its own key store *and* together with a data archive that is
//! also older: keep key archives only as long as the destruction deadline (ст. 21 ч. 5 152-ФЗ:
//! 30 days) — the operators' guide says so in docs/backup.md.
//!
//! The archive format is JSON Lines: a header, then for each table a line naming it and its
//! columns followed by one JSON array per row (bytes in base64), then a trailer with the row counts
//! and an HMAC-SHA256 over every preceding byte, keyed from the master key. A restore checks
//! everything while loading inside one transaction and commits only if the whole archive is
//! intact, so a damaged, truncated or forged archive changes nothing.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use pdv_core::Operation;
use pdv_core::SubjectId;
use pdv_core::audit::{AuditRecord, Outcome};
use pdv_crypto::BackupMac;
use pdv_store::backup::{self, ColumnType, INSERT_BATCH, Part, SCHEMA_VERSION};
use pdv_store::{BackupRow, StoreError, TableSpec, Transaction, Value};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit_log::AuditReport;
use crate::error::{ServiceError, ServiceResult};
use crate::vault::Vault;
use crate::views::Actor;

const FORMAT: &str = "pdvault-backup";
const FORMAT_VERSION: u32 = 1;

/// Which of the two archives a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveKind {
    Data,
    Keys,
}

impl ArchiveKind {
    fn as_str(self) -> &'static str {
        match self {
            ArchiveKind::Data => "data",
            ArchiveKind::Keys => "keys",
        }
    }

    fn holds(self, part: Part) -> bool {
        match self {
            ArchiveKind::Data => part.in_data(),
            ArchiveKind::Keys => part.in_keys(),
        }
    }

    fn title(self) -> &'static str {
        match self {
            ArchiveKind::Data => "архив данных",
            ArchiveKind::Keys => "архив ключей",
        }
    }
}

/// The first line of an archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    part: ArchiveKind,
    schema: i64,
    created_at: String,
    backend: String,
    master_key_id: String,
}

/// What one archive holds.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveInfo {
    pub path: PathBuf,
    pub kind: ArchiveKind,
    pub created_at: String,
    /// Rows per table.
    pub rows: BTreeMap<String, u64>,
    pub total_rows: u64,
    pub bytes: u64,
}

/// The result of `pdv backup`.
#[derive(Debug, Clone, Serialize)]
pub struct BackupSummary {
    pub data: Option<ArchiveInfo>,
    pub keys: Option<ArchiveInfo>,
}

/// The result of `pdv restore`.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreSummary {
    pub data: ArchiveInfo,
    pub keys: Option<ArchiveInfo>,
    /// Audit events the database held before it was replaced; they are gone, and the restore's
    /// own audit event records how many there were and the hash of the last one.
    pub replaced_events: u64,
    /// Subjects destroyed after the backup was made, whose data came back with the archive and
    /// was deleted again at once.
    pub destructions_reapplied: Vec<SubjectId>,
    /// Wrapped keys dropped because their subject was destroyed or is not in the restored data.
    pub keys_pruned: u64,
    /// Subjects whose data cannot be read because no key archive or live key store had their key.
    pub subjects_without_key: Vec<SubjectId>,
    /// Sessions ended: everyone signs in again after a restore.
    pub sessions_ended: u64,
    /// The audit trail as checked right after the restore.
    pub audit: AuditReport,
}

/// The result of destroying a subject's data by crypto-shredding.
#[derive(Debug, Clone, Serialize)]
pub struct ShredReport {
    pub subject: SubjectId,
    /// Key rows deleted: the wrapped data key and the category keys. The rest of the subject's
    /// rows, unreadable from then on, are deleted by the sweep.
    pub rows_deleted: u64,
    /// The number of the destruction act that confirms it.
    pub act: String,
}

/// The tables of destroyed keys: merged into what the store already knows on a restore, never
/// replaced, so that a destruction made after the backup stays in force.
const TOMBSTONES: &[&str] = &["key_tombstones", "category_tombstones"];

fn io_error(path: &Path, what: &str, e: std::io::Error) -> ServiceError {
    ServiceError::Io(format!("{what} {}: {e}", path.display()))
}

/// Writes one archive to `<path>.partial` and renames it into place when complete, so a file
/// under the final name is always a whole archive.
struct ArchiveWriter {
    kind: ArchiveKind,
    path: PathBuf,
    partial: PathBuf,
    out: BufWriter<File>,
    mac: BackupMac,
    current: Option<&'static str>,
    rows: BTreeMap<String, u64>,
    bytes: u64,
    created_at: String,
}

impl ArchiveWriter {
    fn create(
        vault: &Vault,
        kind: ArchiveKind,
        path: &Path,
        created_at: &str,
    ) -> ServiceResult<Self> {
        if path.exists() {
            return Err(ServiceError::Io(format!(
                "файл {} уже существует; архив не перезаписывается, укажите новое имя",
                path.display()
            )));
        }
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        // Archives hold ciphertext, password hashes and (the key archive) wrapped keys: only
        // the owner may read them.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&partial)
            .map_err(|e| io_error(&partial, "не удалось создать файл", e))?;
        let mut writer = ArchiveWriter {
            kind,
            path: path.to_path_buf(),
            partial,
            out: BufWriter::new(file),
            mac: vault.keyring().backup_mac(kind.as_str()),
            current: None,
            rows: BTreeMap::new(),
            bytes: 0,
            created_at: created_at.to_string(),
        };
        let header = Header {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            part: kind,
            schema: SCHEMA_VERSION,
            created_at: created_at.into(),
            backend: vault.store().backend().into(),
            master_key_id: vault.master_key_id().into(),
        };
        writer.line(&serde_json::to_value(&header).expect("a header serialises"))?;
        Ok(writer)
    }

    fn line(&mut self, value: &serde_json::Value) -> ServiceResult<()> {
        let mut text = serde_json::to_string(value).expect("JSON values serialise");
        text.push('\n');
        self.mac.update(text.as_bytes());
        self.bytes += text.len() as u64;
        self.out
            .write_all(text.as_bytes())
            .map_err(|e| io_error(&self.partial, "не удалось записать", e))
    }

    fn row(&mut self, table: &'static TableSpec, row: BackupRow) -> ServiceResult<()> {
        if self.current != Some(table.name) {
            self.current = Some(table.name);
            self.rows.insert(table.name.to_string(), 0);
            self.line(&json!({ "table": table.name, "columns": table.column_names() }))?;
        }
        *self.rows.entry(table.name.to_string()).or_default() += 1;
        let cells: Vec<serde_json::Value> = row.into_iter().map(encode).collect();
        self.line(&serde_json::Value::Array(cells))
    }

    fn finish(mut self) -> ServiceResult<ArchiveInfo> {
        for t in backup::TABLES.iter().filter(|t| self.kind.holds(t.part)) {
            self.rows.entry(t.name.to_string()).or_insert(0);
        }
        let total: u64 = self.rows.values().sum();
        let tag = hex::encode(self.mac.tag());
        let trailer = json!({ "end": { "rows": self.rows, "total_rows": total }, "mac": tag });
        let mut text = serde_json::to_string(&trailer).expect("JSON values serialise");
        text.push('\n');
        self.bytes += text.len() as u64;
        let file = {
            self.out
                .write_all(text.as_bytes())
                .map_err(|e| io_error(&self.partial, "не удалось записать", e))?;
            self.out
                .into_inner()
                .map_err(|e| io_error(&self.partial, "не удалось записать", e.into_error()))?
        };
        file.sync_all()
            .map_err(|e| io_error(&self.partial, "не удалось сохранить на диск", e))?;
        std::fs::rename(&self.partial, &self.path)
            .map_err(|e| io_error(&self.path, "не удалось переименовать архив в", e))?;
        Ok(ArchiveInfo {
            path: self.path,
            kind: self.kind,
            created_at: self.created_at,
            rows: self.rows,
            total_rows: total,
            bytes: self.bytes,
        })
    }

    /// Removes the unfinished file after a failure.
    fn abandon(self) {
        drop(self.out);
        let _ = std::fs::remove_file(&self.partial);
    }
}

fn encode(value: Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Int(n) => json!(n),
        Value::Text(s) => json!(s),
        Value::Bytes(b) => json!(BASE64.encode(b)),
        Value::TextList(list) => json!(list),
    }
}

fn decode(cell: &serde_json::Value, column: &backup::Column) -> Result<Value, String> {
    let value = match (cell, column.ty) {
        (serde_json::Value::Null, _) => Value::Null,
        (serde_json::Value::Number(n), ColumnType::Int | ColumnType::Int32) => {
            Value::Int(n.as_i64().ok_or("целое число вне диапазона")?)
        }
        (serde_json::Value::String(s), ColumnType::Text) => Value::Text(s.clone()),
        (serde_json::Value::String(s), ColumnType::Bytes) => Value::Bytes(
            BASE64
                .decode(s)
                .map_err(|_| "байты не в base64".to_string())?,
        ),
        (serde_json::Value::Array(items), ColumnType::TextList) => Value::TextList(
            items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or("ожидался список строк")
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(format!("значение не того типа ({:?})", column.ty)),
    };
    if value.fits(column) {
        Ok(value)
    } else if value == Value::Null {
        Err("пустое значение в обязательном столбце".into())
    } else {
        Err("значение вне допустимого диапазона".into())
    }
}

/// Reads an archive line by line, checking and loading it into an open transaction.
struct ArchiveReader {
    path: PathBuf,
    input: BufReader<File>,
    line_no: u64,
    mac: BackupMac,
    bytes: u64,
}

impl ArchiveReader {
    fn open(vault: &Vault, kind: ArchiveKind, path: &Path) -> ServiceResult<(Self, Header)> {
        let file = File::open(path).map_err(|e| io_error(path, "не удалось открыть", e))?;
        let mut reader = ArchiveReader {
            path: path.to_path_buf(),
            input: BufReader::new(file),
            line_no: 0,
            mac: vault.keyring().backup_mac(kind.as_str()),
            bytes: 0,
        };
        let Some(first) = reader.next_line()? else {
            return Err(reader.bad("файл пуст, это не архив pdvault"));
        };
        reader.mac.update(first.as_bytes());
        let header: Header = serde_json::from_str(&first)
            .ok()
            .filter(|h: &Header| h.format == FORMAT)
            .ok_or_else(|| reader.bad("это не архив pdvault (нет заголовка формата)"))?;
        if header.version != FORMAT_VERSION {
            return Err(reader.bad(&format!(
                "версия формата {} не поддерживается (эта программа читает версию {FORMAT_VERSION})",
                header.version
            )));
        }
        if header.part != kind {
            return Err(reader.bad(&format!(
                "это {}, а ожидался {}",
                header.part.title(),
                kind.title()
            )));
        }
        if header.schema != SCHEMA_VERSION {
            return Err(reader.bad(&format!(
                "архив сделан со схемой базы версии {}, а эта версия pdvault работает со схемой {SCHEMA_VERSION}; \
                 восстановите его той версией pdvault, которой он сделан, и обновите её",
                header.schema
            )));
        }
        if header.master_key_id != vault.master_key_id() {
            return Err(reader.bad(&format!(
                "архив сделан с мастер-ключом {}, а хранилище открыто ключом {}; укажите ключ, которым сделан архив",
                header.master_key_id,
                vault.master_key_id()
            )));
        }
        Ok((reader, header))
    }

    fn next_line(&mut self) -> ServiceResult<Option<String>> {
        let mut line = String::new();
        let n = self
            .input
            .read_line(&mut line)
            .map_err(|e| io_error(&self.path, "не удалось прочитать", e))?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        self.bytes += n as u64;
        Ok(Some(line))
    }

    fn bad(&self, message: &str) -> ServiceError {
        ServiceError::BadArchive {
            file: self.path.display().to_string(),
            line: self.line_no,
            message: message.to_string(),
        }
    }

    /// Loads every row into `tx`, table by table, and checks the trailer. `skip_existing` names
    /// the tables whose rows are merged with what the database already holds.
    async fn load(
        mut self,
        kind: ArchiveKind,
        header: Header,
        tx: &mut dyn Transaction,
        merge: &[&str],
    ) -> ServiceResult<ArchiveInfo> {
        let tables: Vec<&'static TableSpec> = backup::TABLES
            .iter()
            .filter(|t| kind.holds(t.part))
            .collect();
        let mut next_table = 0;
        let mut current: Option<&'static TableSpec> = None;
        let mut batch: Vec<BackupRow> = Vec::new();
        let mut rows: BTreeMap<String, u64> = BTreeMap::new();
        loop {
            let Some(line) = self.next_line()? else {
                return Err(self.bad("архив оборван: нет завершающей строки с контрольной суммой"));
            };
            if line.starts_with('[') {
                let Some(table) = current else {
                    return Err(self.bad("строка данных до названия таблицы"));
                };
                self.mac.update(line.as_bytes());
                let cells: Vec<serde_json::Value> = serde_json::from_str(&line)
                    .map_err(|e| self.bad(&format!("строка не читается как JSON: {e}")))?;
                if cells.len() != table.columns.len() {
                    return Err(self.bad(&format!(
                        "в строке таблицы {} {} значений, а столбцов {}",
                        table.name,
                        cells.len(),
                        table.columns.len()
                    )));
                }
                let mut row = Vec::with_capacity(cells.len());
                for (cell, column) in cells.iter().zip(table.columns) {
                    row.push(
                        decode(cell, column).map_err(|m| {
                            self.bad(&format!("{}.{}: {m}", table.name, column.name))
                        })?,
                    );
                }
                batch.push(row);
                *rows.entry(table.name.to_string()).or_default() += 1;
                if batch.len() == INSERT_BATCH {
                    tx.insert_rows(table, &batch, merge.contains(&table.name))
                        .await
                        .map_err(|e| self.store_error(table, e))?;
                    batch.clear();
                }
                continue;
            }
            let control: serde_json::Value = serde_json::from_str(&line)
                .map_err(|e| self.bad(&format!("строка не читается как JSON: {e}")))?;
            if let Some(table) = current
                && !batch.is_empty()
            {
                tx.insert_rows(table, &batch, merge.contains(&table.name))
                    .await
                    .map_err(|e| self.store_error(table, e))?;
                batch.clear();
            }
            if let Some(name) = control.get("table").and_then(|t| t.as_str()) {
                self.mac.update(line.as_bytes());
                let Some(position) = tables[next_table..].iter().position(|t| t.name == name)
                else {
                    return Err(self.bad(&format!(
                        "таблица «{name}» неизвестна, повторена или стоит не на своём месте"
                    )));
                };
                let table = tables[next_table + position];
                next_table += position + 1;
                let columns: Vec<&str> = control
                    .get("columns")
                    .and_then(|c| c.as_array())
                    .map(|c| c.iter().filter_map(|v| v.as_str()).collect())
                    .unwrap_or_default();
                if columns != table.column_names() {
                    return Err(self.bad(&format!(
                        "столбцы таблицы {name} не совпадают со схемой версии {SCHEMA_VERSION}"
                    )));
                }
                current = Some(table);
                continue;
            }
            let Some(end) = control.get("end") else {
                return Err(self.bad("неизвестная служебная строка"));
            };
            let tag = control
                .get("mac")
                .and_then(|m| m.as_str())
                .and_then(|m| hex::decode(m).ok())
                .unwrap_or_default();
            if !self.mac.verify(&tag) {
                return Err(self.bad(
                    "контрольная сумма не сходится: архив изменён, повреждён или сделан другим мастер-ключом",
                ));
            }
            for t in &tables {
                let expected = end
                    .get("rows")
                    .and_then(|r| r.get(t.name))
                    .and_then(|n| n.as_u64())
                    .unwrap_or(0);
                let read = rows.get(t.name).copied().unwrap_or(0);
                if expected != read {
                    return Err(self.bad(&format!(
                        "в таблице {} прочитано {read} строк, а записано {expected}",
                        t.name
                    )));
                }
                rows.entry(t.name.to_string()).or_insert(0);
            }
            if self.next_line()?.is_some() {
                return Err(self.bad("после завершающей строки есть лишние данные"));
            }
            let total_rows = rows.values().sum();
            return Ok(ArchiveInfo {
                path: self.path,
                kind,
                created_at: header.created_at,
                rows,
                total_rows,
                bytes: self.bytes,
            });
        }
    }

    fn store_error(&self, table: &TableSpec, e: StoreError) -> ServiceError {
        match e {
            StoreError::Conflict(m) | StoreError::Corrupt(m) => self.bad(&format!(
                "строки таблицы {} не принимаются базой: {m}",
                table.name
            )),
            other => ServiceError::Store(other),
        }
    }
}

impl Vault {
    /// Writes a backup from one consistent snapshot: the data archive to `data`, the key archive
    /// to `keys`, either or both. Existing files are never overwritten. Audited.
    pub async fn backup(
        &self,
        actor: &Actor,
        data: Option<&Path>,
        keys: Option<&Path>,
    ) -> ServiceResult<BackupSummary> {
        if data.is_none() && keys.is_none() {
            return Err(ServiceError::invalid(
                "archive",
                "nothing_to_write",
                "укажите, куда записать архив данных и/или архив ключей",
            ));
        }
        if let (Some(d), Some(k)) = (data, keys)
            && d == k
        {
            return Err(ServiceError::invalid(
                "keys",
                "same_file",
                "архив ключей должен быть отдельным файлом (лучше — на другом носителе)",
            ));
        }
        let created_at = jiff::Timestamp::from_millisecond(self.now_ms())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_string();
        let mut data_out = match data {
            Some(p) => Some(ArchiveWriter::create(
                self,
                ArchiveKind::Data,
                p,
                &created_at,
            )?),
            None => None,
        };
        let mut keys_out = match keys {
            Some(p) => match ArchiveWriter::create(self, ArchiveKind::Keys, p, &created_at) {
                Ok(w) => Some(w),
                Err(e) => {
                    if let Some(w) = data_out {
                        w.abandon();
                    }
                    return Err(e);
                }
            },
            None => None,
        };
        let tables: Vec<&'static TableSpec> = backup::TABLES
            .iter()
            .filter(|t| {
                (data_out.is_some() && t.part.in_data()) || (keys_out.is_some() && t.part.in_keys())
            })
            .collect();
        let mut write_error = None;
        let exported = self
            .store()
            .export(&tables, &mut |table, row| {
                let to_data = data_out.as_mut().filter(|_| table.part.in_data());
                let to_keys = keys_out.as_mut().filter(|_| table.part.in_keys());
                // Only the tombstones go to both archives; every other row is moved, not copied.
                let result = match (to_data, to_keys) {
                    (Some(d), Some(k)) => {
                        d.row(table, row.clone()).and_then(|()| k.row(table, row))
                    }
                    (Some(w), None) | (None, Some(w)) => w.row(table, row),
                    (None, None) => Ok(()),
                };
                result.map_err(|e| {
                    let message = e.to_string();
                    write_error = Some(e);
                    StoreError::Backend(message)
                })
            })
            .await;
        if let Err(e) = exported {
            for w in [data_out, keys_out].into_iter().flatten() {
                w.abandon();
            }
            return Err(write_error.unwrap_or(ServiceError::Store(e)));
        }
        let data = data_out.map(ArchiveWriter::finish).transpose()?;
        let keys = keys_out.map(ArchiveWriter::finish).transpose()?;
        let summary = BackupSummary { data, keys };
        let describe = |a: &Option<ArchiveInfo>| {
            a.as_ref()
                .map(|a| json!({ "rows": a.total_rows, "bytes": a.bytes }))
        };
        let tx = self.store().begin().await?;
        let event = self.security_event(&actor.name, "backup.created", Outcome::Done,
            json!({ "created_at": created_at, "data": describe(&summary.data), "keys": describe(&summary.keys) }),
        );
        self.finish(tx, vec![event]).await?;
        Ok(summary)
    }

    /// Restores a data archive, and a key archive if given, in one transaction. A database that
    /// already holds subjects, accounts or events is replaced only when `replace` is set; its
    /// live key store is kept (unless a key archive is given) and every tombstone it knows stays
    /// in force, so subjects destroyed after the backup stay destroyed.
    pub async fn restore(
        &self,
        actor: &Actor,
        data: &Path,
        keys: Option<&Path>,
        replace: bool,
    ) -> ServiceResult<RestoreSummary> {
        // Headers first, so a wrong file is refused before the database is touched.
        let (data_reader, data_header) = ArchiveReader::open(self, ArchiveKind::Data, data)?;
        let keys_reader = keys
            .map(|k| ArchiveReader::open(self, ArchiveKind::Keys, k))
            .transpose()?;

        let mut tx = self.store().begin().await?;
        let count = |name: &str| backup::table(name).expect("a listed table");
        let subjects = tx.count_rows(count("subjects")).await?;
        let users = tx.count_rows(count("staff_users")).await?;
        let events = tx.count_rows(count("audit_events")).await?;
        // A vault opened on an empty database has written its one `vault.init` event.
        let in_use =
            subjects > 0 || users > 0 || tx.count_rows(count("api_keys")).await? > 0 || events > 1;
        if in_use && !replace {
            return Err(ServiceError::Conflict {
                code: "restore_target_not_empty",
                message: format!(
                    "база не пуста ({subjects} субъектов, {users} учётных записей, {events} событий аудита); \
                     чтобы заменить её содержимое архивом, добавьте --replace"
                ),
            });
        }
        let old_head = self
            .store()
            .audit_events(events.max(1), 1)
            .await?
            .pop()
            .map(|e| (e.seq, hex::encode(e.hash)));

        let sessions_ended = tx.delete_expired_sessions(i64::MAX).await?;
        tx.clear_table("idempotency").await?;
        for t in backup::TABLES.iter().rev().filter(|t| t.part == Part::Data) {
            tx.clear_table(t.name).await?;
        }
        let data_info = data_reader
            .load(ArchiveKind::Data, data_header, &mut *tx, TOMBSTONES)
            .await?;
        let keys_info = match keys_reader {
            Some((reader, header)) => {
                tx.clear_table("category_keys").await?;
                tx.clear_table("subject_keys").await?;
                Some(
                    reader
                        .load(ArchiveKind::Keys, header, &mut *tx, TOMBSTONES)
                        .await?,
                )
            }
            None => None,
        };

        let keys_pruned = tx.prune_keys().await?;
        // A category destroyed after the backup was taken stays destroyed: its records from the
        // archive go again, and so does any key the archive still held for it.
        let category_rows_purged = tx.purge_destroyed_categories().await?;
        let mut reapplied = Vec::new();
        for subject in tx.tombstoned_subjects().await? {
            if tx.purge_subject(subject).await? > 0 {
                reapplied.push(subject);
            }
        }
        let subjects_without_key = tx.subjects_without_key().await?;
        // What the sweep had queued is gone with the data tables it pointed into, and every
        // tombstoned subject's rows were just deleted above.
        tx.clear_table("sweep_queue").await?;

        let mut events_out = vec![self.security_event(
            &actor.name,
            "backup.restored",
            Outcome::Done,
            json!({
                "data_archive_created_at": data_info.created_at,
                "data_rows": data_info.total_rows,
                "keys_archive_created_at": keys_info.as_ref().map(|k| k.created_at.clone()),
                "replaced": { "events": events, "head": old_head.as_ref().map(|(_, h)| h) },
                "destructions_reapplied": reapplied.len(),
                "keys_pruned": keys_pruned,
                "category_rows_purged": category_rows_purged,
                "subjects_without_key": subjects_without_key.len(),
                "sessions_ended": sessions_ended,
            }),
        )];
        for subject in &reapplied {
            events_out.push(AuditRecord {
                operation: Some(Operation::Destruction),
                subject: Some(*subject),
                ..self.security_event(
                    &actor.name,
                    "subject.destruction_reapplied",
                    Outcome::Done,
                    json!({ "reason": "key_tombstone" }),
                )
            });
        }
        self.finish(tx, events_out).await?;
        let audit = self.verify_audit().await?;
        Ok(RestoreSummary {
            data: data_info,
            keys: keys_info,
            replaced_events: if in_use { events } else { 0 },
            destructions_reapplied: reapplied,
            keys_pruned,
            subjects_without_key,
            sessions_ended,
            audit,
        })
    }

    /// Destroys a subject's personal data by crypto-shredding: deletes its wrapped data key and
    /// category keys and leaves a tombstone so that no restore brings them back, and queues the
    /// rest of its rows for the sweep (see `sweep.rs`); from the commit on, nothing of the subject
    /// can be read. The subject's id and the audit trail stay. Audited as destruction (ст. 3 п. 8 152-ФЗ), and
    /// confirmed by an act of its own (Приказ РКН № 179), closed in the same transaction.
    pub async fn shred_subject(
        &self,
        actor: &Actor,
        subject: SubjectId,
        reason: &str,
    ) -> ServiceResult<ShredReport> {
        let mut tx = self.store().begin().await?;
        let Some(row) = tx.subject(subject).await? else {
            return Err(ServiceError::NotFound {
                what: "субъект",
                id: subject.to_string(),
            });
        };
        if let Some(at_ms) = tx.tombstone(subject).await? {
            return Err(ServiceError::Destroyed {
                id: subject.to_string(),
                at: self.local_time(at_ms),
            });
        }
        let (full_name, identifiers) = self.identification(&mut *tx, subject).await?;
        let policy = &self.policy().policy;
        let mut categories = Vec::new();
        let mut processors = std::collections::BTreeSet::new();
        for (category, n) in tx.record_counts(subject).await? {
            for p in &policy.processors {
                if p.categories.iter().any(|c| c.as_str() == category) {
                    processors.insert(p.name.clone());
                }
            }
            categories.push(crate::acts::DestroyedCategory {
                title: policy
                    .category(&category)
                    .map_or_else(|| category.clone(), |c| c.title.clone()),
                id: category,
                records: u32::try_from(n).unwrap_or(u32::MAX),
            });
        }
        let now = self.now_ms();
        let rows_deleted = tx.shred_keys(&[subject], now).await?;
        let mut act = self
            .open_act(&mut *tx, "manual", &format!("решение оператора: {reason}"))
            .await?;
        self.add_act_entry(
            &mut *tx,
            &mut act,
            crate::acts::ActEntry {
                entry_no: 0,
                subject,
                subject_kind: row.kind,
                full_name,
                identifiers,
                categories,
                whole_subject: true,
                reasons: vec![reason.to_string()],
                processors: processors.into_iter().collect(),
                requests: Vec::new(),
                destroyed_at: self.local_time(now),
            },
        )
        .await?;
        let number = act.number.to_string();
        let event = AuditRecord {
            operation: Some(Operation::Destruction),
            subject: Some(subject),
            ..self.security_event(
                &actor.name,
                "subject.destroyed",
                Outcome::Done,
                json!({ "rows_deleted": rows_deleted, "method": "crypto_shredding", "act": number }),
            )
        };
        let closed = self
            .close_act(&mut *tx, &actor.name, act.id)
            .await?
            .map(|(_, e)| e);
        self.finish(tx, std::iter::once(event).chain(closed).collect())
            .await?;
        Ok(ShredReport {
            subject,
            rows_deleted,
            act: number,
        })
    }
}
