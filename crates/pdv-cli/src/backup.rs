//! `pdv backup` and `pdv restore`: the two archives (data, keys) and what a restore did, told
//! in Russian for the operator, or as JSON for scripts.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use pdv_service::{Actor, ArchiveInfo, RestoreSummary};

use crate::config::Config;
use crate::{Common, open_vault};

#[derive(Debug, Args)]
pub struct Backup {
    #[command(flatten)]
    pub common: Common,
    /// Where to write the data archive (ciphertext, accounts, audit trail; never keys).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Where to write the key archive (wrapped data keys); keep it on other media than the data.
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Restore {
    #[command(flatten)]
    pub common: Common,
    /// The data archive to restore.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// A key archive; without it the database's own key store is kept.
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// Replace the contents of a database that is in use (its key store and every record of
    /// destroyed subjects are kept).
    #[arg(long)]
    pub replace: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

fn describe(a: &ArchiveInfo) -> String {
    format!(
        "{}: {} строк, {} байт, снимок на {}",
        a.path.display(),
        a.total_rows,
        a.bytes,
        a.created_at
    )
}

pub async fn backup(cmd: Backup, config: &Config) -> anyhow::Result<ExitCode> {
    let vault = open_vault(config, false).await?;
    let summary = vault
        .backup(&Actor::new("cli"), cmd.data.as_deref(), cmd.keys.as_deref())
        .await?;
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(d) = &summary.data {
        println!("архив данных записан — {}", describe(d));
    }
    if let Some(k) = &summary.keys {
        println!("архив ключей записан — {}", describe(k));
        println!(
            "храните архив ключей отдельно от архива данных и не дольше срока уничтожения (30 дней): \
             старый архив ключей — единственное, что может вернуть уничтоженные данные"
        );
    } else {
        println!(
            "архив ключей не записан: без него архив данных восстановим только в базу с живым хранилищем ключей"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_restore(s: &RestoreSummary) {
    println!("восстановлен архив данных — {}", describe(&s.data));
    match &s.keys {
        Some(k) => println!("восстановлен архив ключей — {}", describe(k)),
        None => println!("ключи: сохранено собственное хранилище ключей базы"),
    }
    if s.replaced_events > 0 {
        println!(
            "прежнее содержимое базы заменено (в нём было событий аудита: {})",
            s.replaced_events
        );
    }
    if !s.destructions_reapplied.is_empty() {
        println!(
            "повторно уничтожены данные субъектов, уничтоженных после снимка: {}",
            s.destructions_reapplied.len()
        );
    }
    if s.keys_pruned > 0 {
        println!("удалено лишних ключей: {}", s.keys_pruned);
    }
    if !s.subjects_without_key.is_empty() {
        println!(
            "ВНИМАНИЕ: у {} субъектов нет ключа — их данные прочитать нельзя; восстановите с архивом ключей (--keys), сделанным не раньше архива данных",
            s.subjects_without_key.len()
        );
    }
    if s.sessions_ended > 0 {
        println!(
            "завершено сеансов: {} (всем нужно войти заново)",
            s.sessions_ended
        );
    }
    if s.audit.intact {
        println!("журнал аудита цел: событий {}", s.audit.events);
    } else {
        println!(
            "журнал аудита НАРУШЕН: {}",
            s.audit.problem.as_deref().unwrap_or("")
        );
    }
}

pub async fn restore(cmd: Restore, config: &Config) -> anyhow::Result<ExitCode> {
    let vault = open_vault(config, false).await?;
    let summary = vault
        .restore(
            &Actor::new("cli"),
            &cmd.data,
            cmd.keys.as_deref(),
            cmd.replace,
        )
        .await?;
    if cmd.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_restore(&summary);
    }
    Ok(
        if summary.audit.intact && summary.subjects_without_key.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}
