//! What the vault tells monitoring about itself: gauges read from the store when a scraper asks,
//! never kept in memory, so that several servers on one database report the same numbers.

use crate::error::ServiceResult;
use crate::vault::Vault;

/// The vault's gauges at one moment.
///
/// This is the extension point for the gauges of features not built yet: the request journal's
/// due and overdue counts (issue 4) and the retention backlog (issue 5) become fields here, read
/// by [`Vault::gauges`] from their store queries, and `pdv-web`'s metrics module renders every
/// field. Until those features exist, there is nothing honest to report for them, so there are
/// no such fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gauges {
    /// Events in the audit log.
    pub audit_chain_length: u64,
    /// Data subjects held.
    pub subjects: u64,
}

impl Vault {
    /// Reads the gauges from the store, outside any write transaction: a scrape neither waits
    /// for the writer lock nor is audited (it touches no subject's data).
    pub async fn gauges(&self) -> ServiceResult<Gauges> {
        let counts = self.store().counts().await?;
        Ok(Gauges {
            audit_chain_length: counts.audit_events,
            subjects: counts.subjects,
        })
    }
}
