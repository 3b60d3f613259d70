//! `pdv retention plan`: what the retention rules will do to whom and why, on a given day,
//! without changing anything.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use pdv_core::policy::RetentionAction;

use crate::config::Config;
use crate::{Common, open_vault};

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Show the retention plan: for every record, the governing rule, the expiry and the action.
    Plan(PlanArgs),
}

impl RetentionCommand {
    pub fn common(&self) -> &Common {
        match self {
            RetentionCommand::Plan(p) => &p.common,
        }
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub common: Common,
    /// The day to plan for (YYYY-MM-DD); today in the operator's time zone by default.
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
    /// Only what is due on that day.
    #[arg(long)]
    pub due: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn action(a: RetentionAction) -> &'static str {
    match a {
        RetentionAction::Destroy => "уничтожить",
        RetentionAction::Depersonalise => "обезличить",
        RetentionAction::Review => "пересмотреть",
    }
}

pub async fn run(cmd: RetentionCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let RetentionCommand::Plan(args) = cmd;
    let vault = open_vault(config, false).await?;
    let zone = jiff::tz::TimeZone::get(&vault.policy().policy.operator.time_zone)
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let at = match args.at.as_deref() {
        None => jiff::Timestamp::now().to_zoned(zone).date(),
        Some(text) => text
            .parse()
            .with_context(|| format!("--at: «{text}» — не дата ГГГГ-ММ-ДД"))?,
    };
    let mut report = vault.retention_plan(at).await?;
    if args.due {
        for s in &mut report.subjects {
            s.items.retain(|i| i.is_due(at));
        }
        report
            .subjects
            .retain(|s| !s.items.is_empty() || s.problem.is_some());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("план хранения на {at}");
    for s in &report.subjects {
        if let Some(problem) = &s.problem {
            println!(
                "\nсубъект {} ({}): план не составлен — {problem}",
                s.subject, s.kind
            );
            continue;
        }
        if s.items.is_empty() {
            continue;
        }
        println!("\nсубъект {} ({})", s.subject, s.kind);
        for i in &s.items {
            let when = match (i.expires, i.deadline) {
                (Some(e), Some(d)) => format!("с {e}, не позднее {d}"),
                (Some(e), None) => format!("с {e}"),
                (None, _) => "срок не наступил: ждёт события".to_string(),
            };
            let mark = if i.held(at) {
                " [удержано блокированием]"
            } else if i.is_due(at) {
                " [СРОК НАСТУПИЛ]"
            } else {
                ""
            };
            println!(
                "  {:<22} {} {when}{mark}\n    {}",
                i.category,
                action(i.action),
                i.reason
            );
        }
    }
    println!(
        "\nсубъектов: {}, к исполнению на {at}: {} (из них удержано блокированием: {})",
        report.subjects.len(),
        report.due,
        report.held
    );
    Ok(ExitCode::SUCCESS)
}
