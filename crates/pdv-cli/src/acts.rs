//! `pdv acts list|show`: the destruction acts (Приказ РКН № 179) for the responsible person at the
//! console: a list, and one act as text, JSON or the HTML document to print and sign.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use pdv_service::Actor;
use pdv_service::acts::render_act_html;

use crate::config::Config;
use crate::{Common, open_vault};

#[derive(Debug, Subcommand)]
pub enum ActsCommand {
    /// List the acts: number, status, entries, hash, kept until.
    List(ListArgs),
    /// Show one act.
    Show(ShowArgs),
}

impl ActsCommand {
    pub fn common(&self) -> &Common {
        match self {
            ActsCommand::List(a) => &a.common,
            ActsCommand::Show(a) => &a.common,
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub common: Common,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub common: Common,
    /// The act's number, YYYY-NNNNNN.
    pub number: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the act as an HTML document to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

pub async fn run(cmd: ActsCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let vault = open_vault(config, false).await?;
    let actor = Actor::new("pdv acts");
    match cmd {
        ActsCommand::List(args) => {
            let mut all = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = vault.acts(&actor, after.as_deref(), 1000).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.number.clone());
                all.extend(page);
            }
            if args.json {
                println!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(ExitCode::SUCCESS);
            }
            if all.is_empty() {
                println!("актов об уничтожении нет");
            }
            for a in &all {
                let status = match a.status.as_str() {
                    "open" => "не закрыт",
                    "closed" => "закрыт",
                    _ => "срок хранения истёк",
                };
                println!(
                    "№ {}  {}  {}  записей: {}  хранить до: {}  SHA-256: {}",
                    a.number,
                    a.opened_at,
                    status,
                    a.entries.map_or("—".into(), |n| n.to_string()),
                    a.expires_on.as_deref().unwrap_or("—"),
                    a.sha256.as_deref().unwrap_or("—"),
                );
            }
        }
        ActsCommand::Show(args) => {
            let act = vault.act(&actor, &args.number).await?;
            if let Some(path) = &args.html {
                std::fs::write(path, render_act_html(&act))
                    .with_context(|| format!("не удалось записать {}", path.display()))?;
                println!("акт № {} записан в {}", act.summary.number, path.display());
                return Ok(ExitCode::SUCCESS);
            }
            if args.json {
                println!("{}", serde_json::to_string_pretty(&act)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "Акт об уничтожении персональных данных № {}",
                act.summary.number
            );
            println!("оператор: {}", act.header.operator);
            println!("информационная система: {}", act.header.system);
            println!("способ: {}", act.header.method);
            println!("основание: {}", act.header.occasion);
            println!(
                "открыт: {}; закрыт: {}; хранить до: {}",
                act.summary.opened_at,
                act.summary.closed_at.as_deref().unwrap_or("не закрыт"),
                act.summary.expires_on.as_deref().unwrap_or("—")
            );
            if let Some(sha) = &act.summary.sha256 {
                println!("SHA-256 (в журнале аудита): {sha}");
            }
            for s in &act.header.signatories {
                println!("подписывает: {}, {}", s.name, s.position);
            }
            for e in &act.entries {
                let cats: Vec<String> = e
                    .categories
                    .iter()
                    .map(|c| format!("{} ({})", c.title, c.records))
                    .collect();
                println!(
                    "\n{}. {} [{}]{}\n   {}\n   категории: {}{}\n   причина: {}",
                    e.entry_no,
                    e.full_name.as_deref().unwrap_or("ФИО не хранилось"),
                    e.subject,
                    if e.identifiers.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", e.identifiers.join(", "))
                    },
                    e.destroyed_at,
                    cats.join(", "),
                    if e.whole_subject {
                        " — все данные субъекта"
                    } else {
                        ""
                    },
                    e.reasons.join("; ")
                );
                if !e.requests.is_empty() {
                    println!("   по обращениям № {}", e.requests.join(", "));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
