//! Transfers of a subject's data to processors and recipients, the register they are checked
//! against, and withdrawals of a consent for one recipient.
//!
//! A transfer is a command like a read: it states a purpose, passes the one transfer check
//! ([`pdv_core::transfer::decide`], which runs the purpose check first), decrypts only the
//! categories it may carry, journals itself (recipient, categories, purpose, basis, the consent it
//! rests on) and is audited as the processing operation «передача», refused or not. The journal
//! is the subject's: it appears in the ст. 14 ч. 7 answer and goes with the subject's other rows
//! when the subject is destroyed; the audit trail keeps the event.
//!
//! A subject may withdraw a consent for one recipient it names and keep it for the others. From
//! that commit no transfer to that recipient rests on it, and a notice to stop processing is
//! queued through the outbox to every recipient that received the subject's data under it
//! (ст. 21 ч. 5: the operator makes those who process on its behalf stop).

use std::collections::BTreeSet;

use jiff::civil::Date;
use pdv_core::audit::Outcome;
use pdv_core::law::{self, BasisKind};
use pdv_core::policy::{Policy, ThirdParty};
use pdv_core::transfer::{self, ConsentFact, CourtDecision, TransferQuery};
use pdv_core::{ConsentId, Operation, RecordId, SubjectId, TransferId};
use pdv_crypto::FieldAad;
use pdv_store::{ConsentRow, RecipientWithdrawalRow, Transaction, TransferRow};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::error::{ServiceError, ServiceResult};
use pdv_core::consent::ConsentState;

use crate::vault::{Vault, civil_today, consent_state};
use crate::views::{Actor, RecordView};

/// A request to provide a subject's data to a processor or recipient.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransfer {
    /// The id of a `[[processor]]` or `[[recipient]]` of the policy.
    pub recipient: String,
    /// The purpose the data are provided for.
    pub purpose: String,
    /// Categories to provide; empty or absent means every category both the purpose and the
    /// recipient's registration allow.
    #[serde(default)]
    pub categories: Vec<String>,
    /// The id of the `[[basis]]` the transfer relies on; it must be one the recipient is
    /// registered under.
    pub basis: String,
    /// For a court basis: the decision's details.
    #[serde(default)]
    pub court: Option<CourtDecision>,
    /// The operator's reference for the transfer (an order number, a delivery note); kept
    /// encrypted.
    #[serde(default)]
    pub reference: Option<String>,
}

/// A transfer made: what went to whom, and the data themselves.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransferMade {
    pub id: TransferId,
    pub subject: SubjectId,
    pub recipient: String,
    pub recipient_name: String,
    /// Whether the recipient processes on the operator's behalf (поручение).
    pub processor: bool,
    pub country: String,
    pub purpose: String,
    pub categories: Vec<String>,
    pub basis: String,
    pub basis_kind: BasisKind,
    /// The consent the transfer rests on, for a consent basis.
    pub consent: Option<ConsentId>,
    pub at: String,
    /// The records provided, decrypted for this call only.
    pub records: Vec<RecordView>,
}

/// One journaled transfer, without the data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransferEntry {
    pub id: TransferId,
    pub at: String,
    pub recipient: String,
    pub recipient_name: String,
    pub purpose: String,
    pub categories: Vec<String>,
    pub basis: String,
    pub basis_kind: String,
    pub consent: Option<ConsentId>,
    pub actor: String,
    pub court: Option<CourtDecision>,
    pub reference: Option<String>,
}

/// A processor or recipient as the register shows it: what it may receive, and whether a
/// transfer to it can happen today.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegisterEntry {
    pub id: String,
    pub name: String,
    /// `processor` (processes on the operator's behalf, ст. 6 ч. 3) or `recipient`.
    pub role: String,
    pub class: Option<String>,
    pub inn: Option<String>,
    pub country: String,
    pub purposes: Vec<String>,
    pub categories: Vec<String>,
    pub operations: Vec<String>,
    pub bases: Vec<String>,
    /// The contract's number and date, for a processor.
    pub contract: Option<String>,
    /// Terms ст. 6 ч. 3 requires that the processor's contract lacks.
    pub contract_missing: Vec<String>,
    /// For a party abroad: the day transfers may start, if they may.
    pub cross_border_from: Option<Date>,
    /// `ready`, `contract_incomplete`, `cross_border_refused`, `cross_border_waiting`.
    pub status: String,
    /// Why transfers are refused, in Russian; empty when ready.
    pub problems: Vec<String>,
}

