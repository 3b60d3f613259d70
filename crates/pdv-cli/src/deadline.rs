//! `pdv deadline`: the due date of a legal deadline (D1–D14 of REQUIREMENTS §3), counted on the
//! production calendar in the operator's time zone; and loading the calendar files the operator
//! configured (`calendar.files`), which `pdv config check` checks too.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use pdv_core::calendar::{CalendarUse, WorkCalendar, YearInfo, YearSource};
use pdv_core::deadline::{self, Deadline, Due, RULES, RuleId};
use serde_json::json;

use crate::config::{Config, Origin};

/// The zone deadlines are counted in when neither `--tz` nor a policy names one (REQUIREMENTS
/// §3: Europe/Moscow by default).
const DEFAULT_ZONE: &str = "Europe/Moscow";

#[derive(Debug, Args)]
pub(crate) struct DeadlineArgs {
    /// The rule: D1…D14 (`pdv deadline --list` prints the table).
    #[arg(required_unless_present = "list", value_name = "RULE")]
    rule: Option<String>,
    /// When the trigger was received: RFC 3339 with an offset (2025-12-30T18:00:00+03:00 or
    /// …Z), or a date YYYY-MM-DD meaning the start of that day in the operator's zone.
    #[arg(long, value_name = "TIMESTAMP", required_unless_present = "list")]
    from: Option<String>,
    /// Apply the rule's extension (D1, D10, D13: +5 working days after a motivated notice).
    #[arg(long)]
    extended: bool,
    /// The operator's IANA time zone [default: the policy's operator.time_zone, or
    /// Europe/Moscow when the default policy file does not exist].
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Print the deadline table instead (with --json as JSON).
    #[arg(long, conflicts_with_all = ["rule", "from", "extended", "tz"])]
    list: bool,
    /// A production calendar file, one year each; repeat for several [env: PDV_CALENDAR_FILES;
    /// file: calendar.files].
    #[arg(long = "calendar", value_name = "FILE")]
    pub calendar: Vec<PathBuf>,
    /// The operator's policy file, for its time zone [env: PDV_POLICY; file: policy.file]
    /// [default: policies/lider.toml].
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

/// The shipped calendar with the configured files loaded over it, in order; the years loaded.
pub(crate) fn load_calendar(config: &Config) -> anyhow::Result<(WorkCalendar, Vec<YearInfo>)> {
    let mut calendar = WorkCalendar::embedded();
    let mut loaded = Vec::new();
    for path in config.calendar_files() {
        let source = std::fs::read_to_string(path).with_context(|| {
            format!(
                "не удалось прочитать файл производственного календаря {}",
                path.display()
            )
        })?;
        match calendar.load_year(&path.display().to_string(), &source) {
            Ok(info) => loaded.push(info),
            Err(errors) => bail!("производственный календарь не принят:\n{errors}"),
        }
    }
    Ok((calendar, loaded))
}

/// For `pdv config check`: what the calendar holds, or why a file was refused.
pub(crate) fn check_calendar(config: &Config) -> anyhow::Result<String> {
    let (calendar, loaded) = load_calendar(config)?;
    let years: Vec<String> = calendar
        .known_years()
        .map(|y| {
            let mut text = y.year.to_string();
            if let YearSource::File { name } = &y.source {
                text.push_str(&format!(" из {name}"));
            }
            if y.provisional {
                text.push_str(" (предварительно)");
            }
            text
        })
        .collect();
    Ok(format!(
        "годы {}; файлов загружено: {}; прочие годы до {} — по ст. 112 ТК РФ, предварительно",
        years.join(", "),
        loaded.len(),
        pdv_core::calendar::LAST_YEAR
    ))
}

/// The operator's zone and where it came from: `--tz`, the policy, or the default.
fn operator_zone(flag: Option<&str>, config: &Config) -> anyhow::Result<(TimeZone, String)> {
    let zone = |name: &str| {
        TimeZone::get(name).map_err(|_| {
            anyhow::anyhow!(
                "неизвестный часовой пояс «{name}»: укажите имя из базы IANA, например Europe/Moscow или Asia/Vladivostok"
            )
        })
    };
    if let Some(name) = flag {
        return Ok((zone(name)?, "флаг --tz".into()));
    }
    let policy = &config.policy.value;
    if config.policy.origin == Origin::Default && !policy.exists() {
        return Ok((
            zone(DEFAULT_ZONE)?,
            format!("по умолчанию: файла политики {} нет", policy.display()),
        ));
    }
    let loaded = crate::load_policy(policy)?;
    let name = loaded.policy.operator.time_zone.to_string();
    Ok((zone(&name)?, format!("политика {}", policy.display())))
}

/// `--from`: an instant with an offset, or a bare date meaning the start of that day in `zone`.
fn parse_from(text: &str, zone: &TimeZone) -> anyhow::Result<Timestamp> {
    let text = text.trim();
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Ok(instant);
    }
    // `Date` also accepts a date with a time and drops the time; only a bare date is a date.
    if text.len() == "ГГГГ-ММ-ДД".chars().count()
        && let Ok(date) = text.parse::<Date>()
    {
        return date
            .to_zoned(zone.clone())
            .map(|z| z.timestamp())
            .with_context(|| format!("--from: начало дня {date} не представимо"));
    }
    bail!(
        "--from: «{text}» не разобрано: нужен момент RFC 3339 со смещением (2025-12-30T18:00:00+03:00 или 2025-12-30T15:00:00Z) или дата ГГГГ-ММ-ДД (начало дня в часовом поясе оператора)"
    )
}

