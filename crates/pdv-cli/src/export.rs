//! `pdv export depersonalised`: a depersonalised dataset for the policy's statistics purposes
//! (Приказ Роскомнадзора № 140; see docs/depersonalisation.md), written to a file, or to
//! standard output without `--out`, with the table pseudonym → subject id in a separate file
//! when `--key-table` names one.
//!
//! Files are written whole or not at all: each goes to a temporary file beside its target and
//! is renamed into place once complete. An existing file is never replaced without `--force`,
//! and the targets are checked before any data is read, so a run that could not write its
//! output does not leave an audited export behind. A refusal for want of k-anonymity writes
//! nothing and exits with 1, other errors with 2.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pdv_core::depersonalise::{ColumnRef, DatasetFormat, MinK, PurposeSelector};
use pdv_service::{Actor, DepersonalisationReport, DepersonaliseRequest, K_NOT_REACHED};

use crate::config::Config;
use crate::{Common, open_vault};

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// A depersonalised dataset for statistics: subjects replaced by random pseudonyms, direct
    /// identifiers removed, quasi-identifiers generalised, k-anonymity checked, rows shuffled.
    Depersonalised(Depersonalised),
}

impl ExportCommand {
    pub fn common(&self) -> &Common {
        match self {
            ExportCommand::Depersonalised(d) => &d.common,
        }
    }
}

#[derive(Debug, Args)]
pub struct Depersonalised {
    #[command(flatten)]
    pub common: Common,
    /// A purpose of the policy marked `depersonalised_only = true`, or `statistics` for all of
    /// them together.
    #[arg(long, value_name = "PURPOSE")]
    pub purpose: PurposeSelector,
    /// Extra quasi-identifiers, comma-separated `category.field`: any output column of the
    /// purposes, or a generalisable field of another category (date of birth, age, city,
    /// address, sex, a date, an amount), joined to each of the subject's rows. The default
    /// quasi-identifiers (every generalised column) always count.
    #[arg(long, value_delimiter = ',', value_name = "CATEGORY.FIELD")]
    pub quasi: Vec<ColumnRef>,
    /// The smallest group of people allowed to share the quasi-identifiers' values
    /// (k-anonymity), at least 2.
    #[arg(long, default_value = "5", value_name = "N")]
    pub k: MinK,
    /// Remove the rows of groups smaller than k instead of refusing the export.
    #[arg(long)]
    pub suppress: bool,
    /// Where to write the dataset; standard output when absent (the report then goes to
    /// standard error).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Format of the dataset and of the key table.
    #[arg(long, default_value = "csv", value_name = "csv|json")]
    pub format: DatasetFormat,
    /// Write the table pseudonym → subject id to this file (mode 0600). Keep it apart from the
    /// dataset; without this option no such table exists anywhere.
    #[arg(long, value_name = "FILE")]
    pub key_table: Option<PathBuf>,
    /// Replace --out and --key-table if they exist.
    #[arg(long)]
    pub force: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(cmd: ExportCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let ExportCommand::Depersonalised(args) = cmd;
    check_targets(&args)?;
    let vault = open_vault(config, false).await?;
    let request = DepersonaliseRequest {
        purpose: args.purpose.clone(),
        quasi: args.quasi.clone(),
        min_k: args.k,
        suppress: args.suppress,
        format: args.format,
        key_table: args.key_table.is_some(),
    };
    let export = match vault
        .export_depersonalised(&Actor::new("cli"), request)
        .await
    {
        Ok(export) => export,
        Err(e) if e.code() == K_NOT_REACHED => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e.into()),
    };

    // Both files are complete on disk before either takes its name, so a failure leaves
    // neither a half-written dataset nor a key table without its dataset.
    let mut staged = Vec::new();
    if let (Some(path), Some(bytes)) = (&args.key_table, &export.key_table) {
        staged.push(Staged::write(path, bytes, true)?);
    }
    if let Some(path) = &args.out {
        staged.push(Staged::write(path, &export.dataset, false)?);
    }
    for file in staged {
        file.commit(args.force)?;
    }

