//! Destruction acts (Приказ Роскомнадзора от 28.10.2022 № 179): the document that confirms each
//! destruction of personal data, with the extract from the event log, kept three years.
//!
//! An act is opened by the first destruction of a run and gains one entry per subject in the
//! same transaction as that subject's destruction, so no destruction goes unrecorded and a run
//! killed half-way leaves an act that holds exactly what was destroyed. Closing an act fixes its
//! SHA-256 over a canonical text and writes that hash to the audit chain; an act left open by a
//! killed run is closed by the next run.
//!
//! The act must name whose data it records as destroyed, yet the data are gone. So each entry
//! captures, at destruction time, the subject's identification (full name where the policy
//! holds one, and the subject's identifiers) into the act itself, encrypted under the acts key
//! (not the subject's key, which the destruction removes). The act is a document of its own,
//! kept three years (п. 4 Требований, Приказ № 179) and then destroyed in turn.

use jiff::civil::Date;
use pdv_core::SubjectId;
use pdv_core::audit::{AuditRecord, Outcome};
use pdv_core::identifier::IdentifierKind;
use pdv_core::operation::Operation;
use pdv_crypto::FieldAad;
use pdv_store::{ActEntryRow, ActRow, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ServiceError, ServiceResult};
use crate::vault::Vault;
use crate::views::Actor;

/// How long an act is kept after the destruction it confirms: three years (п. 4 Требований к
/// подтверждению уничтожения, Приказ РКН № 179).
pub const ACT_KEPT_YEARS: i16 = 3;

/// How destruction is done in pdvault, as the act states it.
pub const METHOD: &str = "уничтожение ключей шифрования субъекта или категории данных \
(криптографическое стирание), после которого данные не могут быть восстановлены ни из базы, ни из \
резервных копий, и удаление записей из базы данных информационной системы";

/// A person who destroyed the data and signs the act (configured by the operator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Signatory {
    pub name: String,
    pub position: String,
}

/// What an act says about the operator's side: configured in `pdv.toml` (`[acts]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActSettings {
    /// The information system's name as the operator registered it; empty: «pdvault».
    pub system: String,
    pub signatories: Vec<Signatory>,
}

/// An act's number: the year it was opened and the running number in it, `YYYY-NNNNNN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ActNumber {
    pub year: i16,
    pub seq: u32,
}

impl std::fmt::Display for ActNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{:06}", self.year, self.seq)
    }
}

impl std::str::FromStr for ActNumber {
    type Err = ServiceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            ServiceError::invalid(
                "number",
                "invalid_act_number",
                format!("«{s}» не номер акта: ожидается ГГГГ-НННННН, например 2026-000001"),
            )
        };
        let (year, seq) = s.split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || seq.is_empty() || seq.len() > 9 {
            return Err(bad());
        }
        let year: i16 = year.parse().map_err(|_| bad())?;
        let seq: u32 = seq.parse().map_err(|_| bad())?;
        if seq == 0 {
            return Err(bad());
        }
        Ok(ActNumber { year, seq })
    }
}

/// The operator's side of an act, fixed when it is opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActHeader {
    /// The operator: full name, ИНН, ОГРН, address.
    pub operator: String,
    /// The information system the data were destroyed in.
    pub system: String,
    pub signatories: Vec<Signatory>,
    pub method: String,
    /// What started the destruction, in Russian.
    pub occasion: String,
}

/// A destroyed category within an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DestroyedCategory {
    pub id: String,
    pub title: String,
    pub records: u32,
}

/// One subject's destruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActEntry {
    pub entry_no: u32,
    #[schema(value_type = String)]
    pub subject: SubjectId,
    pub subject_kind: String,
    /// The subject's full name, captured at destruction time, where the operator held it.
    pub full_name: Option<String>,
    /// The subject's identifiers (e-mail, phone…) as `kind: value`, captured at destruction time.
    pub identifiers: Vec<String>,
    pub categories: Vec<DestroyedCategory>,
    /// Every category of the subject was destroyed, with the subject's key.
    pub whole_subject: bool,
    /// Why, with the norms.
    pub reasons: Vec<String>,
    /// Processors that held the destroyed categories and must destroy their copies (ст. 21 ч. 3).
    pub processors: Vec<String>,
    /// Numbers of the journal's requests that demanded the destruction.
    pub requests: Vec<String>,
    /// When, in the operator's time zone.
    pub destroyed_at: String,
}

