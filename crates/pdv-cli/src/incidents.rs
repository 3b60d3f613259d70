//! `pdv incidents`: the register of incidents (ст. 21 ч. 3.1 152-ФЗ) at the console — register an
//! incident, see what is due (exit 3 when a notice to Roskomnadzor is overdue, for a cron alert),
//! read one, print the draft notices, and record the steps.
//!
//! `register` takes the report from flags, from a file (`--file incident.toml` or `.json`, the
//! fields of the API's body: handy for long texts), or both, the flags winning.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pdv_core::incident::{Contact, IncidentNumber, IncidentReport, NoticeKind};
use pdv_service::{Actor, IncidentFilter, IncidentStep, IncidentView, TimerView};

use crate::config::Config;
use crate::{Common, open_vault};

/// The exit code of `pdv incidents due` when a notice is overdue (errors exit 2).
pub const OVERDUE_EXIT: u8 = 3;

#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// Register an incident: from flags, a TOML or JSON file (--file), or both.
    Register(Register),
    /// The register: every incident with its timers (no texts).
    List(List),
    /// Open incidents with a notice still to send, most urgent first; exits 3 when one is
    /// overdue.
    Due(Due),
    /// One incident with its texts, notices, timers and history.
    Show(Show),
    /// The draft notice to Roskomnadzor: `--kind first` (24 h) or `--kind results` (72 h).
    Notice(Notice),
    /// Record a step: first-sent, results, results-sent, close, dismiss.
    Mark(Mark),
}

impl IncidentsCommand {
    pub fn common(&self) -> &Common {
        match self {
            IncidentsCommand::Register(a) => &a.common,
            IncidentsCommand::List(a) => &a.common,
            IncidentsCommand::Due(a) => &a.common,
            IncidentsCommand::Show(a) => &a.common,
            IncidentsCommand::Notice(a) => &a.common,
            IncidentsCommand::Mark(a) => &a.common,
        }
    }
}

