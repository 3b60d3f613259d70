//! `pdv users …` and `pdv keys …`: staff accounts and integration keys from the command line,
//! and the demo accounts of `pdv serve --demo`. Whoever can run these commands can read the
//! database and the master key anyway, so the command line acts as the trusted actor `cli`.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use pdv_service::{NewApiKey, NewUser, UserChange, Vault};

use crate::config::Config;
use crate::{KeysCommand, UsersCommand, open_vault};

fn cli() -> pdv_service::Actor {
    pdv_service::Actor::new("cli")
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("не удалось прочитать пароль со стандартного ввода")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("на стандартном вводе нет пароля (--password-stdin ждёт его первой строкой)");
    }
    Ok(password)
}

fn local(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

pub(crate) async fn users(cmd: UsersCommand, config: &Config) -> anyhow::Result<ExitCode> {
    match cmd {
        UsersCommand::Add {
            common: _,
            login,
            name,
            role,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let vault = open_vault(config, false).await?;
            let created = vault
                .add_user(
                    &cli(),
                    NewUser {
                        login,
                        full_name: name,
                        role,
                        password,
                    },
                )
                .await?;
            println!(
                "создана учётная запись {} ({})",
                created.user.login, created.user.role_title
            );
            if let Some(password) = created.password {
                println!("пароль (показан один раз): {password}");
            }
        }
        UsersCommand::List { common: _, json } => {
            let vault = open_vault(config, false).await?;
            let users = vault.users().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else if users.is_empty() {
                println!(
                    "учётных записей нет; создайте первую: pdv users add --role administrator …"
                );
            } else {
                for u in users {
                    let state = match (u.disabled_at, u.locked_until) {
                        (Some(_), _) => "отключена".to_string(),
                        (None, Some(until)) => format!("заблокирована до {}", local(until)),
                        (None, None) => "действует".to_string(),
                    };
                    println!("{}\t{}\t{}\t{state}", u.login, u.role, u.full_name);
                }
            }
        }
        UsersCommand::Disable { common: _, login } => {
            change(config, &login, UserChange::Disable, "отключена").await?;
        }
        UsersCommand::Enable { common: _, login } => {
            change(config, &login, UserChange::Enable, "включена").await?;
        }
        UsersCommand::Unlock { common: _, login } => {
            change(config, &login, UserChange::Unlock, "разблокирована").await?;
        }
        UsersCommand::Passwd {
            common: _,
            login,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let vault = open_vault(config, false).await?;
            let generated = vault.set_password(&cli(), &login, password).await?;
            println!("пароль учётной записи {login} изменён; её сеансы завершены");
            if let Some(password) = generated {
                println!("новый пароль (показан один раз): {password}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn change(
    config: &Config,
    login: &str,
    change: UserChange,
    done: &str,
) -> anyhow::Result<()> {
    let vault = open_vault(config, false).await?;
    let user = vault.change_user(&cli(), login, change).await?;
    println!("учётная запись {} {done}", user.login);
    Ok(())
}

pub(crate) async fn keys(cmd: KeysCommand, config: &Config) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::Create {
            common: _,
            name,
            role,
            purposes,
            categories,
            valid_until,
        } => {
            let valid_until = valid_until
                .map(|d| {
                    d.parse::<jiff::civil::Date>()
                        .with_context(|| format!("--valid-until {d:?}: ожидается дата ГГГГ-ММ-ДД"))
                })
                .transpose()?;
            let vault = open_vault(config, false).await?;
            let issued = vault
                .create_api_key(
                    &cli(),
                    NewApiKey {
                        name,
                        role,
                        purposes,
                        categories,
                        valid_until,
                    },
                )
                .await?;
            let k = &issued.key;
            if k.role == "monitoring" {
                println!(
                    "выдан ключ мониторинга {} «{}»: только чтение /metrics",
                    k.id.simple(),
                    k.name
                );
            } else {
                println!(
                    "выдан ключ {} «{}»: цели {}{}",
                    k.id.simple(),
                    k.name,
                    k.purposes.join(", "),
                    if k.categories.is_empty() {
                        String::new()
                    } else {
                        format!("; категории {}", k.categories.join(", "))
                    }
                );
            }
            println!("секрет (показан один раз, сохраните его в интеграции):");
            println!("{}", issued.secret);
        }
        KeysCommand::List { common: _, json } => {
            let vault = open_vault(config, false).await?;
            let keys = vault.api_keys().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else if keys.is_empty() {
                println!("ключей API нет; выдать: pdv keys create --name … --purposes …");
            } else {
                for k in keys {
                    let state = match (k.revoked_at, k.active) {
                        (Some(at), _) => format!("отозван {}", local(at)),
                        (None, false) => "срок истёк".to_string(),
                        (None, true) => "действует".to_string(),
                    };
                    let scope = if k.role == "monitoring" {
                        "мониторинг: /metrics".to_string()
                    } else {
                        format!("цели: {}", k.purposes.join(","))
                    };
                    println!("{}\t{}\t{scope}\t{state}", k.id.simple(), k.name);
                }
            }
        }
        KeysCommand::Revoke { common: _, id } => {
            let id = uuid::Uuid::try_parse(&id)
                .with_context(|| format!("{id:?} не является идентификатором ключа"))?;
            let vault = open_vault(config, false).await?;
            let key = vault.revoke_api_key(&cli(), id).await?;
            println!("ключ {} «{}» отозван", key.id.simple(), key.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The accounts `pdv serve --demo` creates: one per staff role.
const DEMO_USERS: [(&str, &str, &str); 4] = [
    ("admin", "Демо Администратор", "administrator"),
    ("dpo", "Демо Ответственный", "responsible_person"),
    ("agent", "Демо Оператор", "agent"),
    ("auditor", "Демо Аудитор", "auditor"),
];

/// Creates the demo accounts, an integration key and a monitoring key on a demo database that
/// has no accounts yet, and writes their secrets to `file` (mode 0600) as shell variables.
pub(crate) async fn demo_credentials(vault: &Vault, file: &Path) -> anyhow::Result<()> {
    if !vault.users().await?.is_empty() {
        eprintln!(
            "демо-учётные записи уже созданы; их пароли — в {} (сменить: pdv users passwd ЛОГИН)",
            file.display()
        );
        return Ok(());
    }
    let mut lines = vec![
        "# pdvault: демонстрационные учётные данные; файл создан pdv serve --demo.".to_string(),
        "# Пароли и ключ показаны один раз: храните файл в секрете.".to_string(),
    ];
    for (login, name, role) in DEMO_USERS {
        let created = vault
            .add_user(
                &cli(),
                NewUser {
                    login: login.into(),
                    full_name: name.into(),
                    role: role.into(),
                    password: None,
                },
            )
            .await?;
        let var = format!("PDV_DEMO_{}_PASSWORD", login.to_uppercase());
        lines.push(format!("{var}={}", created.password.unwrap_or_default()));
    }
    let purpose = vault
        .policy()
        .policy
        .purposes
        .first()
        .map(|p| p.id.to_string())
        .context("в политике нет ни одной цели")?;
    let issued = vault
        .create_api_key(
            &cli(),
            NewApiKey {
                name: "Демо: сайт".into(),
                role: "integration".into(),
                purposes: vec![purpose],
                categories: vec![],
                valid_until: None,
            },
        )
        .await?;
    lines.push(format!("PDV_DEMO_KEY={}", issued.secret));
    let metrics = vault
        .create_api_key(
            &cli(),
            NewApiKey {
                name: "Демо: Prometheus".into(),
                role: "monitoring".into(),
                purposes: vec![],
                categories: vec![],
                valid_until: None,
            },
        )
        .await?;
    lines.push(format!("PDV_DEMO_METRICS_KEY={}", metrics.secret));
    let text = lines.join("\n") + "\n";
    write_private(file, &text)
        .with_context(|| format!("не удалось записать {}", file.display()))?;
    eprintln!(
        "созданы демо-учётные записи admin, dpo, agent, auditor, ключ интеграции и ключ мониторинга; пароли и ключи — в {}",
        file.display()
    );
    Ok(())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(text.as_bytes())
}
