//! `pdv register`: the register of processors and recipients from the policy, with what each
//! processor's contract lacks (ст. 6 ч. 3) and whether a party abroad may receive data today
//! (ст. 12). Exits 3 when a party cannot receive data, so that cron can alert.

use std::process::ExitCode;

use clap::Args;

use crate::config::Config;
use crate::{Common, open_vault};

/// The exit code when some party of the register cannot receive data.
pub const EXIT_NOT_READY: u8 = 3;

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub common: Common,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: RegisterArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let vault = open_vault(config, false).await?;
    let register = vault.register();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&register)?);
    } else {
        for e in &register {
            let role = if e.role == "processor" {
                "обработчик по поручению"
            } else {
                "получатель"
            };
            println!("{} — {} ({role}, {})", e.id, e.name, e.country);
            if let Some(class) = &e.class {
                println!("  категория лиц: {class}");
            }
            println!("  цели: {}", e.purposes.join(", "));
            println!("  категории данных: {}", e.categories.join(", "));
            println!("  основания: {}", e.bases.join(", "));
            if let Some(c) = &e.contract {
                println!("  договор поручения: {c}");
            }
            if e.problems.is_empty() {
                println!("  передача возможна");
            } else {
                for p in &e.problems {
                    println!("  НЕЛЬЗЯ ПЕРЕДАВАТЬ: {p}");
                }
            }
        }
        let blocked = register.iter().filter(|e| !e.problems.is_empty()).count();
        println!("всего: {}; передача невозможна: {blocked}", register.len());
    }
    Ok(if register.iter().any(|e| !e.problems.is_empty()) {
        ExitCode::from(EXIT_NOT_READY)
    } else {
        ExitCode::SUCCESS
    })
}
