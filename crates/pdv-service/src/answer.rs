//! The answer to an access request (ст. 14 ч. 7 152-ФЗ), in Russian, built from the operator's
//! policy and the subject's own records: confirmation of processing, bases and purposes, methods,
//! the operator, who receives the data, the data itself with its source, the periods, how to
//! exercise rights, processors with their addresses, cross-border transfer, and the measures of
//! ст. 18.1 and ст. 19. JSON for the integrations, and a printable HTML page.
//!
//! The subject gets their own data whatever the purpose check would say for a business use: the
//! right of access is not a purpose of the operator. Preparing the answer decrypts the data, so
//! it is audited as an extraction, tied to the request.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use pdv_core::Operation;
use pdv_core::audit::{AuditRecord, Outcome, canonical_details};
use pdv_core::policy::{AnchorEvent, Period, Policy, RetentionAction};
use pdv_core::request::{RequestKind, RequestNumber};
use serde::Serialize;
use serde_json::json;

use crate::error::{ServiceError, ServiceResult};
use crate::vault::Vault;
use crate::views::Actor;

/// A purpose the subject's data are processed for, with its legal basis.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AnswerPurpose {
    pub title: String,
    pub basis: String,
    pub norm: String,
    pub categories: Vec<String>,
}

/// One record of the subject's data, decrypted, with where it came from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AnswerRecord {
    pub category: String,
    pub source: String,
    pub fields: BTreeMap<String, String>,
}

/// A processor or recipient: name, address and what it does.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AnswerParty {
    pub name: String,
    pub address: Option<String>,
    pub country: String,
    pub purposes: Vec<String>,
}

/// One transfer of the requester's data that took place.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AnswerTransfer {
    pub at: String,
    pub recipient: String,
    pub purpose: String,
    pub categories: Vec<String>,
    pub basis: String,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccessAnswer {
    pub request: String,
    pub prepared_at: String,
    pub operator: String,
    pub operator_address: String,
    pub operator_requisites: String,
    pub responsible_person: String,
    pub requester: String,
    /// Whether the operator processes the requester's personal data (ст. 14 ч. 7 п. 1).
    pub processed: bool,
    pub purposes: Vec<AnswerPurpose>,
    pub methods: String,
    pub data: Vec<AnswerRecord>,
    pub recipients: Vec<AnswerParty>,
    pub processors: Vec<AnswerParty>,
    /// The transfers of the requester's data actually made: to whom, when, what and why
    /// (ст. 14 ч. 7 п. 5).
    pub transfers: Vec<AnswerTransfer>,
    pub periods: Vec<String>,
    pub cross_border: String,
    pub rights: String,
    pub measures: Vec<String>,
}

fn period_text(p: &Period) -> String {
    let mut parts = Vec::new();
    if p.years > 0 {
        parts.push(format!("{} г.", p.years));
    }
    if p.months > 0 {
        parts.push(format!("{} мес.", p.months));
    }
    if p.days > 0 || parts.is_empty() {
        parts.push(format!("{} дн.", p.days));
    }
    parts.join(" ")
}

fn anchor_text(a: AnchorEvent) -> &'static str {
    match a {
        AnchorEvent::AccountDeleted => "после удаления учётной записи",
        AnchorEvent::OrderFulfilled => "после исполнения заказа",
        AnchorEvent::ClaimClosed => "после завершения рассмотрения претензии",
        AnchorEvent::ContractTerminated => "после прекращения договора",
        AnchorEvent::PurposeAchieved => "после достижения цели обработки",
        AnchorEvent::ConsentWithdrawn => "после отзыва согласия",
        AnchorEvent::CommunicationEnded => "после окончания переписки",
        AnchorEvent::Collected => "с момента получения",
    }
}

fn action_text(a: RetentionAction) -> &'static str {
    match a {
        RetentionAction::Destroy => "затем данные уничтожаются",
        RetentionAction::Depersonalise => "затем данные обезличиваются",
        RetentionAction::Review => "затем необходимость хранения пересматривается",
    }
}