/// An act as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActSummary {
    pub number: String,
    /// `open` (a run is adding to it), `closed` or `expired` (kept period over, entries destroyed).
    pub status: String,
    pub trigger: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
    pub entries: Option<u32>,
    pub sha256: Option<String>,
    pub expires_on: Option<String>,
}

/// An act in full.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActView {
    #[serde(flatten)]
    pub summary: ActSummary,
    pub header: ActHeader,
    pub entries: Vec<ActEntry>,
}

/// An act being written by a run.
#[derive(Debug, Clone)]
pub(crate) struct OpenAct {
    pub id: Uuid,
    pub number: ActNumber,
    pub next_entry: u32,
}

/// The table an act's fields are bound to.
const ACTS_TABLE: &str = "destruction_acts";

fn status(row: &ActRow) -> &'static str {
    if row.expired_at_ms.is_some() {
        "expired"
    } else if row.closed_at_ms.is_some() {
        "closed"
    } else {
        "open"
    }
}

impl Vault {
    fn acts_seal(&self, id: Uuid, field: &str, plain: &[u8]) -> Vec<u8> {
        crate::sealed::seal(&self.keyring().acts_key(), ACTS_TABLE, id, field, plain)
    }

    fn acts_open<T: serde::de::DeserializeOwned>(
        &self,
        id: Uuid,
        field: &str,
        ct: &[u8],
    ) -> ServiceResult<T> {
        let plain = crate::sealed::open(&self.keyring().acts_key(), ACTS_TABLE, id, field, ct)?;
        serde_json::from_slice(&plain)
            .map_err(|e| ServiceError::Integrity(format!("act {id}: {field}: {e}")))
    }

    fn act_header(&self, occasion: &str) -> ActHeader {
        let op = &self.policy().policy.operator;
        let settings = self.act_settings();
        ActHeader {
            operator: format!(
                "{}, ИНН {}, ОГРН {}, адрес: {}",
                op.full_name, op.inn, op.ogrn, op.address
            ),
            system: if settings.system.trim().is_empty() {
                "pdvault".into()
            } else {
                settings.system.clone()
            },
            signatories: settings.signatories.clone(),
            method: METHOD.into(),
            occasion: occasion.into(),
        }
    }

    /// Opens an act in `tx`, numbered in the current year.
    pub(crate) async fn open_act(
        &self,
        tx: &mut dyn Transaction,
        trigger: &str,
        occasion: &str,
    ) -> ServiceResult<OpenAct> {
        let year = self.today().year();
        let seq = tx.next_act_seq(year).await?;
        let id = Uuid::now_v7();
        let header = serde_json::to_vec(&self.act_header(occasion)).expect("serialisable");
        tx.insert_act(&ActRow {
            id,
            year,
            seq,
            opened_at_ms: self.now_ms(),
            trigger: trigger.into(),
            header_ct: self.acts_seal(id, "header", &header),
            closed_at_ms: None,
            entries: None,
            sha256: None,
            expires_on: None,
            expired_at_ms: None,
        })
        .await?;
        Ok(OpenAct {
            id,
            number: ActNumber { year, seq },
            next_entry: 1,
        })
    }

    /// Adds one subject's destruction to an open act, in the destruction's own transaction.
    pub(crate) async fn add_act_entry(
        &self,
        tx: &mut dyn Transaction,
        act: &mut OpenAct,
        mut entry: ActEntry,
    ) -> ServiceResult<()> {
        entry.entry_no = act.next_entry;
        let body = serde_json::to_vec(&entry).expect("serialisable");
        tx.insert_act_entry(&ActEntryRow {
            act: act.id,
            entry_no: entry.entry_no,
            subject: entry.subject,
            at_ms: self.now_ms(),
            body_ct: self.acts_seal(act.id, &format!("entry.{}", entry.entry_no), &body),
        })
        .await?;
        act.next_entry += 1;
        Ok(())
    }

