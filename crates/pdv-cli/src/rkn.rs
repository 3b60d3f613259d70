//! `pdv rkn notice|filed`: the notice of processing to Roskomnadzor (ст. 22 152-ФЗ) for the
//! responsible person at the console, and for cron: `notice` exits 3 while the notice is not
//! filed or the policy has changed something the filed one states.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use pdv_service::{Actor, NoticeFiling, NoticeStatus, RknNotice};

use crate::config::Config;
use crate::{Common, open_vault};

/// The exit code of `pdv rkn notice` when a filing is due (never filed, or stale).
pub const EXIT_FILING_DUE: u8 = 3;

#[derive(Debug, Subcommand)]
pub enum RknCommand {
    /// Print the ст. 22 notice built from the policy and whether the filed one is current; exit
    /// 3 when it was never filed or is stale.
    Notice(NoticeArgs),
    /// Record that the notice as the policy states it now was filed with Roskomnadzor.
    Filed(FiledArgs),
}

impl RknCommand {
    pub fn common(&self) -> &Common {
        match self {
            RknCommand::Notice(a) => &a.common,
            RknCommand::Filed(a) => &a.common,
        }
    }
}

#[derive(Debug, Args)]
pub struct NoticeArgs {
    #[command(flatten)]
    pub common: Common,
    /// Print JSON: content, text, hash, status, changed and missing items, the filing.
    #[arg(long)]
    pub json: bool,
    /// Write the notice's text (Markdown) to this file instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FiledArgs {
    #[command(flatten)]
    pub common: Common,
    /// The day the notice was filed, YYYY-MM-DD.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: String,
    /// The number Roskomnadzor gave (registry or incoming number).
    #[arg(long, value_name = "N")]
    pub number: Option<String>,
}

pub async fn run(cmd: RknCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let vault = open_vault(config, false).await?;
    match cmd {
        RknCommand::Notice(args) => {
            let notice = vault.rkn_notice().await?;
            if let Some(path) = &args.out {
                std::fs::write(path, &notice.text)
                    .with_context(|| format!("не удалось записать {}", path.display()))?;
            }
            if args.json {
                println!("{}", serde_json::to_string_pretty(&notice)?);
            } else {
                if args.out.is_none() {
                    println!("{}", notice.text);
                }
                print_status(&notice);
            }
            Ok(if notice.status.needs_filing() {
                ExitCode::from(EXIT_FILING_DUE)
            } else {
                ExitCode::SUCCESS
            })
        }
        RknCommand::Filed(args) => {
            let notice = vault
                .record_notice_filing(
                    &Actor::new("pdv rkn"),
                    NoticeFiling {
                        date: args.date,
                        number: args.number,
                    },
                )
                .await?;
            print_status(&notice);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_status(notice: &RknNotice) {
    println!("хеш содержания: {}", notice.hash);
    match &notice.filed {
        Some(f) => println!(
            "подача отмечена: {}{}, хеш {}",
            f.date,
            f.number
                .as_ref()
                .map_or(String::new(), |n| format!(", № {n}")),
            f.hash
        ),
        None => println!("подача не отмечена"),
    }
    println!("статус: {}", notice.status.title_ru());
    if notice.status == NoticeStatus::Stale {
        println!(
            "изменились пункты ст. 22 ч. 3 (уведомить в течение 10 рабочих дней, ст. 22 ч. 7):"
        );
        for c in &notice.changed {
            println!("  п. {}: {}", c.item, c.title);
        }
    }
    if notice.status.needs_filing() {
        println!("после подачи отметьте её: pdv rkn filed --date ГГГГ-ММ-ДД [--number НОМЕР]");
    }
    if !notice.missing.is_empty() {
        println!("не хватает сведений в политике: {}", notice.missing.len());
    }
}