/// A withdrawal of a consent for some of the recipients it names.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientWithdrawal {
    /// The channel the withdrawal came through.
    pub channel: String,
    /// Recipients (ids, or a class the consent names) the consent no longer covers.
    pub recipients: Vec<String>,
}

/// What a withdrawal for recipients did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientsWithdrawn {
    pub consent: ConsentId,
    pub recipients: Vec<String>,
    /// Recipients that had received the subject's data under the consent and were sent a notice
    /// to stop processing (through the outbox).
    pub notified: Vec<String>,
}

/// A transfer's encrypted details.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Details {
    #[serde(default)]
    court: Option<CourtDecision>,
    #[serde(default)]
    reference: Option<String>,
}

fn details_aad(id: &TransferId) -> FieldAad<'_> {
    FieldAad {
        table: "transfers",
        row_id: id.as_bytes(),
        field: "details",
    }
}

/// The register entry of one party, as of `today`.
fn register_entry(
    policy: &Policy,
    party: &ThirdParty,
    processor: bool,
    today: Date,
    calendar: &pdv_core::calendar::WorkCalendar,
) -> RegisterEntry {
    let contract_missing: Vec<String> = if processor {
        transfer::contract_gaps(party)
            .into_iter()
            .map(String::from)
            .collect()
    } else {
        Vec::new()
    };
    let mut problems = Vec::new();
    let mut status = "ready";
    if !contract_missing.is_empty() {
        status = "contract_incomplete";
        problems.push(format!(
            "договор поручения не содержит: {} ({})",
            contract_missing.join(", "),
            law::PROCESSOR_CONTRACT_NORM
        ));
    }
    let cross_border_from = match transfer::cross_border_from(party, calendar) {
        Ok(from) => {
            if let Some(from) = from
                && today < from
            {
                if status == "ready" {
                    status = "cross_border_waiting";
                }
                problems.push(format!(
                    "трансграничная передача возможна с {from} ({})",
                    law::CROSS_BORDER_NORM
                ));
            }
            from
        }
        Err(denial) => {
            status = "cross_border_refused";
            problems.push(denial.message());
            None
        }
    };
    let _ = policy;
    RegisterEntry {
        id: party.id.to_string(),
        name: party.name.clone(),
        role: if processor { "processor" } else { "recipient" }.into(),
        class: party.class.clone(),
        inn: party.inn.as_ref().map(|i| i.to_string()),
        country: party.country.to_string(),
        purposes: party.purposes.iter().map(|p| p.to_string()).collect(),
        categories: party.categories.iter().map(|c| c.to_string()).collect(),
        operations: party
            .operations
            .iter()
            .map(|o| o.as_str().to_string())
            .collect(),
        bases: party.bases.iter().map(|b| b.to_string()).collect(),
        contract: party
            .contract
            .as_ref()
            .map(|c| format!("№ {} от {}", c.number, c.date)),
        contract_missing,
        cross_border_from,
        status: status.into(),
        problems,
    }
}

/// The consents in force of a subject, with the recipients each still covers.
fn consent_facts(
    consents: &[ConsentRow],
    withdrawals: &[RecipientWithdrawalRow],
    today: Date,
) -> ServiceResult<Vec<ConsentFact>> {
    let mut facts = Vec::new();
    for c in consents {
        if consent_state(c, today)? != ConsentState::Given {
            continue;
        }
        let withdrawn: Vec<String> = withdrawals
            .iter()
            .filter(|w| w.consent == c.id)
            .map(|w| w.recipient.clone())
            .collect();
        facts.push(ConsentFact {
            id: c.id.to_string(),
            purposes: c.purposes.clone(),
            recipients: c.recipients.clone(),
            withdrawn,
        });
    }
    Ok(facts)
}

impl Vault {
    /// The register of processors and recipients with what each lacks, as of today.
    pub fn register(&self) -> Vec<RegisterEntry> {
        let policy = self.p();
        let today = civil_today(self.clock().now(), policy);
        policy
            .processors
            .iter()
            .map(|p| (p, true))
            .chain(policy.recipients.iter().map(|r| (r, false)))
            .map(|(party, processor)| {
                register_entry(policy, party, processor, today, self.calendar())
            })
            .collect()
    }