    /// An act's header and entries, decrypted.
    async fn act_parts(
        &self,
        tx: &mut dyn Transaction,
        row: &ActRow,
    ) -> ServiceResult<(ActHeader, Vec<ActEntry>)> {
        let header: ActHeader = self.acts_open(row.id, "header", &row.header_ct)?;
        let mut entries = Vec::new();
        for e in tx.act_entries(row.id).await? {
            entries.push(self.acts_open(row.id, &format!("entry.{}", e.entry_no), &e.body_ct)?);
        }
        Ok((header, entries))
    }

    /// Closes an open act in `tx`: fixes its hash and expiry, and returns the audit event that
    /// puts the hash into the chain (to be committed with `tx`).
    pub(crate) async fn close_act(
        &self,
        tx: &mut dyn Transaction,
        actor: &str,
        id: Uuid,
    ) -> ServiceResult<Option<(ActNumber, AuditRecord)>> {
        let Some(row) = tx.act(id).await? else {
            return Ok(None);
        };
        if row.closed_at_ms.is_some() {
            return Ok(None);
        }
        let (header, entries_read) = self.act_parts(tx, &row).await?;
        let sha = act_hash(&row, &header, &entries_read);
        let entries = tx.act_entry_count(id).await?;
        let expires = self
            .today()
            .checked_add(jiff::Span::new().years(ACT_KEPT_YEARS))
            .unwrap_or(Date::MAX);
        tx.close_act(id, self.now_ms(), entries, &sha, &expires.to_string())
            .await?;
        let number = ActNumber {
            year: row.year,
            seq: row.seq,
        };
        let event = AuditRecord {
            operation: Some(Operation::Destruction),
            ..self.security_event(
                actor,
                "act.closed",
                Outcome::Done,
                json!({ "act": number.to_string(), "entries": entries, "sha256": sha, "expires_on": expires.to_string() }),
            )
        };
        Ok(Some((number, event)))
    }

    /// Closes every act a killed run left open; returns their numbers.
    pub(crate) async fn close_open_acts(&self, actor: &str) -> ServiceResult<Vec<ActNumber>> {
        let mut tx = self.store().begin().await?;
        let open = tx.acts(None, 1000, true).await?;
        let mut closed = Vec::new();
        let mut events = Vec::new();
        for act in open {
            if let Some((number, event)) = self.close_act(&mut *tx, actor, act.id).await? {
                closed.push(number);
                events.push(event);
            }
        }
        if events.is_empty() {
            return Ok(closed);
        }
        self.finish(tx, events).await?;
        Ok(closed)
    }

    /// Destroys the entries of acts whose kept period ended on or before `day`.
    pub(crate) async fn expire_acts(&self, actor: &str, day: Date) -> ServiceResult<Vec<String>> {
        let mut tx = self.store().begin().await?;
        let mut expired = Vec::new();
        let mut events = Vec::new();
        for act in tx.expiring_acts(&day.to_string()).await? {
            let gone = tx.expire_act(act.id, self.now_ms()).await?;
            let number = ActNumber {
                year: act.year,
                seq: act.seq,
            }
            .to_string();
            events.push(AuditRecord {
                operation: Some(Operation::Destruction),
                ..self.security_event(
                    actor,
                    "act.expired",
                    Outcome::Done,
                    json!({ "act": number, "entries_destroyed": gone, "kept_until": act.expires_on }),
                )
            });
            expired.push(number);
        }
        if !events.is_empty() {
            self.finish(tx, events).await?;
        }
        Ok(expired)
    }

    /// The subject's identification for an act, captured before its data go: the full name from
    /// any record with name fields, and every identifier.
    pub(crate) async fn identification(
        &self,
        tx: &mut dyn Transaction,
        subject: SubjectId,
    ) -> ServiceResult<(Option<String>, Vec<String>)> {
        let mut name_parts: [Option<String>; 3] = [None, None, None];
        for record in self.open_records(tx, subject, None).await? {
            for (field, value) in &record.fields {
                let slot = if field.contains("last_name") || field == "surname" {
                    0
                } else if field.contains("first_name") {
                    1
                } else if field.contains("middle_name") || field.contains("patronymic") {
                    2
                } else {
                    continue;
                };
                name_parts[slot].get_or_insert_with(|| value.clone());
            }
        }
        let name: Vec<String> = name_parts.into_iter().flatten().collect();
        let full_name = (!name.is_empty()).then(|| name.join(" "));
        let mut identifiers = Vec::new();
        let ids = tx.identifiers(subject).await?;
        if !ids.is_empty() {
            let key = self.data_key(tx, subject).await?;
            for row in ids {
                let kind = row.kind.as_str();
                let aad = FieldAad {
                    table: "subject_identifiers",
                    row_id: subject.as_bytes(),
                    field: kind,
                };
                if let Ok(plain) = key.decrypt_field(&row.value_ct, &aad) {
                    identifiers.push(format!(
                        "{}: {}",
                        identifier_title(row.kind),
                        String::from_utf8_lossy(&plain)
                    ));
                }
            }
        }
        Ok((full_name, identifiers))
    }

