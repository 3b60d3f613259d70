//! `pdv retention plan`: what the retention rules will do to whom and why, on a given day,
//! without changing anything; `pdv retention run`: do what is due today, with an act;
//! `pdv retention retained`: statistics of what was kept depersonalised.
//! `pdv retention sweep`: delete the rows that destroyed subjects left behind.

use std::io::{IsTerminal, Write};
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
    /// Carry out what is due today: destroy data whose period ended, with a destruction act.
    /// Safe to interrupt and to rerun.
    Run(RunArgs),
    /// Statistics of the records kept depersonalised past their period (rules with
    /// action = "depersonalise"): how many of each kind, category and generalised values.
    Retained(RetainedArgs),
    /// Delete the ciphertext that destroyed subjects left behind (their keys are already gone);
    /// `pdv serve` and every run do it too. Safe to interrupt and to rerun.
    Sweep(SweepArgs),
}

impl RetentionCommand {
    pub fn common(&self) -> &Common {
        match self {
            RetentionCommand::Plan(p) => &p.common,
            RetentionCommand::Run(r) => &r.common,
            RetentionCommand::Retained(r) => &r.common,
            RetentionCommand::Sweep(s) => &s.common,
        }
    }
}

#[derive(Debug, Args)]
pub struct RetainedArgs {
    #[command(flatten)]
    pub common: Common,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: Common,
    /// Subjects per transaction [default: retention.batch of the configuration].
    #[arg(long, value_name = "N")]
    pub batch: Option<u32>,
    /// Print the summary as JSON (the default when stdout is not a terminal is text without a
    /// progress bar).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub common: Common,
    /// Subjects per transaction [default: retention.sweep_batch of the configuration].
    #[arg(long, value_name = "N")]
    pub batch: Option<u32>,
    /// The share of the writer's time the sweep may hold, in thousandths, 1 to 1000 [default:
    /// retention.sweep_share_permille of the configuration]; 1000 sweeps flat out.
    #[arg(long, value_name = "PERMILLE")]
    pub share: Option<u32>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
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
    /// One subject only (its id).
    #[arg(long, value_name = "ID")]
    pub subject: Option<String>,
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
    let args = match cmd {
        RetentionCommand::Plan(args) => args,
        RetentionCommand::Run(args) => return execute(args, config).await,
        RetentionCommand::Retained(args) => return retained(args, config).await,
        RetentionCommand::Sweep(args) => return sweep(args, config).await,
    };
    let vault = open_vault(config, false).await?;
    let zone = jiff::tz::TimeZone::get(&vault.policy().policy.operator.time_zone)
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let at = match args.at.as_deref() {
        None => jiff::Timestamp::now().to_zoned(zone).date(),
        Some(text) => text
            .parse()
            .with_context(|| format!("--at: «{text}» — не дата ГГГГ-ММ-ДД"))?,
    };
    let mut query = pdv_service::PlanQuery::new(at);
    query.due_only = args.due;
    query.subject =
        match args.subject.as_deref() {
            None => None,
            Some(text) => Some(pdv_core::SubjectId::parse(text).with_context(|| {
                format!("--subject: «{text}» — не идентификатор субъекта (UUID)")
            })?),
        };
    let report = vault.retention_plan_all(query).await?;
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

async fn sweep(args: SweepArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let mut settings = config.sweep_settings();
    if let Some(batch) = args.batch {
        if batch == 0 {
            anyhow::bail!("--batch: нужно не меньше 1 субъекта в пачке");
        }
        settings.batch = batch;
    }
    if let Some(share) = args.share {
        if !(1..=1000).contains(&share) {
            anyhow::bail!("--share: доля времени записи задаётся в тысячных, от 1 до 1000");
        }
        settings.share_permille = share;
    }
    let vault = open_vault(config, false)
        .await?
        .with_sweep_settings(settings);
    let total = vault.sweep_backlog().await?;
    let bar = std::io::stderr().is_terminal() && !args.json;
    let mut progress = |r: &pdv_service::SweepReport| {
        if bar {
            let mut err = std::io::stderr();
            let _ = write!(
                err,
                "\r{}/{total} субъектов, строк удалено: {}",
                r.subjects, r.rows
            );
            let _ = err.flush();
        }
    };
    let report = vault
        .sweep_shredded("pdv retention sweep", &mut progress)
        .await?;
    if bar && report.subjects > 0 {
        eprintln!();
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "зачищено уничтоженных субъектов: {}\nудалено строк с шифротекстом: {}\nтранзакций: {}",
            report.subjects, report.rows, report.batches
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn execute(args: RunArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let batch = args.batch.unwrap_or_else(|| config.retention_batch());
    if batch == 0 {
        anyhow::bail!("--batch: нужно не меньше 1 субъекта в пачке");
    }
    let vault = open_vault(config, false).await?;
    let total = vault.store().counts().await?.subjects;
    // A progress bar only for a person watching; a scheduler's log gets the summary alone.
    let bar = std::io::stderr().is_terminal() && !args.json;
    let mut progress = |r: &pdv_service::RunReport| {
        if bar {
            let done = r.subjects_checked.min(total);
            let width = 30u64;
            let filled = (done * width).checked_div(total).unwrap_or(width);
            let mut err = std::io::stderr();
            let _ = write!(
                err,
                "\r[{}{}] {done}/{total} субъектов, уничтожено записей: {}",
                "#".repeat(filled as usize),
                " ".repeat((width - filled) as usize),
                r.records_destroyed
            );
            let _ = err.flush();
        }
    };
    let report = vault
        .retention_run("pdv retention run", batch, &mut progress)
        .await?;
    if bar {
        eprintln!();
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(at) = report.at {
        println!("правила хранения выполнены на {at}");
    }
    println!(
        "проверено субъектов: {}\nуничтожено субъектов целиком: {}\nуничтожено категорий (с ключом): {}\nуничтожено записей: {}\n  из них перед уничтожением обезличено и сохранено: {}\nудержано блокированием: {}\nждут решения человека (review): {}",
        report.subjects_checked,
        report.subjects_destroyed,
        report.categories_destroyed,
        report.records_destroyed,
        report.records_depersonalised,
        report.held,
        report.review
    );
    if report.swept.subjects > 0 {
        println!(
            "зачищено уничтоженных субъектов: {} (удалено строк с шифротекстом: {})",
            report.swept.subjects, report.swept.rows
        );
    }
    for act in &report.acts {
        println!("акт об уничтожении № {act} (pdv acts show {act})");
    }
    for act in &report.recovered_acts {
        println!("закрыт акт № {act}, оставленный прерванным запуском");
    }
    for act in &report.expired_acts {
        println!("истёк срок хранения акта № {act}: сведения о субъектах в нём уничтожены");
    }
    for p in &report.problems {
        println!("субъект {}: план не составлен — {}", p.subject, p.problem);
    }
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        // Something was left untouched: a scheduler should notice.
        ExitCode::from(3)
    })
}

async fn retained(args: RetainedArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let vault = open_vault(config, false).await?;
    let report = vault
        .retained_statistics(&pdv_service::Actor::new("cli"))
        .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "обезличенных записей, сохранённых после истечения сроков: {}",
        report.records
    );
    for g in &report.groups {
        let values = g
            .fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "{:>8}  {} / {} (правило {}): {}",
            g.count,
            g.kind,
            g.category,
            g.rule,
            if values.is_empty() { "—" } else { &values }
        );
    }
    Ok(ExitCode::SUCCESS)
}
