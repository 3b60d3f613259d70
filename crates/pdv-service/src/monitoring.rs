//! What the vault tells monitoring about itself: gauges read from the store when a scraper asks,
//! never kept in memory, so that several servers on one database report the same numbers.

use crate::error::ServiceResult;
use crate::vault::Vault;

/// The vault's gauges at one moment.
///
/// This is the extension point for the gauges of later features: the retention backlog (issue 5)
/// becomes a field here, read by [`Vault::gauges`] from its store query, and `pdv-web`'s metrics
/// module renders every field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gauges {
    /// Events in the audit log.
    pub audit_chain_length: u64,
    /// Data subjects held.
    pub subjects: u64,
    /// Requests of the journal not yet answered or refused.
    pub requests_open: u64,
    /// Open requests past their due date (on the operator's calendar day, or instant for hour
    /// rules).
    pub requests_overdue: u64,
    /// Destroyed subjects (keys shredded) whose leftover ciphertext the sweep has not deleted
    /// yet: it should fall back to zero shortly after every destruction.
    pub sweep_backlog: u64,
    /// The ст. 22 notice needs filing: never recorded as filed, or the policy changed what the
    /// filed one states (see `rkn.rs`).
    pub rkn_notice_stale: bool,
    /// Incidents of the register not closed or dismissed.
    pub incidents_open: u64,
    /// Incidents with a notice to Roskomnadzor past its 24 or 72 hours (ст. 21 ч. 3.1).
    pub incidents_overdue: u64,
}

impl Vault {
    /// Reads the gauges from the store, outside any write transaction: a scrape neither waits
    /// for the writer lock nor is audited (it touches no subject's data).
    pub async fn gauges(&self) -> ServiceResult<Gauges> {
        let counts = self.store().counts().await?;
        let dues = self.store().open_request_dues().await?;
        let overdue = dues.iter().filter(|due| self.is_past_due(due)).count();
        let (incidents_open, incidents_overdue) = self.incident_gauges().await?;
        Ok(Gauges {
            audit_chain_length: counts.audit_events,
            subjects: counts.subjects,
            requests_open: dues.len() as u64,
            requests_overdue: overdue as u64,
            sweep_backlog: counts.sweep_backlog,
            rkn_notice_stale: self.rkn_notice().await?.status.needs_filing(),
            incidents_open,
            incidents_overdue,
        })
    }
}