    fn summary(&self, row: &ActRow) -> ActSummary {
        ActSummary {
            number: ActNumber {
                year: row.year,
                seq: row.seq,
            }
            .to_string(),
            status: status(row).into(),
            trigger: row.trigger.clone(),
            opened_at: self.local_time(row.opened_at_ms),
            closed_at: row.closed_at_ms.map(|ms| self.local_time(ms)),
            entries: row.entries,
            sha256: row.sha256.clone(),
            expires_on: row.expires_on.clone(),
        }
    }

    /// Acts by number, after `after`, at most `limit`.
    pub async fn acts(
        &self,
        _actor: &Actor,
        after: Option<&str>,
        limit: u32,
    ) -> ServiceResult<Vec<ActSummary>> {
        let after = after
            .map(str::parse::<ActNumber>)
            .transpose()?
            .map(|n| (n.year, n.seq));
        let mut tx = self.store().begin().await?;
        let rows = tx.acts(after, limit.clamp(1, 1000), false).await?;
        Ok(rows.iter().map(|r| self.summary(r)).collect())
    }

    /// One act in full. Reading an act is itself audited: it names subjects.
    pub async fn act(&self, actor: &Actor, number: &str) -> ServiceResult<ActView> {
        let n: ActNumber = number.parse()?;
        let mut tx = self.store().begin().await?;
        let row = tx
            .act_by_number(n.year, n.seq)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                what: "акт об уничтожении",
                id: n.to_string(),
            })?;
        let (header, entries) = self.act_parts(&mut *tx, &row).await?;
        // A closed act must still hash to what the audit chain holds.
        if let Some(sha) = &row.sha256
            && row.expired_at_ms.is_none()
            && act_hash(&row, &header, &entries) != *sha
        {
            return Err(ServiceError::Integrity(format!(
                "act {n} does not match the hash it was closed with"
            )));
        }
        let event = self.security_event(
            &actor.name,
            "act.viewed",
            Outcome::Done,
            json!({ "act": n.to_string() }),
        );
        let view = ActView {
            summary: self.summary(&row),
            header,
            entries,
        };
        self.finish(tx, vec![event]).await?;
        Ok(view)
    }
}

/// The SHA-256 (hex) of an act's canonical text: its number, trigger, opening time, header and
/// entries as compact JSON in entry order.
fn act_hash(row: &ActRow, header: &ActHeader, entries: &[ActEntry]) -> String {
    let number = ActNumber {
        year: row.year,
        seq: row.seq,
    };
    let text = serde_json::to_vec(&json!({
        "number": number.to_string(),
        "trigger": row.trigger,
        "opened_at_ms": row.opened_at_ms,
        "header": header,
        "entries": entries,
    }))
    .expect("serialisable");
    hex::encode(Sha256::digest(&text))
}

fn identifier_title(kind: IdentifierKind) -> &'static str {
    match kind {
        IdentifierKind::Email => "эл. почта",
        IdentifierKind::Phone => "телефон",
    }
}