pub(crate) fn run(args: DeadlineArgs, config: &Config) -> anyhow::Result<ExitCode> {
    if args.list {
        print_table(args.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(rule), Some(from)) = (args.rule.as_deref(), args.from.as_deref()) else {
        bail!(
            "укажите правило и момент получения: pdv deadline D1 --from 2025-12-30T18:00:00+03:00"
        );
    };
    let rule: RuleId = rule.parse()?;
    let (calendar, _) = load_calendar(config)?;
    let (zone, zone_source) = operator_zone(args.tz.as_deref(), config)?;
    let received_at = parse_from(from, &zone)?;
    let deadline = deadline::compute(rule, received_at, &zone, args.extended, &calendar)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&as_json(&deadline, &zone, &zone_source))?
        );
    } else {
        print!("{}", as_text(&deadline, &zone, &zone_source));
    }
    Ok(ExitCode::SUCCESS)
}

fn local(instant: Timestamp, zone: &TimeZone) -> String {
    let zoned = instant.to_zoned(zone.clone());
    zoned
        .timestamp()
        .display_with_offset(zoned.offset())
        .to_string()
}

fn weekday(date: Date) -> &'static str {
    use jiff::civil::Weekday::*;
    match date.weekday() {
        Monday => "понедельник",
        Tuesday => "вторник",
        Wednesday => "среда",
        Thursday => "четверг",
        Friday => "пятница",
        Saturday => "суббота",
        Sunday => "воскресенье",
    }
}

fn describe_due(due: Due, zone: &TimeZone) -> String {
    match due {
        Due::Date(date) => format!("{date} ({}) включительно", weekday(date)),
        Due::Instant(instant) => format!(
            "{instant} ({} по {})",
            local(instant, zone),
            zone.iana_name().unwrap_or("часовому поясу оператора")
        ),
    }
}