    /// Provides the subject's data to a processor or recipient, if the transfer check allows
    /// it; journals and audits the transfer, or audits the refusal.
    pub async fn transfer(
        &self,
        actor: &Actor,
        subject_id: SubjectId,
        input: NewTransfer,
    ) -> ServiceResult<TransferMade> {
        self.check_scope(
            actor,
            "data.transfer",
            Operation::Transfer,
            subject_id,
            std::slice::from_ref(&input.purpose),
            &input.categories,
        )
        .await?;
        let policy = self.p();
        let now = self.clock().now();
        let today = civil_today(now, policy);
        let mut tx = self.store().begin().await?;
        let subject = self.subject_row(&mut *tx, subject_id).await?;
        let facts = self.facts(&mut *tx, &subject).await?;
        let consents = tx.consents(subject_id).await?;
        let withdrawals = tx.recipient_withdrawals(subject_id).await?;
        let consent_facts = consent_facts(&consents, &withdrawals, today)?;
        let decision = transfer::decide(
            policy,
            &facts,
            &consent_facts,
            &TransferQuery {
                recipient: &input.recipient,
                purpose: &input.purpose,
                categories: &input.categories,
                basis: &input.basis,
                court: input.court.as_ref(),
            },
            today,
            self.calendar(),
        );
        let mut grant = match decision {
            Ok(grant) => grant,
            Err(denial) => {
                let event = self.record(
                    actor,
                    "data.transfer",
                    Operation::Transfer,
                    Some(&input.purpose),
                    Some(subject_id),
                    Outcome::Denied,
                    json!({ "recipient": input.recipient, "categories": input.categories, "basis": input.basis, "code": denial.code() }),
                );
                return self
                    .deny(tx, event, ServiceError::TransferDenied(denial))
                    .await;
            }
        };
        // A key limited to some categories passes on only those.
        grant.categories = actor.scope.narrow(grant.categories);
        let records = self
            .open_records(&mut *tx, subject_id, Some(&grant.categories))
            .await?;
        let id = TransferId(Vault::new_id());
        let details = Details {
            court: input.court.clone(),
            reference: input
                .reference
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(String::from),
        };
        let details_ct = if details.court.is_some() || details.reference.is_some() {
            let key = self.data_key(&mut *tx, subject_id).await?;
            let plain =
                serde_json::to_vec(&details).map_err(|e| ServiceError::Integrity(e.to_string()))?;
            Some(key.encrypt_field(&plain, &details_aad(&id)))
        } else {
            None
        };
        let consent = grant.consent.as_deref().and_then(ConsentId::parse);
        tx.insert_transfer(&TransferRow {
            subject: subject_id,
            id,
            at_ms: now.as_millisecond(),
            recipient: input.recipient.clone(),
            purpose: input.purpose.clone(),
            categories: grant.categories.clone(),
            basis: grant.basis.clone(),
            basis_kind: grant.basis_kind.as_str().into(),
            consent,
            details_ct,
            actor: actor.name.clone(),
        })
        .await?;
        let ids: Vec<RecordId> = records.iter().map(|r| r.id).collect();
        let event = self.record(
            actor,
            "data.transfer",
            Operation::Transfer,
            Some(&input.purpose),
            Some(subject_id),
            Outcome::Done,
            json!({ "transfer": id, "recipient": input.recipient, "categories": grant.categories, "basis": grant.basis, "basis_kind": grant.basis_kind.as_str(), "consent": consent, "records": ids }),
        );
        self.finish(tx, vec![event]).await?;
        let party = policy.third_party(&input.recipient);
        Ok(TransferMade {
            id,
            subject: subject_id,
            recipient: input.recipient,
            recipient_name: party.map(|p| p.name.clone()).unwrap_or_default(),
            processor: grant.processor,
            country: grant.country,
            purpose: input.purpose,
            categories: grant.categories,
            basis: grant.basis,
            basis_kind: grant.basis_kind,
            consent,
            at: self.local_time(now.as_millisecond()),
            records,
        })
    }

    /// The subject's journal of transfers, oldest first, with the details decrypted.
    pub async fn transfers(
        &self,
        actor: &Actor,
        subject_id: SubjectId,
    ) -> ServiceResult<Vec<TransferEntry>> {
        let mut tx = self.store().begin().await?;
        self.subject_row(&mut *tx, subject_id).await?;
        let entries = self.transfer_entries(&mut *tx, subject_id).await?;
        let event = self.record(
            actor,
            "transfer.list",
            Operation::Extraction,
            None,
            Some(subject_id),
            Outcome::Done,
            json!({ "transfers": entries.len() }),
        );
        self.finish(tx, vec![event]).await?;
        Ok(entries)
    }

