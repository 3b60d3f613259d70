//! The notice of processing to Roskomnadzor (ст. 22 152-ФЗ): the content the policy gives now,
//! compared with the version last filed, and the record of a filing.
//!
//! What was filed is kept in the store's `meta` (key [`FILED_META_KEY`]): the date, the number
//! Roskomnadzor gave, the hash and the canonical content itself. The content is kept, not just its
//! hash, so that a stale notice can name the items that changed (ст. 22 ч. 7: a change is
//! notified within 10 working days). Reading the notice touches no personal data and is not
//! audited; recording a filing is a state change and commits with its `rkn.notice_filed` event.

use pdv_core::audit::Outcome;
use pdv_core::rkn_notice::{ChangedItem, MissingItem, NoticeContent};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Problem, ServiceError, ServiceResult};
use crate::vault::Vault;
use crate::views::Actor;

/// The `meta` key holding the filed version.
pub const FILED_META_KEY: &str = "rkn_notice_filed";

/// Longest registration number accepted.
const NUMBER_MAX: usize = 100;

/// Whether the notice as the policy states it now is the one filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    /// No filing has been recorded.
    NeverFiled,
    /// The filed version has the content the policy gives now.
    Current,
    /// The policy changed something the notice states: a notice of the change is due (ч. 7).
    Stale,
}

impl NoticeStatus {
    /// Whether someone has to act (file, or file the change).
    pub fn needs_filing(self) -> bool {
        self != NoticeStatus::Current
    }

    pub fn title_ru(self) -> &'static str {
        match self {
            NoticeStatus::NeverFiled => "подача уведомления не отмечена",
            NoticeStatus::Current => "поданное уведомление актуально",
            NoticeStatus::Stale => "поданное уведомление устарело: нужно уведомить об изменениях",
        }
    }
}

/// A recorded filing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FiledNotice {
    /// The day the notice was filed (`YYYY-MM-DD`).
    pub date: String,
    /// The number Roskomnadzor gave (registry or incoming number), when known.
    pub number: Option<String>,
    /// SHA-256 of the canonical content filed.
    pub hash: String,
    /// When the filing was recorded in pdvault (RFC 3339).
    pub recorded_at: String,
}

/// What `meta` keeps: the filing and the content filed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FiledRecord {
    #[serde(flatten)]
    filing: FiledNotice,
    content: serde_json::Value,
}

/// The notice now, against the filed version.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RknNotice {
    pub status: NoticeStatus,
    /// SHA-256 of the canonical content below.
    pub hash: String,
    pub content: NoticeContent,
    /// The notice as Russian text (Markdown), item by item in the order of ст. 22 ч. 3.
    pub text: String,
    /// Items that differ from the filed version (empty unless `stale`).
    pub changed: Vec<ChangedItem>,
    /// What the policy does not state that an item needs.
    pub missing: Vec<MissingItem>,
    /// The filing last recorded.
    pub filed: Option<FiledNotice>,
}

/// A filing to record.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeFiling {
    /// The day the notice was filed (`YYYY-MM-DD`), not later than today.
    pub date: String,
    /// The number Roskomnadzor gave, if any.
    #[serde(default)]
    pub number: Option<String>,
}

impl Vault {
    /// The notice the policy gives now, its hash and its status against the last filing.
    pub async fn rkn_notice(&self) -> ServiceResult<RknNotice> {
        let filed = match self.store().meta(FILED_META_KEY).await? {
            None => None,
            Some(text) => Some(
                serde_json::from_str::<FiledRecord>(&text)
                    .map_err(|e| ServiceError::Integrity(format!("meta {FILED_META_KEY}: {e}")))?,
            ),
        };
        Ok(self.notice_against(filed))
    }

    fn notice_against(&self, filed: Option<FiledRecord>) -> RknNotice {
        let content = NoticeContent::from_policy(&self.policy().policy);
        let hash = content.hash();
        let (status, changed) = match &filed {
            None => (NoticeStatus::NeverFiled, Vec::new()),
            Some(f) if f.filing.hash == hash => (NoticeStatus::Current, Vec::new()),
            Some(f) => (NoticeStatus::Stale, content.changed_since(&f.content)),
        };
        RknNotice {
            status,
            hash,
            text: content.render(),
            missing: content.missing(),
            changed,
            filed: filed.map(|f| f.filing),
            content,
        }
    }

    /// Records that the notice as the policy states it now was filed on `input.date`; audited.
    pub async fn record_notice_filing(
        &self,
        actor: &Actor,
        input: NoticeFiling,
    ) -> ServiceResult<RknNotice> {
        let mut problems = Vec::new();
        let date = match input.date.trim().parse::<jiff::civil::Date>() {
            Ok(d) if d > self.today() => {
                problems.push(Problem::new(
                    "date",
                    "in_the_future",
                    format!("дата подачи {d} позже сегодняшнего дня"),
                ));
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                problems.push(Problem::new(
                    "date",
                    "invalid_date",
                    format!("«{}» — не дата ГГГГ-ММ-ДД", input.date),
                ));
                None
            }
        };
        let number = input
            .number
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty());
        if let Some(n) = number
            && (n.chars().count() > NUMBER_MAX || n.chars().any(char::is_control))
        {
            problems.push(Problem::new(
                "number",
                "invalid_number",
                format!("номер — одна строка не длиннее {NUMBER_MAX} знаков"),
            ));
        }
        let (Some(date), true) = (date, problems.is_empty()) else {
            return Err(ServiceError::Invalid(problems));
        };
        let content = NoticeContent::from_policy(&self.policy().policy);
        let record = FiledRecord {
            filing: FiledNotice {
                date: date.to_string(),
                number: number.map(str::to_string),
                hash: content.hash(),
                recorded_at: jiff::Timestamp::from_millisecond(self.now_ms())
                    .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
                    .to_string(),
            },
            content: serde_json::to_value(&content)
                .map_err(|e| ServiceError::Integrity(e.to_string()))?,
        };
        let text =
            serde_json::to_string(&record).map_err(|e| ServiceError::Integrity(e.to_string()))?;
        let mut tx = self.store().begin().await?;
        tx.set_meta(FILED_META_KEY, &text).await?;
        // The number is Roskomnadzor's, the hash identifies the content: neither is personal data.
        let event = self.security_event(
            &actor.name,
            "rkn.notice_filed",
            Outcome::Done,
            json!({
                "date": record.filing.date,
                "number": record.filing.number,
                "hash": record.filing.hash,
                "policy_version": self.policy().policy.policy.version.as_str(),
            }),
        );
        self.finish(tx, vec![event]).await?;
        Ok(self.notice_against(Some(record)))
    }
}