fn source_text(s: &str) -> &'static str {
    match s {
        "subject" => "получены от вас",
        "third_party" => {
            "получены от третьего лица (например, покупателя, указавшего вас получателем)"
        }
        "automatic" => "собраны автоматически при использовании сайта",
        _ => "источник не указан",
    }
}

fn party(p: &pdv_core::policy::ThirdParty, policy: &Policy) -> AnswerParty {
    AnswerParty {
        name: p.name.clone(),
        address: p.address.clone(),
        country: p.country.to_string(),
        purposes: p
            .purposes
            .iter()
            .filter_map(|id| policy.purposes.iter().find(|x| x.id == *id))
            .map(|x| x.title.clone())
            .collect(),
    }
}

impl Vault {
    /// Prepares the ст. 14 ч. 7 answer to an access request (or a clarification) of the journal.
    pub async fn access_answer(
        &self,
        actor: &Actor,
        number: RequestNumber,
    ) -> ServiceResult<AccessAnswer> {
        let view = self.request_view(actor, number).await?;
        let kind = RequestKind::parse(&view.kind);
        if !matches!(kind, Some(RequestKind::Access | RequestKind::Clarification)) {
            return Err(ServiceError::Conflict {
                code: "not_an_access_request",
                message: format!(
                    "обращение № {number} — {}; ответ по ст. 14 ч. 7 готовится на запрос сведений",
                    view.kind_title
                ),
            });
        }
        let p: &Policy = &self.policy().policy;
        let mut data = Vec::new();
        let mut kind_of_subject = None;
        // Purposes resting on consent apply only where the subject gave one that still stands.
        let mut consented: BTreeSet<String> = BTreeSet::new();
        let mut transfers = Vec::new();
        if let Some(subject) = view.subject {
            let mut tx = self.store().begin().await?;
            // A subject whose data were destroyed is answered like a stranger: nothing of theirs
            // is processed any more (ст. 14 ч. 7 п. 1).
            let row = match self.subject_row(&mut *tx, subject).await {
                Err(ServiceError::Destroyed { .. }) => None,
                other => Some(other?),
            };
            if let Some(row) = row {
                kind_of_subject = Some(row.kind.clone());
                for c in tx.consents(subject).await? {
                    if c.withdrawal.is_none() {
                        consented.extend(c.purposes);
                    }
                }
                for record in self.open_records(&mut *tx, subject, None).await? {
                    let fields = record.fields;
                    let title = p
                        .categories
                        .iter()
                        .find(|c| c.id.as_str() == record.category)
                        .map_or(record.category.clone(), |c| c.title.clone());
                    data.push(AnswerRecord {
                        category: title,
                        source: source_text(&record.source).into(),
                        fields,
                    });
                }
                let title = |id: &str, list: &[pdv_core::policy::Category]| {
                    list.iter()
                        .find(|c| c.id.as_str() == id)
                        .map_or(id.to_string(), |c| c.title.clone())
                };
                for t in self.transfer_entries(&mut *tx, subject).await? {
                    transfers.push(AnswerTransfer {
                        at: t.at,
                        recipient: if t.recipient_name.is_empty() {
                            t.recipient
                        } else {
                            t.recipient_name
                        },
                        purpose: p
                            .purpose(&t.purpose)
                            .map_or(t.purpose.clone(), |x| x.title.clone()),
                        categories: t
                            .categories
                            .iter()
                            .map(|c| title(c, &p.categories))
                            .collect(),
                        basis: p
                            .bases
                            .iter()
                            .find(|b| b.id.as_str() == t.basis)
                            .map_or(t.basis.clone(), |b| b.title.clone()),
                    });
                }
                let event = AuditRecord {
                    at_ms: self.now_ms(),
                    actor: actor.name.clone(),
                    action: "request.access_answer".into(),
                    operation: Some(Operation::Extraction),
                    purpose: None,
                    subject: Some(subject),
                    outcome: Outcome::Done,
                    details: canonical_details(
                        &json!({ "number": number.to_string(), "records": data.len() }),
                    ),
                };
                self.finish(tx, vec![event]).await?;
            }
        }
        let processed = kind_of_subject.is_some();
        let applies = |subjects: &[pdv_core::policy::Name]| {
            kind_of_subject
                .as_deref()
                .is_some_and(|k| subjects.iter().any(|s| s.as_str() == k))
        };
        let purpose_applies = |x: &&pdv_core::policy::Purpose| {
            let on_consent = p
                .bases
                .iter()
                .find(|b| b.id == x.basis)
                .is_some_and(|b| b.kind.is_consent());
            applies(&x.subjects) && (!on_consent || consented.contains(x.id.as_str()))
        };
        let purposes: Vec<AnswerPurpose> = p
            .purposes
            .iter()
            .filter(purpose_applies)
            .map(|x| {
                let basis = p.bases.iter().find(|b| b.id == x.basis);
                AnswerPurpose {
                    title: x.title.clone(),
                    basis: basis.map_or(String::new(), |b| b.title.clone()),
                    norm: basis.map_or(String::new(), |b| {
                        b.law_reference
                            .clone()
                            .unwrap_or_else(|| b.kind.norm().to_string())
                    }),
                    categories: x
                        .categories
                        .iter()
                        .filter_map(|c| p.categories.iter().find(|k| k.id == *c))
                        .map(|k| k.title.clone())
                        .collect(),
                }
            })
            .collect();
        let used: BTreeSet<&str> = p
            .purposes
            .iter()
            .filter(purpose_applies)
            .map(|x| x.id.as_str())
            .collect();
        let relevant = |t: &&pdv_core::policy::ThirdParty| {
            t.purposes.iter().any(|id| used.contains(id.as_str()))
        };
        let periods = p
            .retention
            .iter()
            .filter(|r| applies(&r.subjects))
            .map(|r| {
                format!(
                    "{}: {} {}, {} ({})",
                    r.title,
                    period_text(&r.period),
                    anchor_text(r.anchor),
                    action_text(r.action),
                    r.norm
                )
            })
            .collect();
        let abroad: Vec<String> = p
            .processors
            .iter()
            .chain(&p.recipients)
            .filter(relevant)
            .filter(|t| t.cross_border.is_some() || t.country.as_str() != "RU")
            .map(|t| format!("{} ({})", t.name, t.country))
            .collect();
        let o = &p.operator;
        Ok(AccessAnswer {
            request: number.to_string(),
            prepared_at: self.local_time(self.now_ms()),
            operator: o.full_name.clone(),
            operator_address: o.address.clone(),
            operator_requisites: format!("ИНН {}, ОГРН {}", o.inn, o.ogrn),
            responsible_person: format!(
                "{}, {} ({})",
                o.responsible_person.name,
                o.responsible_person.position,
                o.responsible_person.email
            ),
            requester: view.requester.map(|r| r.name).unwrap_or_default(),
            processed,
            purposes,
            methods: "смешанная обработка: с использованием средств автоматизации и без них; \
                      данные хранятся в зашифрованном виде"
                .into(),
            data,
            recipients: p
                .recipients
                .iter()
                .filter(relevant)
                .map(|t| party(t, p))
                .collect(),
            processors: p
                .processors
                .iter()
                .filter(relevant)
                .map(|t| party(t, p))
                .collect(),
            transfers,
            periods,
            cross_border: if abroad.is_empty() {
                "трансграничная передача ваших персональных данных не осуществляется и не планируется"
                    .into()
            } else {
                format!(
                    "трансграничная передача осуществляется: {}",
                    abroad.join("; ")
                )
            },
            rights: format!(
                "Вы вправе требовать уточнения, блокирования или уничтожения данных, отозвать согласие, \
                 потребовать прекратить обработку и обжаловать действия оператора в Роскомнадзоре или в суде \
                 (ст. 14, 15, 17, 21 152-ФЗ). Обращения принимаются по адресу {}{}.",
                p.requests.email,
                p.requests
                    .postal_address
                    .as_deref()
                    .map(|a| format!(" и почтой: {a}"))
                    .unwrap_or_default()
            ),
            measures: p
                .security_measures
                .iter()
                .map(|m| m.title.clone())
                .collect(),
        })
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl AccessAnswer {
    /// A printable, self-contained HTML page (no scripts, no external resources).
    pub fn to_html(&self) -> String {
        let mut h = String::new();
        let _ = write!(
            h,
            "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Ответ на обращение № {n}</title>\
             <style>body{{font-family:serif;max-width:50em;margin:2em auto;line-height:1.4}}\
             table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.2em .5em;text-align:left}}</style>\
             </head><body><h1>Ответ на обращение № {n}</h1><p>{op}, {addr}; {req}.</p><p>Кому: {to}. Дата: {at}.</p>",
            n = esc(&self.request),
            op = esc(&self.operator),
            addr = esc(&self.operator_address),
            req = esc(&self.operator_requisites),
            to = esc(&self.requester),
            at = esc(&self.prepared_at),
        );
        if !self.processed {
            let _ = write!(
                h,
                "<p>Сообщаем, что оператор не обрабатывает ваши персональные данные.</p>"
            );
        } else {
            let _ = write!(
                h,
                "<p>Подтверждаем, что оператор обрабатывает ваши персональные данные.</p><h2>Цели и правовые основания</h2><ul>"
            );
            for x in &self.purposes {
                let _ = write!(
                    h,
                    "<li>{} — основание: {} ({}); данные: {}</li>",
                    esc(&x.title),
                    esc(&x.basis),
                    esc(&x.norm),
                    esc(&x.categories.join(", "))
                );
            }
            let _ = write!(
                h,
                "</ul><h2>Способы обработки</h2><p>{}</p><h2>Ваши данные</h2>",
                esc(&self.methods)
            );
            for r in &self.data {
                let _ = write!(
                    h,
                    "<h3>{} ({})</h3><table>",
                    esc(&r.category),
                    esc(&r.source)
                );
                for (k, v) in &r.fields {
                    let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
                }
                let _ = write!(h, "</table>");
            }
            let list = |h: &mut String, title: &str, parties: &[AnswerParty]| {
                let _ = write!(h, "<h2>{title}</h2><ul>");
                if parties.is_empty() {
                    let _ = write!(h, "<li>нет</li>");
                }
                for t in parties {
                    let _ = write!(
                        h,
                        "<li>{}{} — {}</li>",
                        esc(&t.name),
                        t.address
                            .as_deref()
                            .map(|a| format!(", {}", esc(a)))
                            .unwrap_or_default(),
                        esc(&t.purposes.join(", "))
                    );
                }
                let _ = write!(h, "</ul>");
            };
            list(&mut h, "Лица, которым данные передаются", &self.recipients);
            list(
                &mut h,
                "Лица, обрабатывающие данные по поручению оператора",
                &self.processors,
            );
            if !self.transfers.is_empty() {
                let _ = write!(h, "<h2>Состоявшиеся передачи ваших данных</h2><ul>");
                for t in &self.transfers {
                    let _ = write!(
                        h,
                        "<li>{} — {}: {}; цель: {}; основание: {}</li>",
                        esc(&t.at),
                        esc(&t.recipient),
                        esc(&t.categories.join(", ")),
                        esc(&t.purpose),
                        esc(&t.basis)
                    );
                }
                let _ = write!(h, "</ul>");
            }
            let _ = write!(h, "<h2>Сроки обработки и хранения</h2><ul>");
            for p in &self.periods {
                let _ = write!(h, "<li>{}</li>", esc(p));
            }
            let _ = write!(
                h,
                "</ul><h2>Трансграничная передача</h2><p>{}</p><h2>Меры защиты (ст. 18.1, 19 152-ФЗ)</h2><ul>",
                esc(&self.cross_border)
            );
            for m in &self.measures {
                let _ = write!(h, "<li>{}</li>", esc(m));
            }
            let _ = write!(h, "</ul>");
        }
        let _ = write!(
            h,
            "<h2>Ваши права</h2><p>{}</p><p>Ответственный за организацию обработки персональных данных: {}.</p></body></html>",
            esc(&self.rights),
            esc(&self.responsible_person)
        );
        h
    }
}