    /// The transfer journal of a subject inside the caller's transaction.
    pub(crate) async fn transfer_entries(
        &self,
        tx: &mut dyn Transaction,
        subject_id: SubjectId,
    ) -> ServiceResult<Vec<TransferEntry>> {
        let rows = tx.transfers(subject_id).await?;
        let needs_key = rows.iter().any(|r| r.details_ct.is_some());
        let key = if needs_key {
            Some(self.data_key(tx, subject_id).await?)
        } else {
            None
        };
        let policy = self.p();
        rows.into_iter()
            .map(|r| {
                let details = match (&r.details_ct, &key) {
                    (Some(ct), Some(key)) => {
                        let plain = key.decrypt_field(ct, &details_aad(&r.id)).map_err(|e| {
                            ServiceError::Integrity(format!("transfer {} details: {e}", r.id))
                        })?;
                        serde_json::from_slice(&plain)
                            .map_err(|e| ServiceError::Integrity(e.to_string()))?
                    }
                    _ => Details::default(),
                };
                Ok(TransferEntry {
                    id: r.id,
                    at: self.local_time(r.at_ms),
                    recipient_name: policy
                        .third_party(&r.recipient)
                        .map(|p| p.name.clone())
                        .unwrap_or_default(),
                    recipient: r.recipient,
                    purpose: r.purpose,
                    categories: r.categories,
                    basis: r.basis,
                    basis_kind: r.basis_kind,
                    consent: r.consent,
                    actor: r.actor,
                    court: details.court,
                    reference: details.reference,
                })
            })
            .collect()
    }