/// The act as an HTML document in Russian, ready to print and sign.
pub fn render_act_html(act: &ActView) -> String {
    let e = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\">");
    out.push_str(&format!(
        "<title>Акт об уничтожении персональных данных № {}</title>",
        e(&act.summary.number)
    ));
    out.push_str("<style>body{font-family:serif;max-width:60em;margin:2em auto}table{border-collapse:collapse;width:100%}td,th{border:1px solid #444;padding:.3em;vertical-align:top;text-align:left}</style></head><body>\n");
    out.push_str(&format!(
        "<h1>Акт об уничтожении персональных данных № {}</h1>\n",
        e(&act.summary.number)
    ));
    if act.summary.status == "open" {
        out.push_str("<p><strong>Акт не закрыт: уничтожение продолжается.</strong></p>\n");
    }
    let h = &act.header;
    out.push_str("<table>\n");
    let row = |out: &mut String, k: &str, v: &str| {
        out.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>\n", e(k), e(v)));
    };
    row(&mut out, "Оператор", &h.operator);
    row(&mut out, "Информационная система", &h.system);
    row(&mut out, "Способ уничтожения", &h.method);
    // Приказ № 179 п. «е» asks for the carriers and sheets of paper records; pdvault processes by
    // automated means only, so the act says so instead of leaving the line out.
    row(
        &mut out,
        "Материальные носители",
        "не уничтожались: обработка автоматизированная, данные уничтожены в базе данных \
         информационной системы",
    );
    row(&mut out, "Основание", &h.occasion);
    row(
        &mut out,
        "Дата составления",
        act.summary
            .closed_at
            .as_deref()
            .unwrap_or(&act.summary.opened_at),
    );
    if let Some(sha) = &act.summary.sha256 {
        row(
            &mut out,
            "Контрольная сумма (SHA-256), записана в журнал аудита",
            sha,
        );
    }
    if let Some(until) = &act.summary.expires_on {
        row(&mut out, "Хранится до", until);
    }
    out.push_str("</table>\n");
    if act.summary.status == "expired" {
        out.push_str("<p>Срок хранения акта истёк; сведения о субъектах уничтожены.</p>\n");
    }
    out.push_str("<h2>Уничтоженные персональные данные</h2>\n<table><tr><th>№</th><th>Субъект</th><th>Категории (записей)</th><th>Причина</th><th>Обработчики</th><th>Дата</th></tr>\n");
    for entry in &act.entries {
        let mut who = entry.full_name.clone().unwrap_or_default();
        for id in &entry.identifiers {
            if !who.is_empty() {
                who.push_str("; ");
            }
            who.push_str(id);
        }
        if who.is_empty() {
            who = format!("идентификатор субъекта {}", entry.subject);
        } else {
            who.push_str(&format!(" (идентификатор {})", entry.subject));
        }
        let cats: Vec<String> = entry
            .categories
            .iter()
            .map(|c| format!("{} ({})", c.title, c.records))
            .collect();
        let mut reasons = entry.reasons.join("; ");
        if !entry.requests.is_empty() {
            reasons.push_str(&format!("; обращения № {}", entry.requests.join(", ")));
        }
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            entry.entry_no,
            e(&who),
            e(&cats.join(", ")),
            if entry.whole_subject {
                " — все данные субъекта"
            } else {
                ""
            },
            e(&reasons),
            e(&if entry.processors.is_empty() {
                "—".to_string()
            } else {
                entry.processors.join(", ")
            }),
            e(&entry.destroyed_at),
        ));
    }
    out.push_str("</table>\n");
    out.push_str("<h2>Выгрузка из журнала регистрации событий</h2>\n<table><tr><th>Субъект</th><th>Категории</th><th>Информационная система</th><th>Причина</th><th>Дата уничтожения</th></tr>\n");
    for entry in &act.entries {
        let who = entry
            .full_name
            .clone()
            .unwrap_or_else(|| entry.subject.to_string());
        let cats: Vec<&str> = entry.categories.iter().map(|c| c.title.as_str()).collect();
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            e(&who),
            e(&cats.join(", ")),
            e(&h.system),
            e(&entry.reasons.join("; ")),
            e(&entry.destroyed_at)
        ));
    }
    out.push_str("</table>\n<h2>Лица, уничтожившие персональные данные</h2>\n");
    if h.signatories.is_empty() {
        out.push_str("<p>Лица не назначены в настройках (<code>[acts] signatories</code>): впишите их и подпишите акт.</p>\n");
    }
    for s in &h.signatories {
        out.push_str(&format!(
            "<p>{}, {} ____________________ (подпись)</p>\n",
            e(&s.position),
            e(&s.name)
        ));
    }
    out.push_str("</body></html>\n");
    out
}
