//! Use cases of pdvault: what integrations, staff and the CLI can do with personal data.
//!
//! Each command runs in one store transaction: it checks the request against the policy, makes
//! its change, appends its audit events and seals the audit head, then commits, so a change never
//! exists without its audit record. Plaintext personal data exists only inside these call frames:
//! values are encrypted with the subject's data key before they reach the store and decrypted
//! only to answer a request whose purpose was allowed.

mod access;
pub mod acts;
mod anchors;
mod answer;
mod audit_log;
mod backup;
mod clock;
mod demo;
mod depersonalise;
mod error;
mod incidents;
mod journal;
mod keys;
mod monitoring;
mod outbox;
mod rectify;
mod retained;
mod retention;
mod rkn;
mod sealed;
mod sweep;
mod transfers;
mod vault;
mod views;

pub use access::*;
pub use anchors::{AnchorView, NewAnchor};
pub use answer::{AccessAnswer, AnswerParty, AnswerPurpose, AnswerRecord, AnswerTransfer};
pub use audit_log::AuditReport;
pub use backup::{ArchiveInfo, ArchiveKind, BackupSummary, RestoreSummary, ShredReport};
pub use clock::{Clock, FixedClock, SystemClock};
pub use demo::DemoSummary;
pub use depersonalise::{
    DepersonalisationReport, DepersonaliseRequest, DepersonalisedExport, K_NOT_REACHED,
};
pub use error::{Problem, ServiceError, ServiceResult};
pub use incidents::{
    IncidentEntryView, IncidentFilter, IncidentStep, IncidentView, NoticeDraft, NoticeView,
    TimerView,
};
pub use journal::{
    EntryView, MissingView, NewRequest, RequestFilter, RequestStep, RequestView, Requester,
};
pub use monitoring::Gauges;
pub use outbox::{DeliveryReport, MessageView};
pub use rectify::{Rectification, Rectified};
pub use retained::{RetainedGroup, RetainedReport};
pub use retention::{
    DEFAULT_BATCH, PLAN_PAGE_MAX, PlanQuery, RetentionReport, RunProblem, RunReport, SubjectPlan,
};
pub use rkn::{FILED_META_KEY, FiledNotice, NoticeFiling, NoticeStatus, RknNotice};
pub use sweep::{
    DEFAULT_SWEEP_BATCH, DEFAULT_SWEEP_PAUSE, DEFAULT_SWEEP_SHARE_PERMILLE, SweepReport,
    SweepSettings,
};
pub use transfers::{
    NewTransfer, RecipientWithdrawal, RecipientsWithdrawn, RegisterEntry, TransferEntry,
    TransferMade,
};
pub use vault::*;
pub use views::*;