#[derive(Debug, Args)]
pub struct Register {
    #[command(flatten)]
    pub common: Common,
    /// A TOML or JSON file with the report's fields (detected_at, how, categories, subjects,
    /// identifiers, causes, harm, measures, [contact] name/position/phone/email); flags given
    /// as well replace its values.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// When the incident was detected: RFC 3339 or the operator's local time ("2026-03-02 10:00").
    #[arg(long, value_name = "TIME")]
    pub detected_at: Option<String>,
    /// What happened and how it was detected.
    #[arg(long, value_name = "TEXT")]
    pub how: Option<String>,
    /// Comma-separated category ids of the policy.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub categories: Vec<String>,
    /// How many subjects are concerned (an estimate is allowed).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub subjects: Option<i64>,
    /// How many identifiers (accounts, addresses, numbers, records) are concerned.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub identifiers: Option<i64>,
    /// The presumed causes.
    #[arg(long, value_name = "TEXT")]
    pub causes: Option<String>,
    /// The presumed harm to subjects' rights.
    #[arg(long, value_name = "TEXT")]
    pub harm: Option<String>,
    /// The measures taken to remove the consequences.
    #[arg(long, value_name = "TEXT")]
    pub measures: Option<String>,
    /// The person authorised to interact with Roskomnadzor on it (full name); the policy's
    /// responsible person when absent.
    #[arg(long, value_name = "NAME")]
    pub contact: Option<String>,
    /// The contact's position.
    #[arg(long, value_name = "TEXT", requires = "contact")]
    pub contact_position: Option<String>,
    /// The contact's phone.
    #[arg(long, value_name = "PHONE", requires = "contact")]
    pub contact_phone: Option<String>,
    /// The contact's e-mail.
    #[arg(long, value_name = "EMAIL", requires = "contact")]
    pub contact_email: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct List {
    #[command(flatten)]
    pub common: Common,
    /// `open`, `overdue`, or a status: registered, first_notice_sent, results_sent, closed,
    /// dismissed.
    #[arg(long)]
    pub status: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Due {
    #[command(flatten)]
    pub common: Common,
    /// Count the timers at this moment instead of now: RFC 3339 or local time.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Show {
    #[command(flatten)]
    pub common: Common,
    /// The incident's number, YYYY-NNNNNN.
    pub number: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Notice {
    #[command(flatten)]
    pub common: Common,
    /// The incident's number, YYYY-NNNNNN.
    pub number: String,
    /// `first` (the first notice, 24 hours) or `results` (the investigation's results, 72 hours).
    #[arg(long)]
    pub kind: String,
    /// Print JSON (with what the draft still lacks).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct Mark {
    #[command(flatten)]
    pub common: Common,
    /// The incident's number, YYYY-NNNNNN.
    pub number: String,
    /// `first-sent` (the first notice was sent), `results` (record the investigation's
    /// findings), `results-sent`, `close`, `dismiss` (not an incident; only before any notice).
    pub step: String,
    /// first-sent, results-sent: when the notice was sent (default now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// first-sent, results-sent: how it was sent («портал Роскомнадзора», «эл. почта»).
    #[arg(long, value_name = "TEXT")]
    pub how: Option<String>,
    /// first-sent, results-sent: the number the portal or the post gave it.
    #[arg(long, value_name = "TEXT")]
    pub reference: Option<String>,
    /// results: the results of the internal investigation.
    #[arg(long, value_name = "TEXT")]
    pub results: Option<String>,
    /// results: the persons whose actions caused the incident, if any were found.
    #[arg(long, value_name = "TEXT")]
    pub persons: Option<String>,
    /// dismiss: why it is not an incident.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn number(text: &str) -> anyhow::Result<IncidentNumber> {
    text.parse::<IncidentNumber>().map_err(anyhow::Error::msg)
}

/// The report from the file, if any, with the flags' values on top.
fn report(args: &Register) -> anyhow::Result<IncidentReport> {
    let mut r = match &args.file {
        None => IncidentReport::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("не удалось прочитать {}", path.display()))?;
            let toml = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
            if toml {
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            } else {
                serde_json::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
        }
    };
    let set = |field: &mut String, flag: &Option<String>| {
        if let Some(v) = flag {
            field.clone_from(v);
        }
    };
    set(&mut r.detected_at, &args.detected_at);
    set(&mut r.how, &args.how);
    set(&mut r.causes, &args.causes);
    set(&mut r.harm, &args.harm);
    set(&mut r.measures, &args.measures);
    if !args.categories.is_empty() {
        r.categories.clone_from(&args.categories);
    }
    if args.subjects.is_some() {
        r.subjects = args.subjects;
    }
    if args.identifiers.is_some() {
        r.identifiers = args.identifiers;
    }
    if let Some(name) = &args.contact {
        r.contact = Some(Contact {
            name: name.clone(),
            position: args.contact_position.clone(),
            phone: args.contact_phone.clone(),
            email: args.contact_email.clone(),
        });
    }
    Ok(r)
}

fn step(args: &Mark) -> anyhow::Result<IncidentStep> {
    let step = match args.step.as_str() {
        "first-sent" | "first_notice_sent" => "first_notice_sent",
        "results" => "results",
        "results-sent" | "results_sent" => "results_sent",
        "close" => "close",
        "dismiss" => "dismiss",
        other => {
            bail!("шаг «{other}» неизвестен: first-sent, results, results-sent, close или dismiss")
        }
    };
    Ok(IncidentStep {
        step: step.into(),
        sent_at: args.at.clone(),
        how: args.how.clone(),
        reference: args.reference.clone(),
        results: args.results.clone(),
        persons: args.persons.clone(),
        reason: args.reason.clone(),
    })
}

/// One timer in a line: «первичное уведомление до 03.03.2026 10:00 — ПРОСРОЧЕНО на 5 ч».
fn timer_line(t: &TimerView) -> String {
    format!("{} до {} — {}", t.title, t.due_local, t.text)
}

fn print_outline(v: &IncidentView) {
    println!(
        "№ {}  выявлен {}  {}  субъектов: {}, идентификаторов: {}  категории: {}{}",
        v.number,
        v.detected_at_local,
        v.status_title,
        v.subjects,
        v.identifiers,
        v.categories.join(", "),
        if v.overdue {
            "  !!! ПРОСРОЧЕНО"
        } else {
            ""
        }
    );
    for t in &v.timers {
        println!("    {}", timer_line(t));
    }
}

fn print_full(v: &IncidentView) {
    println!("Инцидент № {} — {}", v.number, v.status_title);
    println!("выявлен: {}", v.detected_at_local);
    println!("зарегистрирован: {} ({})", v.registered_at, v.registered_by);
    println!("категории: {}", v.categories.join(", "));
    println!(
        "субъектов: {}, идентификаторов: {}",
        v.subjects, v.identifiers
    );
    for (label, value) in [
        ("что произошло", &v.how),
        ("предполагаемые причины", &v.causes),
        ("предполагаемый вред", &v.harm),
        ("принятые меры", &v.measures),
    ] {
        if let Some(text) = value {
            println!("{label}: {text}");
        }
    }
    if let Some(c) = &v.contact {
        println!("уполномоченное лицо: {}", c.line());
    }
    for t in &v.timers {
        println!("{}", timer_line(t));
    }
    for (label, n) in [
        ("первичное уведомление", &v.first_notice),
        ("уведомление о результатах", &v.results_notice),
    ] {
        if let Some(n) = n {
            println!(
                "{label}: {}, {}{}",
                n.sent_at_local,
                n.how,
                n.reference
                    .as_deref()
                    .map(|r| format!(", № {r}"))
                    .unwrap_or_default()
            );
        }
    }
    if let Some(r) = &v.results {
        println!("результаты расследования: {r}");
        println!(
            "лица, действия которых стали причиной: {}",
            v.persons.as_deref().unwrap_or("не установлены")
        );
    }
    if let Some(r) = &v.dismissed_reason {
        println!("не подтвердился: {r}");
    }
    println!("история:");
    for e in &v.entries {
        println!(
            "  {}. {} {} — {} ({})",
            e.entry_no, e.at, e.actor, e.step, e.status
        );
    }
}

pub async fn run(cmd: IncidentsCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let vault = open_vault(config, false).await?;
    let actor = Actor::new("pdv incidents");
    match cmd {
        IncidentsCommand::Register(args) => {
            let view = vault.register_incident(&actor, report(&args)?).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                println!("инцидент зарегистрирован: № {}", view.number);
                for t in &view.timers {
                    println!("  {}", timer_line(t));
                }
                println!(
                    "проект первичного уведомления: pdv incidents notice {} --kind first",
                    view.number
                );
            }
        }
        IncidentsCommand::List(args) => {
            let list = vault
                .incidents(
                    &actor,
                    IncidentFilter {
                        status: args.status.clone(),
                    },
                )
                .await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("инцидентов нет");
            } else {
                for v in &list {
                    print_outline(v);
                }
            }
        }
        IncidentsCommand::Due(args) => {
            let due = vault.incidents_due(&actor, args.at.as_deref()).await?;
            let overdue = due.iter().filter(|v| v.overdue).count();
            if args.json {
                println!("{}", serde_json::to_string_pretty(&due)?);
            } else if due.is_empty() {
                println!("уведомлений Роскомнадзора по инцидентам не ожидается, просроченных нет");
            } else {
                for v in &due {
                    if let Some(next) = &v.next {
                        println!(
                            "№ {}  выявлен {}: {}{}",
                            v.number,
                            v.detected_at_local,
                            timer_line(next),
                            if next.overdue {
                                format!(" ({})", next.norm)
                            } else {
                                String::new()
                            }
                        );
                    }
                }
                println!("всего: {}, просрочено: {overdue}", due.len());
            }
            if overdue > 0 {
                return Ok(ExitCode::from(OVERDUE_EXIT));
            }
        }
        IncidentsCommand::Show(args) => {
            let view = vault.incident(&actor, number(&args.number)?).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print_full(&view);
            }
        }
        IncidentsCommand::Notice(args) => {
            let kind = NoticeKind::parse(&args.kind).with_context(|| {
                format!(
                    "--kind: «{}» — ожидается first (первичное) или results (о результатах)",
                    args.kind
                )
            })?;
            let draft = vault
                .incident_notice(&actor, number(&args.number)?, kind)
                .await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&draft)?);
            } else {
                print!("{}", draft.text);
                if !draft.missing.is_empty() {
                    eprintln!(
                        "в проекте не хватает: {} — см. «[НЕ ЗАПОЛНЕНО]» в тексте",
                        draft.missing.join(", ")
                    );
                }
            }
        }
        IncidentsCommand::Mark(args) => {
            let input = step(&args)?;
            let view = vault
                .incident_step(&actor, number(&args.number)?, input)
                .await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                println!("инцидент № {}: {}", view.number, view.status_title);
                for t in &view.timers {
                    println!("  {}", timer_line(t));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> Register {
        Register {
            common: Common {
                database_url: None,
                key_file: None,
                policy: None,
            },
            file: None,
            detected_at: None,
            how: None,
            categories: vec![],
            subjects: None,
            identifiers: None,
            causes: None,
            harm: None,
            measures: None,
            contact: None,
            contact_position: None,
            contact_phone: None,
            contact_email: None,
            json: false,
        }
    }

    #[test]
    fn flags_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("incident.toml");
        std::fs::write(
            &file,
            r#"
detected_at = "2026-03-02 10:00"
how = "из файла"
categories = ["contacts"]
subjects = 3
identifiers = 4
causes = "причины"
harm = "вред"
measures = "меры"

[contact]
name = "Сидоров Семён"
phone = "+7 495 000-00-00"
"#,
        )
        .unwrap();
        let r = report(&Register {
            file: Some(file),
            how: Some("из флага".into()),
            subjects: Some(5),
            ..args()
        })
        .unwrap();
        assert_eq!(r.how, "из флага");
        assert_eq!(r.subjects, Some(5));
        assert_eq!(r.identifiers, Some(4));
        assert_eq!(r.categories, ["contacts"]);
        assert_eq!(r.contact.unwrap().name, "Сидоров Семён");

        let json = dir.path().join("incident.json");
        std::fs::write(&json, r#"{"how": "x", "colour": "red"}"#).unwrap();
        let err = report(&Register {
            file: Some(json),
            ..args()
        })
        .unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn steps_have_console_names() {
        let mark = |s: &str| Mark {
            common: Common {
                database_url: None,
                key_file: None,
                policy: None,
            },
            number: "2026-000001".into(),
            step: s.into(),
            at: None,
            how: None,
            reference: None,
            results: None,
            persons: None,
            reason: None,
            json: false,
        };
        assert_eq!(step(&mark("first-sent")).unwrap().step, "first_notice_sent");
        assert_eq!(step(&mark("results-sent")).unwrap().step, "results_sent");
        assert_eq!(step(&mark("close")).unwrap().step, "close");
        assert!(step(&mark("send")).is_err());
    }
}
