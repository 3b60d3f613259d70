//! The outbox: answers and notices the journal produces, queued for the operator's own mail or
//! SMS integration, which reads them here and reports each one sent or failed. pdvault sends
//! nothing itself: it has no mail server, and operators on closed networks want the one they have.
//!
//! Address and text are encrypted under the journal key like the journal they come from; reading
//! the queue decrypts them for the integration and is audited.

use pdv_core::audit::{AuditRecord, Outcome, canonical_details};
use pdv_store::{OutboxRow, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::error::{ServiceError, ServiceResult};
use crate::vault::Vault;
use crate::views::Actor;

const AAD_TABLE: &str = "outbox";
const PAGE: u32 = 100;

/// A message as the integration sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    pub created_at: String,
    /// The journal number of the request it answers, if any.
    pub request: Option<String>,
    /// `answer`, `extension_notice`, `refusal`, `destruction_notice` (what a demand to destroy
    /// led to, written by the retention run).
    pub kind: String,
    /// `email`, `sms` or `post`.
    pub channel: String,
    pub address: String,
    pub body: String,
    pub status: String,
    pub note: Option<String>,
}

/// The integration's report on one message.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct DeliveryReport {
    /// `sent` or `failed`.
    pub status: String,
    /// A tracking number or the error, without personal data.
    #[serde(default)]
    pub note: Option<String>,
}

/// How to deliver to an address as the requester wrote it.
pub(crate) fn channel_for(address: &str) -> &'static str {
    let digits = address.chars().filter(char::is_ascii_digit).count();
    if address.contains('@') {
        "email"
    } else if digits >= 10
        && address
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()".contains(c))
    {
        "sms"
    } else {
        "post"
    }
}

impl Vault {
    /// Queues a message inside the caller's transaction; returns its id.
    pub(crate) async fn queue_message(
        &self,
        tx: &mut dyn Transaction,
        request: Option<Uuid>,
        kind: &str,
        address: &str,
        body: &str,
    ) -> ServiceResult<Uuid> {
        let id = Uuid::now_v7();
        tx.insert_message(&OutboxRow {
            id,
            created_at_ms: self.now_ms(),
            request,
            kind: kind.into(),
            channel: channel_for(address).into(),
            address_ct: self.journal_seal(AAD_TABLE, id, "address", address.as_bytes()),
            body_ct: self.journal_seal(AAD_TABLE, id, "body", body.as_bytes()),
            status: "queued".into(),
            status_at_ms: self.now_ms(),
            note: None,
        })
        .await?;
        Ok(id)
    }

    fn message_view(&self, m: OutboxRow, number: Option<String>) -> ServiceResult<MessageView> {
        Ok(MessageView {
            address: self.journal_open(AAD_TABLE, m.id, "address", &m.address_ct)?,
            body: self.journal_open(AAD_TABLE, m.id, "body", &m.body_ct)?,
            id: m.id,
            created_at: self.local_time(m.created_at_ms),
            request: number,
            kind: m.kind,
            channel: m.channel,
            status: m.status,
            note: m.note,
        })
    }

    /// Messages with this status (`queued` by default), oldest first; reading them is audited.
    pub async fn outbox(
        &self,
        actor: &Actor,
        status: Option<&str>,
    ) -> ServiceResult<Vec<MessageView>> {
        let status = status.unwrap_or("queued");
        if !matches!(status, "queued" | "sent" | "failed") {
            return Err(ServiceError::invalid(
                "status",
                "unknown_status",
                format!("статус «{status}» неизвестен; допустимы queued, sent, failed"),
            ));
        }
        let mut tx = self.store().begin().await?;
        let rows = tx.messages(status, None, PAGE).await?;
        let mut out = Vec::with_capacity(rows.len());
        for m in rows {
            let number = match m.request {
                Some(r) => tx
                    .request(r)
                    .await?
                    .map(|s| format!("{:04}-{:06}", s.request.year, s.request.seq)),
                None => None,
            };
            out.push(self.message_view(m, number)?);
        }
        if !out.is_empty() {
            let event = AuditRecord {
                at_ms: self.now_ms(),
                actor: actor.name.clone(),
                action: "outbox.read".into(),
                operation: Some(pdv_core::Operation::Transfer),
                purpose: None,
                subject: None,
                outcome: Outcome::Done,
                details: canonical_details(&json!({ "status": status, "messages": out.len() })),
            };
            self.finish(tx, vec![event]).await?;
        }
        Ok(out)
    }

    /// Records the delivery outcome of a queued message.
    pub async fn report_delivery(
        &self,
        actor: &Actor,
        id: Uuid,
        report: DeliveryReport,
    ) -> ServiceResult<MessageView> {
        if !matches!(report.status.as_str(), "sent" | "failed") {
            return Err(ServiceError::invalid(
                "status",
                "unknown_status",
                "укажите sent (отправлено) или failed (не доставлено)",
            ));
        }
        let note = report
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > 500) {
            return Err(ServiceError::invalid(
                "note",
                "too_long",
                "примечание длиннее 500 знаков",
            ));
        }
        let mut tx = self.store().begin().await?;
        let Some(m) = tx.message(id).await? else {
            return Err(ServiceError::NotFound {
                what: "сообщение",
                id: id.to_string(),
            });
        };
        if !tx
            .set_message_status(id, &report.status, self.now_ms(), note)
            .await?
        {
            return Err(ServiceError::Conflict {
                code: "already_reported",
                message: format!("о сообщении {id} уже сообщено: {}", m.status),
            });
        }
        let event = self.security_event(
            &actor.name,
            &format!("outbox.{}", report.status),
            Outcome::Done,
            json!({ "message": id, "kind": m.kind }),
        );
        let updated = OutboxRow {
            status: report.status.clone(),
            status_at_ms: self.now_ms(),
            note: note.map(str::to_string),
            ..m
        };
        self.finish(tx, vec![event]).await?;
        self.message_view(updated, None)
    }
}

#[cfg(test)]
mod tests {
    use super::channel_for;

    #[test]
    fn the_channel_follows_the_address() {
        assert_eq!(channel_for("anna@example.ru"), "email");
        assert_eq!(channel_for("+7 (916) 555-12-34"), "sms");
        assert_eq!(channel_for("г. Тверь, ул. Советская, д. 1, кв. 12"), "post");
    }
}