    /// Withdraws a consent for some of the recipients it names; the consent stays in force for
    /// the others. Recipients that received the subject's data under it are sent a notice to
    /// stop processing.
    pub async fn withdraw_consent_for_recipients(
        &self,
        actor: &Actor,
        subject_id: SubjectId,
        consent_id: ConsentId,
        input: RecipientWithdrawal,
    ) -> ServiceResult<RecipientsWithdrawn> {
        let policy = self.p();
        if !policy
            .requests
            .channels
            .iter()
            .any(|c| *c == *input.channel)
        {
            let known: Vec<&str> = policy
                .requests
                .channels
                .iter()
                .map(|c| c.as_str())
                .collect();
            return Err(ServiceError::invalid(
                "channel",
                "channel_not_accepted",
                format!(
                    "отзыв через канал «{}» не принимается; каналы для обращений: {}",
                    input.channel,
                    known.join(", ")
                ),
            ));
        }
        let wanted: BTreeSet<String> = input
            .recipients
            .iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        if wanted.is_empty() {
            return Err(ServiceError::invalid(
                "recipients",
                "empty",
                "укажите хотя бы одного получателя, для которого отзывается согласие",
            ));
        }
        let now = self.clock().now();
        let today = civil_today(now, policy);
        let mut tx = self.store().begin().await?;
        self.replay(&mut *tx, actor).await?;
        self.subject_row(&mut *tx, subject_id).await?;
        let consents = tx.consents(subject_id).await?;
        let Some(target) = consents.iter().find(|c| c.id == consent_id) else {
            return Err(ServiceError::NotFound {
                what: "согласие",
                id: consent_id.to_string(),
            });
        };
        if consent_state(target, today)? != ConsentState::Given {
            return Err(ServiceError::Conflict {
                code: "consent_not_in_force",
                message: format!("согласие {consent_id} не действует: отозвано или истекло"),
            });
        }
        // A recipient is named by the consent itself, or belongs to a class the consent names.
        let covered = |r: &str| {
            target.recipients.iter().any(|n| n == r)
                || policy.third_party(r).is_some_and(|p| {
                    p.class
                        .as_deref()
                        .is_some_and(|class| target.recipients.iter().any(|n| n == class))
                })
        };
        let problems: Vec<crate::error::Problem> = wanted
            .iter()
            .enumerate()
            .filter(|(_, r)| !covered(r))
            .map(|(i, r)| {
                crate::error::Problem::new(
                    format!("recipients[{i}]"),
                    "recipient_not_in_consent",
                    format!(
                        "согласие {consent_id} не называет получателя «{r}»; оно называет: {}",
                        if target.recipients.is_empty() {
                            "никого".to_string()
                        } else {
                            target.recipients.join(", ")
                        }
                    ),
                )
            })
            .collect();
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        let mut done = Vec::new();
        for r in &wanted {
            let inserted = tx
                .insert_recipient_withdrawal(&RecipientWithdrawalRow {
                    subject: subject_id,
                    consent: consent_id,
                    recipient: r.clone(),
                    at_ms: now.as_millisecond(),
                    channel: input.channel.clone(),
                })
                .await?;
            if inserted {
                done.push(r.clone());
            }
        }
        if done.is_empty() {
            return Err(ServiceError::Conflict {
                code: "already_withdrawn",
                message: format!(
                    "согласие {consent_id} уже отозвано для: {}",
                    wanted.into_iter().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        let notified = self
            .notify_recipients(&mut *tx, subject_id, consent_id, &done, &[])
            .await?;
        let event = self.record(
            actor,
            "consent.withdraw_recipients",
            Operation::Rectification,
            Some(&target.purposes.join(",")),
            Some(subject_id),
            Outcome::Done,
            json!({ "consent": consent_id, "channel": input.channel, "recipients": done, "notified": notified }),
        );
        let view = RecipientsWithdrawn {
            consent: consent_id,
            recipients: done,
            notified,
        };
        self.finish_with(tx, vec![event], Some((actor, &view)))
            .await?;
        Ok(view)
    }

    /// Queues, for each recipient among `withdrawn` (ids, or classes covering ids) that received
    /// the subject's data under `consent`, a notice to stop processing them; returns the ids
    /// notified. Recipients among `skip` (told already) are left out.
    pub(crate) async fn notify_recipients(
        &self,
        tx: &mut dyn Transaction,
        subject_id: SubjectId,
        consent: ConsentId,
        withdrawn: &[String],
        skip: &[String],
    ) -> ServiceResult<Vec<String>> {
        let policy = self.p();
        let transfers = tx.transfers(subject_id).await?;
        let mut notified: Vec<String> = Vec::new();
        for t in transfers.iter().filter(|t| t.consent == Some(consent)) {
            if notified.contains(&t.recipient) {
                continue;
            }
            let Some(party) = policy.third_party(&t.recipient) else {
                continue;
            };
            let names = |w: &String| {
                *w == *party.id || party.class.as_deref().is_some_and(|class| w == class)
            };
            if !withdrawn.iter().any(names) || skip.iter().any(names) {
                continue;
            }
            let sent: Vec<&TransferRow> = transfers
                .iter()
                .filter(|x| x.recipient == t.recipient && x.consent == Some(consent))
                .collect();
            let body = recipient_notice(policy, party, consent, &sent, |ms| self.local_time(ms));
            let address = party
                .contact
                .clone()
                .or_else(|| party.address.clone())
                .unwrap_or_else(|| party.name.clone());
            self.queue_message(tx, None, "recipient_withdrawal_notice", &address, &body)
                .await?;
            notified.push(t.recipient.clone());
        }
        Ok(notified)
    }
}

/// The notice to a recipient whose basis for the subject's data is gone.
fn recipient_notice(
    policy: &Policy,
    party: &ThirdParty,
    consent: ConsentId,
    sent: &[&TransferRow],
    time: impl Fn(i64) -> String,
) -> String {
    let op = &policy.operator;
    let mut lines = vec![
        format!("{}", party.name),
        String::new(),
        "Уведомление об отзыве согласия на передачу персональных данных".to_string(),
        String::new(),
        format!(
            "Субъект персональных данных отозвал согласие (№ {consent}) на передачу Вам его персональных данных оператором {} (ИНН {}).",
            op.full_name, op.inn
        ),
        "Отзыв касается данных, переданных Вам:".to_string(),
    ];
    for t in sent {
        lines.push(format!(
            "— передача № {} от {}: цель «{}», категории: {};",
            t.id,
            time(t.at_ms),
            t.purpose,
            t.categories.join(", ")
        ));
    }
    lines.push(String::new());
    lines.push(format!(
        "Прекратите обработку этих данных и уничтожьте их в срок, не превышающий 30 дней с даты получения уведомления, если иное не предусмотрено договором с оператором или федеральным законом ({}). О выполнении сообщите оператору: {}.",
        law::WITHDRAWAL_STOP_NORM,
        policy.requests.email
    ));
    lines.join("\n")
}
