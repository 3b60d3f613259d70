//! Retention anchors: the events retention periods count from (seed section 8) — an order
//! fulfilled, a claim closed, an account deleted, a contract terminated, a purpose achieved, a
//! communication ended, a consent withdrawn — recorded by the operator's systems per subject,
//! and per order or claim where a rule counts that way.

use jiff::Timestamp;
use pdv_core::audit::Outcome;
use pdv_core::policy::AnchorEvent;
use pdv_core::{Operation, SubjectId};
use pdv_store::AnchorRow;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::error::{Problem, ServiceError, ServiceResult};
use crate::vault::Vault;
use crate::views::Actor;

/// The events an integration may record; `collected` is not one: it is the record's own date.
const RECORDABLE: [&str; 7] = [
    "order_fulfilled",
    "claim_closed",
    "account_deleted",
    "contract_terminated",
    "purpose_achieved",
    "communication_ended",
    "consent_withdrawn",
];

/// An event as the operator's system reports it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewAnchor {
    /// `order_fulfilled`, `claim_closed`, `account_deleted`, `contract_terminated`,
    /// `purpose_achieved`, `communication_ended`, `consent_withdrawn`.
    pub event: String,
    /// The order or claim the event belongs to (`заказ № 5521`), when it is one of several.
    #[serde(default)]
    pub scope: Option<String>,
    /// The purpose the event is about; required for `purpose_achieved` (an enquiry answered is
    /// the enquiries purpose achieved, not every purpose).
    #[serde(default)]
    pub purpose: Option<String>,
    /// The operator's civil date of the event (`YYYY-MM-DD`); today when absent.
    #[serde(default)]
    pub occurred_on: Option<String>,
}

/// A recorded event.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AnchorView {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub subject: SubjectId,
    pub event: String,
    pub scope: Option<String>,
    pub purpose: Option<String>,
    pub occurred_on: String,
    pub recorded_at: String,
}

impl Vault {
    fn anchor_view(&self, a: AnchorRow) -> AnchorView {
        AnchorView {
            id: a.id,
            subject: a.subject,
            event: a.event,
            scope: a.scope,
            purpose: a.purpose,
            occurred_on: a.occurred_on,
            recorded_at: self.local_time(a.recorded_at_ms),
        }
    }

    /// Records an event a retention period counts from. Audited; safe to retry with an
    /// idempotency key.
    pub async fn record_anchor(
        &self,
        actor: &Actor,
        subject: SubjectId,
        input: NewAnchor,
    ) -> ServiceResult<AnchorView> {
        let mut problems = Vec::new();
        let known = RECORDABLE.contains(&input.event.as_str())
            && serde_json::from_value::<AnchorEvent>(json!(input.event)).is_ok();
        if !known {
            problems.push(Problem::new(
                "event",
                "unknown_event",
                format!(
                    "событие «{}» неизвестно; допустимы: {}",
                    input.event,
                    RECORDABLE.join(", ")
                ),
            ));
        }
        let scope = input
            .scope
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if scope.is_some_and(|s| s.chars().count() > 200) {
            problems.push(Problem::new("scope", "too_long", "не длиннее 200 знаков"));
        }
        let purpose = input
            .purpose
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        match purpose {
            Some(p)
                if !self
                    .policy()
                    .policy
                    .purposes
                    .iter()
                    .any(|x| x.id.as_str() == p) =>
            {
                problems.push(Problem::new(
                    "purpose",
                    "unknown_purpose",
                    format!("цель «{p}» не объявлена в политике оператора"),
                ));
            }
            None if input.event == "purpose_achieved" => problems.push(Problem::new(
                "purpose",
                "required",
                "укажите, какая цель достигнута: сроки других целей это событие не затрагивает",
            )),
            _ => {}
        }
        let today = Timestamp::from_millisecond(self.now_ms())
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned(self.time_zone())
            .date();
        let occurred_on = match input.occurred_on.as_deref() {
            None => Some(today),
            Some(text) => match text.parse::<jiff::civil::Date>() {
                Ok(d) if d > today => {
                    problems.push(Problem::new(
                        "occurred_on",
                        "in_the_future",
                        "событие не может произойти позже сегодняшнего дня",
                    ));
                    None
                }
                Ok(d) => Some(d),
                Err(_) => {
                    problems.push(Problem::new(
                        "occurred_on",
                        "invalid_date",
                        format!("«{text}» — не дата ГГГГ-ММ-ДД"),
                    ));
                    None
                }
            },
        };
        let (Some(occurred_on), true) = (occurred_on, problems.is_empty()) else {
            return Err(ServiceError::Invalid(problems));
        };
        let mut tx = self.store().begin().await?;
        self.replay(&mut *tx, actor).await?;
        self.subject_row(&mut *tx, subject).await?;
        let row = AnchorRow {
            subject,
            id: Uuid::now_v7(),
            event: input.event.clone(),
            scope: scope.map(str::to_string),
            purpose: purpose.map(str::to_string),
            occurred_on: occurred_on.to_string(),
            recorded_at_ms: self.now_ms(),
        };
        tx.insert_anchor(&row).await?;
        let event = pdv_core::audit::AuditRecord {
            at_ms: self.now_ms(),
            actor: actor.name.clone(),
            action: "anchor.record".into(),
            operation: Some(Operation::Recording),
            purpose: None,
            subject: Some(subject),
            outcome: Outcome::Done,
            details: pdv_core::audit::canonical_details(
                &json!({ "anchor": row.id, "event": row.event, "occurred_on": row.occurred_on }),
            ),
        };
        let view = self.anchor_view(row);
        self.finish_with(tx, vec![event], Some((actor, &view)))
            .await?;
        Ok(view)
    }

    /// The subject's recorded events, oldest first.
    pub async fn anchors(
        &self,
        _actor: &Actor,
        subject: SubjectId,
    ) -> ServiceResult<Vec<AnchorView>> {
        let mut tx = self.store().begin().await?;
        self.subject_row(&mut *tx, subject).await?;
        Ok(tx
            .anchors(subject)
            .await?
            .into_iter()
            .map(|a| self.anchor_view(a))
            .collect())
    }
}