fn describe_years(calendar: &CalendarUse) -> String {
    if calendar.years.is_empty() {
        return "не нужен: срок считается не в рабочих днях".into();
    }
    calendar
        .years
        .iter()
        .map(|y| {
            format!(
                "{} — {} [{}, версия {}]",
                y.year,
                y.decree.as_deref().unwrap_or("постановления нет"),
                y.source,
                y.version
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn as_text(d: &Deadline, zone: &TimeZone, zone_source: &str) -> String {
    let rule = d.rule.rule();
    let mut out = String::new();
    out.push_str(&format!(
        "правило: {} — {} ({})\n",
        d.rule, rule.trigger, rule.norm
    ));
    out.push_str(&format!(
        "получено: {} — {} по {} ({zone_source}); день 0 — {}\n",
        d.received_at,
        local(d.received_at, zone),
        d.time_zone,
        d.received_on
    ));
    let numbered = d.stages.len() > 1;
    for (i, stage) in d.stages.iter().enumerate() {
        let label = if numbered {
            format!("срок {}", i + 1)
        } else {
            "срок".to_string()
        };
        let mut line = format!(
            "{label}: {} — {}, {} ({})",
            describe_due(stage.due, zone),
            stage.action,
            stage.term,
            stage.norm
        );
        if let Some(before) = stage.unextended_due {
            line.push_str(&format!("; без продления — {}", describe_due(before, zone)));
        }
        out.push_str(&line);
        out.push('\n');
    }
    match (d.extension, rule.extension) {
        (Some(term), Some(ext)) => out.push_str(&format!(
            "продление: применено, +{term} — если {} ({})\n",
            ext.condition, ext.norm
        )),
        (None, Some(ext)) => out.push_str(&format!(
            "продление: возможно на {} — если {} ({}); посчитать с ним: --extended\n",
            ext.term, ext.condition, ext.norm
        )),
        _ => {}
    }
    out.push_str(&format!("календарь: {}\n", describe_years(&d.calendar)));
    if d.provisional() {
        let years: Vec<String> = d
            .calendar
            .provisional_years()
            .map(|y| match &y.note {
                Some(note) => format!("{} ({note})", y.year),
                None => y.year.to_string(),
            })
            .collect();
        out.push_str(&format!(
            "данные календаря предварительные: ДА — {}. Срок пересчитывается, когда загружено постановление (--calendar ФАЙЛ, docs/calendar.md)\n",
            years.join("; ")
        ));
    } else {
        out.push_str("данные календаря предварительные: нет\n");
    }
    out
}

fn as_json(d: &Deadline, zone: &TimeZone, zone_source: &str) -> serde_json::Value {
    let rule = d.rule.rule();
    let local_of = |due: Due| match due {
        Due::Instant(instant) => json!(local(instant, zone)),
        Due::Date(_) => serde_json::Value::Null,
    };
    let stages: Vec<serde_json::Value> = d
        .stages
        .iter()
        .map(|s| {
            json!({
                "action": s.action,
                "term": s.term,
                "due": s.due,
                "due_local": local_of(s.due),
                "unextended_due": s.unextended_due,
                "norm": s.norm,
            })
        })
        .collect();
    json!({
        "rule": d.rule,
        "trigger": rule.trigger,
        "norm": rule.norm,
        "received_at": d.received_at,
        "received_local": local(d.received_at, zone),
        "time_zone": d.time_zone,
        "time_zone_source": zone_source,
        "received_on": d.received_on,
        "extended": d.extension.is_some(),
        "extension": d.extension,
        "due": d.due,
        "due_local": local_of(d.due),
        "stages": stages,
        "provisional": d.provisional(),
        "calendar": d.calendar.years,
    })
}

fn print_table(json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&RULES)?);
        return Ok(());
    }
    for rule in &RULES {
        let terms: Vec<String> = rule.stages.iter().map(|s| s.term.to_string()).collect();
        let extension = rule
            .extension
            .map(|e| format!(", продление +{} с уведомлением", e.term))
            .unwrap_or_default();
        println!(
            "{:<4} {} → {}: {}{} ({})",
            rule.id.as_str(),
            rule.trigger,
            rule.stages
                .iter()
                .map(|s| s.action)
                .collect::<Vec<_>>()
                .join(" / "),
            terms.join(" / "),
            extension,
            rule.norm
        );
    }
    Ok(())
}
