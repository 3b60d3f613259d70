//! `pdv requests due` and `pdv requests export`: the request journal for the responsible person
//! at a terminal or a script — what is due soon or overdue, and the whole journal as CSV for an
//! inspection (without requesters' details, which stay in the encrypted journal).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pdv_service::{Actor, RequestFilter, RequestView};

use crate::config::Config;
use crate::{Common, open_vault};

#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// Open requests due within the given number of days, and every overdue one; exits 1 when
    /// something is overdue, so a cron job can alert.
    Due(Due),
    /// The journal as CSV (one line per request, no requester details) on standard output.
    Export(Export),
    /// Recompute the due dates of open requests on the current calendar (after loading a
    /// decree); each change is journaled. `pdv serve` does this on start.
    Recompute(Recompute),
}

#[derive(Debug, Args)]
pub struct Recompute {
    #[command(flatten)]
    pub common: Common,
}

impl RequestsCommand {
    pub fn common(&self) -> &Common {
        match self {
            RequestsCommand::Due(d) => &d.common,
            RequestsCommand::Export(e) => &e.common,
            RequestsCommand::Recompute(r) => &r.common,
        }
    }
}

#[derive(Debug, Args)]
pub struct Due {
    #[command(flatten)]
    pub common: Common,
    /// How far ahead to look, in calendar days: `3`, `3d` (default 3).
    #[arg(long, default_value = "3d", value_name = "DAYS")]
    pub within: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Export {
    #[command(flatten)]
    pub common: Common,
    /// Only open requests.
    #[arg(long)]
    pub open: bool,
}

fn days(text: &str) -> anyhow::Result<i64> {
    let digits = text.trim().strip_suffix('d').unwrap_or(text.trim());
    match digits.parse::<i64>() {
        Ok(n) if (0..=366).contains(&n) => Ok(n),
        _ => {
            bail!("--within: ожидается число дней от 0 до 366, например 3 или 3d; указано «{text}»")
        }
    }
}

pub async fn run(cmd: RequestsCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let vault = open_vault(config, false).await?;
    let actor = Actor::new("cli");
    match cmd {
        RequestsCommand::Due(d) => {
            let n = days(&d.within)?;
            let zone = jiff::tz::TimeZone::get(&vault.policy().policy.operator.time_zone)
                .unwrap_or(jiff::tz::TimeZone::UTC);
            let today = jiff::Timestamp::now().to_zoned(zone).date();
            let by = today
                .checked_add(jiff::Span::new().days(n))
                .context("дата вне допустимого диапазона")?;
            let due = vault
                .requests(
                    &actor,
                    RequestFilter {
                        status: Some("open".into()),
                        due_by: Some(by.to_string()),
                        ..RequestFilter::default()
                    },
                )
                .await?;
            let overdue = due.iter().filter(|r| r.overdue).count();
            if d.json {
                println!("{}", serde_json::to_string_pretty(&due)?);
            } else if due.is_empty() {
                println!("до {by} включительно сроков нет, просроченных обращений нет");
            } else {
                println!("обращения со сроком до {by} включительно:");
                for r in &due {
                    println!(
                        "{} {:<10} {:<18} {}{} — {}",
                        r.number,
                        r.due,
                        r.status_title,
                        if r.overdue {
                            "ПРОСРОЧЕНО, "
                        } else {
                            ""
                        },
                        r.kind_title,
                        r.norm
                    );
                }
                println!("всего: {}, просрочено: {overdue}", due.len());
            }
            Ok(if overdue > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        RequestsCommand::Recompute(_) => {
            let changed = vault.recompute_deadlines(&actor).await?;
            if changed.is_empty() {
                println!("сроки открытых обращений не изменились");
            }
            for (number, old, new) in &changed {
                println!("{number}: срок {old} → {new}");
            }
            Ok(ExitCode::SUCCESS)
        }
        RequestsCommand::Export(e) => {
            let list = vault
                .requests(
                    &actor,
                    RequestFilter {
                        status: e.open.then(|| "open".to_string()),
                        ..RequestFilter::default()
                    },
                )
                .await?;
            let mut out = std::io::stdout().lock();
            write_csv(&mut out, &list)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_csv(out: &mut dyn Write, list: &[RequestView]) -> std::io::Result<()> {
    writeln!(
        out,
        "number,kind,kind_title,channel,subject,received_at,rule,norm,due,provisional,status,status_title,overdue"
    )?;
    for r in list {
        let row = [
            r.number.clone(),
            r.kind.clone(),
            r.kind_title.to_string(),
            r.channel.clone(),
            r.subject.map(|s| s.to_string()).unwrap_or_default(),
            r.received_at.clone(),
            r.rule.clone(),
            r.norm.to_string(),
            r.due.clone(),
            r.provisional.to_string(),
            r.status.clone(),
            r.status_title.to_string(),
            r.overdue.to_string(),
        ];
        let line: Vec<String> = row.iter().map(|f| field(f)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_accept_a_number_with_or_without_d() {
        assert_eq!(days("3d").unwrap(), 3);
        assert_eq!(days(" 10 ").unwrap(), 10);
        assert!(days("-1").is_err());
        assert!(days("week").is_err());
    }

    #[test]
    fn csv_fields_are_quoted_when_they_must_be() {
        assert_eq!(field("D1"), "D1");
        assert_eq!(field("ст. 14 ч. 3, ст. 20"), "\"ст. 14 ч. 3, ст. 20\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
