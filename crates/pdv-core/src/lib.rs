//! Domain and legal rules of pdvault.
//!
//! This crate owns everything that can be decided without touching the outside world: the
//! operator's policy model (parsed from TOML), the legal tables with their norms, personal-data
//! field types, consents, the purpose check and the audit chain. It performs no IO, reads no
//! clock and spawns nothing: callers pass time in, so every function here is deterministic and
//! cannot fail for environmental reasons.

pub mod access;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod consent;
pub mod deadline;
pub mod depersonalise;
pub mod field;
pub mod identifier;
pub mod ids;
pub mod incident;
pub mod law;
pub mod operation;
pub mod policy;
pub mod request;
pub mod requisites;
pub mod retention;
pub mod rkn_notice;
pub mod transfer;

pub use ids::{BlockId, ConsentId, ContractId, RecordId, SubjectId, TransferId};
pub use operation::Operation;
pub use policy::Policy;