    let report = &export.report;
    let text = if args.json {
        let mut value = serde_json::to_value(report)?;
        value["out"] = serde_json::json!(args.out);
        value["key_table"] = serde_json::json!(args.key_table);
        format!("{}\n", serde_json::to_string_pretty(&value)?)
    } else {
        describe(report, args.out.as_deref(), args.key_table.as_deref())
    };
    if args.out.is_some() {
        print!("{text}");
    } else {
        // The dataset is the output; the report must not mix into it.
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(&export.dataset)
            .and_then(|()| stdout.flush())
            .context("не удалось вывести набор")?;
        eprint!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses, before anything is read, targets that cannot or must not be written.
fn check_targets(args: &Depersonalised) -> anyhow::Result<()> {
    if let (Some(out), Some(keys)) = (&args.out, &args.key_table)
        && same_path(out, keys)
    {
        bail!(
            "--out и --key-table указывают на один файл: таблица соответствия хранится отдельно от набора"
        );
    }
    let targets = [
        (args.out.as_deref(), "набора"),
        (args.key_table.as_deref(), "таблицы соответствия"),
    ];
    for (path, what) in targets {
        let Some(path) = path else { continue };
        let dir = parent(path);
        if !dir.is_dir() {
            bail!("каталог {} для файла {what} не существует", dir.display());
        }
        if path.is_dir() {
            bail!("{} — каталог, а не файл {what}", path.display());
        }
        if path.exists() && !args.force {
            bail!(
                "файл {what} {} уже существует; он не перезаписывается без --force",
                path.display()
            );
        }
    }
    Ok(())
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (std::path::absolute(a), std::path::absolute(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The directory a file goes to: its parent, or the working directory for a bare name.
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A file written under a temporary name beside its target, renamed into place by `commit`
/// and removed if dropped before.
struct Staged {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Staged {
    fn write(target: &Path, bytes: &[u8], private: bool) -> anyhow::Result<Staged> {
        let name = target
            .file_name()
            .with_context(|| format!("{} — не имя файла", target.display()))?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.partial", std::process::id()));
        let staged = Staged {
            temp: parent(target).join(temp_name),
            target: target.to_path_buf(),
            committed: false,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        // The key table re-identifies the dataset: only the owner may read it.
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let written = options.open(&staged.temp).and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
        written.with_context(|| format!("не удалось записать {}", staged.temp.display()))?;
        Ok(staged)
    }

    fn commit(mut self, force: bool) -> anyhow::Result<()> {
        // Checked again: the file may have appeared while the export ran.
        if !force && self.target.exists() {
            bail!(
                "файл {} появился, пока шла выгрузка; он не перезаписывается без --force",
                self.target.display()
            );
        }
        std::fs::rename(&self.temp, &self.target)
            .with_context(|| format!("не удалось записать {}", self.target.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

fn describe(r: &DepersonalisationReport, out: Option<&Path>, key_table: Option<&Path>) -> String {
    let s = &r.summary;
    let list = |items: &[String]| {
        if items.is_empty() {
            "нет".to_string()
        } else {
            items.join(", ")
        }
    };
    let k = |k: Option<u32>| k.map_or_else(|| "— (строк нет)".to_string(), |k| k.to_string());
    let mut t = String::new();
    let mut line = |text: String| {
        t.push_str(&text);
        t.push('\n');
    };
    line(format!(
        "обезличенный набор для целей: {} (на {})",
        s.purposes.join(", "),
        r.as_of
    ));
    line(format!(
        "  прочитано: субъектов {}, записей {}; не читались из-за блокирования: субъектов {}, категорий {}",
        s.subjects_read, s.records_read, r.subjects_blocked, r.categories_blocked
    ));
    line(format!(
        "  строк: {} (подавлено {} из {}), субъектов в наборе: {}, групп: {}",
        s.rows, s.rows_suppressed, s.rows_built, s.subjects, s.classes
    ));
    line(format!(
        "  k достигнуто: {} (требуется не меньше {}; до подавления {})",
        k(s.k_achieved),
        s.k_required,
        k(s.k_before_suppression)
    ));
    line(format!(
        "  столбцы ({}): {}",
        s.columns.len(),
        list(&s.columns)
    ));
    line(format!(
        "  квазиидентификаторы: {}",
        list(&s.quasi_identifiers)
    ));
    let generalised: Vec<String> = s
        .generalised
        .iter()
        .map(|g| format!("{} ({})", g.column, g.generalisation.title_ru()))
        .collect();
    line(format!("  обобщены: {}", list(&generalised)));
    let dropped: Vec<String> = s
        .dropped_columns
        .iter()
        .map(|d| format!("{} ({})", d.name, d.kind.title_ru()))
        .collect();
    line(format!(
        "  исключены прямые идентификаторы: {}",
        list(&dropped)
    ));
    line("  методы обезличивания (Приказ РКН № 140):".to_string());
    for m in &r.methods_ru {
        line(format!("    — {m}"));
    }
    let target = out.map_or_else(
        || "стандартный вывод".to_string(),
        |p| p.display().to_string(),
    );
    line(format!(
        "  набор: {target} ({}, {} байт, SHA-256 {})",
        r.format.as_str(),
        r.bytes,
        r.sha256
    ));
    match (key_table, &r.key_table_sha256) {
        (Some(path), Some(sha)) => {
            line(format!(
                "  таблица соответствия: {} (SHA-256 {sha})",
                path.display()
            ));
            line(
                "  храните таблицу соответствия отдельно от набора и под защитой, как персональные данные: \
                 с ней набор снова указывает на людей"
                    .to_string(),
            );
        }
        _ => line(
            "  таблица соответствия не создавалась: связать набор с субъектами невозможно"
                .to_string(),
        ),
    }
    t
}
