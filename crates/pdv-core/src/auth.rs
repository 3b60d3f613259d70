//! Who may do what: staff roles, integration keys, the permissions each role carries, the
//! purpose and category scope of an integration key, and the lock-out rule for password guessing.
//!
//! This is the one table of authorisation. The HTTP layer maps each endpoint to a
//! [`Permission`]; [`Role::allows`] decides; the service enforces a key's [`Scope`] inside the
//! commands that touch personal data. Keeping the table here, pure, lets a test print and check
//! the whole matrix.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A role held by a staff account or an integration key.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages accounts and keys and checks the audit log. Sees no personal data: the people
    /// who run the system are not the people who use the data (separation of duties).
    Administrator,
    /// The person responsible for organising personal-data processing (ст. 22.1 152-ФЗ): every
    /// processing operation, lifting blocks, issuing integration keys.
    ResponsiblePerson,
    /// A contact-centre agent: registers subjects, their data, consents and requests.
    Agent,
    /// Read-only: the audit log, subject files without data values, consent evidence.
    Auditor,
    /// A program (site, CRM, delivery service) acting through an API key limited to purposes.
    Integration,
    /// A monitoring system (Prometheus) acting through an API key: reads the service's metrics
    /// and nothing else. A scraper needs a long-lived credential that works without a person
    /// logging in; an administrator's or auditor's key would carry far more than it needs.
    Monitoring,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Administrator,
        Role::ResponsiblePerson,
        Role::Agent,
        Role::Auditor,
        Role::Integration,
        Role::Monitoring,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::ResponsiblePerson => "responsible_person",
            Role::Agent => "agent",
            Role::Auditor => "auditor",
            Role::Integration => "integration",
            Role::Monitoring => "monitoring",
        }
    }

    /// The role's name for documents and messages.
    pub fn title(self) -> &'static str {
        match self {
            Role::Administrator => "администратор",
            Role::ResponsiblePerson => "ответственный за организацию обработки ПДн",
            Role::Agent => "оператор контакт-центра",
            Role::Auditor => "аудитор",
            Role::Integration => "интеграция",
            Role::Monitoring => "мониторинг",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Roles a person can hold; [`Role::Integration`] and [`Role::Monitoring`] belong to API keys
    /// only.
    pub fn is_staff(self) -> bool {
        !self.is_key_role()
    }

    /// Roles an API key can carry.
    pub fn is_key_role(self) -> bool {
        matches!(self, Role::Integration | Role::Monitoring)
    }

    /// Whether the role carries `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission as P;
        use Role as R;
        match permission {
            P::CreateSubject | P::FindSubjects | P::AddRecord | P::ReadData => {
                matches!(self, R::ResponsiblePerson | R::Agent | R::Integration)
            }
            P::RecordConsent | P::WithdrawConsent | P::ManageContracts => {
                matches!(self, R::ResponsiblePerson | R::Agent | R::Integration)
            }
            P::ViewSubject | P::ViewConsentEvidence => {
                matches!(self, R::ResponsiblePerson | R::Agent | R::Auditor)
            }
            P::PlaceBlock => matches!(self, R::ResponsiblePerson | R::Agent),
            P::LiftBlock => self == R::ResponsiblePerson,
            P::VerifyAudit => matches!(self, R::Administrator | R::ResponsiblePerson | R::Auditor),
            P::ManageUsers => self == R::Administrator,
            P::ManageKeys => matches!(self, R::Administrator | R::ResponsiblePerson),
            // Request counts, latencies and the number of subjects and audit events: no personal
            // data, but a picture of the operator's activity, so not public. Those who run the
            // system (administrator), those who check it (auditor) and the scraper's key.
            P::ViewMetrics => matches!(self, R::Administrator | R::Auditor | R::Monitoring),
            // Requests arrive by every channel: the contact centre registers calls and letters,
            // the site's integration forwards its form; the responsible person works them
            // (ст. 22.1), and the auditor checks the journal.
            P::ReceiveRequest => {
                matches!(self, R::ResponsiblePerson | R::Agent | R::Integration)
            }
            P::ViewRequests => matches!(self, R::ResponsiblePerson | R::Agent | R::Auditor),
            P::WorkRequests => self == R::ResponsiblePerson,
            // The mail or SMS integration delivers answers and notices; the responsible person
            // can look at what waits.
            P::ManageOutbox => matches!(self, R::ResponsiblePerson | R::Integration),
            // Acts name the subjects whose data were destroyed: the responsible person who signs
            // them and the auditor who checks them; the plan shows the same people's future.
            P::ViewActs => matches!(self, R::ResponsiblePerson | R::Auditor),
            // Destruction is irreversible: only the responsible person orders a run by hand (the
            // scheduler inside `pdv serve` and `pdv retention run` act for the operator).
            P::RunRetention => self == R::ResponsiblePerson,
            // The register of processors and recipients, and the ст. 22 notice, hold no personal
            // data; staff who transfer, check or run the system read them.
            P::ViewRegister => !matches!(self, R::Monitoring),
            // A transfer hands decrypted data to a third party: those who may read data for a
            // purpose (the contact centre arranging a delivery, the CRM's integration), never
            // the administrator or the auditor.
            P::TransferData => {
                matches!(self, R::ResponsiblePerson | R::Agent | R::Integration)
            }
            // Incidents are registered by whoever finds them among staff, and worked and
            // notified by the responsible person (ст. 21 ч. 3.1); the auditor checks them.
            P::ViewIncidents => {
                matches!(
                    self,
                    R::ResponsiblePerson | R::Agent | R::Administrator | R::Auditor
                )
            }
            P::ReportIncident => matches!(self, R::ResponsiblePerson | R::Agent | R::Administrator),
            P::ManageIncidents => self == R::ResponsiblePerson,
            // Recording that the ст. 22 notice was filed with Roskomnadzor.
            P::FileNotice => self == R::ResponsiblePerson,
            P::OwnSession => true,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing an authenticated caller may be allowed to do; every endpoint but the public ones
/// names exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    CreateSubject,
    FindSubjects,
    /// A subject's file without data values.
    ViewSubject,
    AddRecord,
    /// Personal data values, for a stated purpose.
    ReadData,
    RecordConsent,
    WithdrawConsent,
    ViewConsentEvidence,
    ManageContracts,
    PlaceBlock,
    LiftBlock,
    VerifyAudit,
    ManageUsers,
    ManageKeys,
    /// The Prometheus metrics of the service.
    ViewMetrics,
    /// Entering a subject's request in the journal.
    ReceiveRequest,
    /// Reading the journal, requester details included.
    ViewRequests,
    /// Taking steps on a request: identity check, extension, answer, refusal.
    WorkRequests,
    /// Reading the outbox and reporting deliveries.
    ManageOutbox,
    /// Reading destruction acts (Приказ РКН № 179) and the retention plan.
    ViewActs,
    /// Running the retention rules: destroying what is due, with an act.
    RunRetention,
    /// Reading the register of processors and recipients, and the ст. 22 notice.
    ViewRegister,
    /// Providing a subject's data to a processor or recipient (seed 4.4–4.8).
    TransferData,
    /// Reading incidents and their timers (ст. 21 ч. 3.1).
    ViewIncidents,
    /// Registering an incident.
    ReportIncident,
    /// Working an incident: its investigation, notices sent, closing it.
    ManageIncidents,
    /// Recording the filing of the ст. 22 notice.
    FileNotice,
    /// Looking at and ending one's own session.
    OwnSession,
}

impl Permission {
    pub const ALL: [Permission; 28] = [
        Permission::CreateSubject,
        Permission::FindSubjects,
        Permission::ViewSubject,
        Permission::AddRecord,
        Permission::ReadData,
        Permission::RecordConsent,
        Permission::WithdrawConsent,
        Permission::ViewConsentEvidence,
        Permission::ManageContracts,
        Permission::PlaceBlock,
        Permission::LiftBlock,
        Permission::VerifyAudit,
        Permission::ManageUsers,
        Permission::ManageKeys,
        Permission::ViewMetrics,
        Permission::ReceiveRequest,
        Permission::ViewRequests,
        Permission::WorkRequests,
        Permission::ManageOutbox,
        Permission::ViewActs,
        Permission::RunRetention,
        Permission::ViewRegister,
        Permission::TransferData,
        Permission::ViewIncidents,
        Permission::ReportIncident,
        Permission::ManageIncidents,
        Permission::FileNotice,
        Permission::OwnSession,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::CreateSubject => "create_subject",
            Permission::FindSubjects => "find_subjects",
            Permission::ViewSubject => "view_subject",
            Permission::AddRecord => "add_record",
            Permission::ReadData => "read_data",
            Permission::RecordConsent => "record_consent",
            Permission::WithdrawConsent => "withdraw_consent",
            Permission::ViewConsentEvidence => "view_consent_evidence",
            Permission::ManageContracts => "manage_contracts",
            Permission::PlaceBlock => "place_block",
            Permission::LiftBlock => "lift_block",
            Permission::VerifyAudit => "verify_audit",
            Permission::ManageUsers => "manage_users",
            Permission::ManageKeys => "manage_keys",
            Permission::ViewMetrics => "view_metrics",
            Permission::ReceiveRequest => "receive_request",
            Permission::ViewRequests => "view_requests",
            Permission::WorkRequests => "work_requests",
            Permission::ManageOutbox => "manage_outbox",
            Permission::ViewActs => "view_acts",
            Permission::RunRetention => "run_retention",
            Permission::ViewRegister => "view_register",
            Permission::TransferData => "transfer_data",
            Permission::ViewIncidents => "view_incidents",
            Permission::ReportIncident => "report_incident",
            Permission::ManageIncidents => "manage_incidents",
            Permission::FileNotice => "file_notice",
            Permission::OwnSession => "own_session",
        }
    }
}

/// The personal data an integration key may touch. Staff accounts are unrestricted here: their
/// limits are their role and the purpose check that applies to everyone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scope {
    /// Purposes the key may process data for; `None` means any purpose.
    pub purposes: Option<BTreeSet<String>>,
    /// Categories the key may touch; `None` means whatever its purposes allow.
    pub categories: Option<BTreeSet<String>>,
}

/// Why a key's scope refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeDenial {
    Purpose(String),
    Category(String),
}

impl ScopeDenial {
    pub fn code(&self) -> &'static str {
        match self {
            ScopeDenial::Purpose(_) => "key_purpose_not_allowed",
            ScopeDenial::Category(_) => "key_category_not_allowed",
        }
    }

    pub fn message(&self) -> String {
        match self {
            ScopeDenial::Purpose(p) => {
                format!(
                    "ключ доступа не выдан для цели «{p}»: обработка для неё этим ключом запрещена"
                )
            }
            ScopeDenial::Category(c) => {
                format!("ключ доступа не выдан для категории «{c}»: эти данные ему недоступны")
            }
        }
    }
}

impl Scope {
    /// No limits: staff accounts and the command line.
    pub fn unrestricted() -> Scope {
        Scope::default()
    }

    pub fn is_unrestricted(&self) -> bool {
        self.purposes.is_none() && self.categories.is_none()
    }

    pub fn check_purpose(&self, purpose: &str) -> Result<(), ScopeDenial> {
        match &self.purposes {
            Some(allowed) if !allowed.contains(purpose) => {
                Err(ScopeDenial::Purpose(purpose.to_string()))
            }
            _ => Ok(()),
        }
    }

    pub fn check_category(&self, category: &str) -> Result<(), ScopeDenial> {
        match &self.categories {
            Some(allowed) if !allowed.contains(category) => {
                Err(ScopeDenial::Category(category.to_string()))
            }
            _ => Ok(()),
        }
    }

    /// Narrows a list of categories to those the scope allows, keeping their order.
    pub fn narrow(&self, categories: Vec<String>) -> Vec<String> {
        match &self.categories {
            None => categories,
            Some(allowed) => categories
                .into_iter()
                .filter(|c| allowed.contains(c))
                .collect(),
        }
    }
}

/// Checks a staff login: 3 to 64 characters of Latin letters, digits, `.`, `_` and `-`,
/// starting with a letter. Logins appear in the audit log, so they are kept plain and stable.
pub fn check_login(login: &str) -> Result<(), String> {
    let ok_len = (3..=64).contains(&login.len());
    let ok_start = login.starts_with(|c: char| c.is_ascii_lowercase());
    let ok_chars = login
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok_len && ok_start && ok_chars {
        Ok(())
    } else {
        Err(format!(
            "логин «{login}» недопустим: от 3 до 64 символов — строчные латинские буквы, цифры, «.», «_», «-», первая — буква"
        ))
    }
}

/// The shortest password accepted for a staff account.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Checks a new password: long enough and not the login itself.
pub fn check_password(login: &str, password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "пароль слишком короткий: нужно не меньше {MIN_PASSWORD_CHARS} символов"
        ));
    }
    if password.to_lowercase().contains(&login.to_lowercase()) {
        return Err("пароль не должен содержать логин".into());
    }
    Ok(())
}

/// How failed logins are answered: slowed after a few, then the account locks for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRule {
    /// Failures in a row after which each further failure is answered more slowly.
    pub slow_after: u32,
    /// The extra wait per failure beyond `slow_after`, in milliseconds.
    pub slow_step_ms: u64,
    /// Failures in a row that lock the account.
    pub lock_after: u32,
    /// How long a locked account stays locked, in milliseconds.
    pub lock_ms: i64,
}

impl LockoutRule {
    pub const STANDARD: LockoutRule = LockoutRule {
        slow_after: 2,
        slow_step_ms: 1_000,
        lock_after: 5,
        lock_ms: 15 * 60 * 1_000,
    };

    /// The wait before answering the `failures`-th failure in a row.
    pub fn delay_ms(&self, failures: u32) -> u64 {
        u64::from(failures.saturating_sub(self.slow_after)) * self.slow_step_ms
    }

    /// Until when the account is locked after `failures` failures in a row at `now_ms`.
    pub fn locked_until(&self, failures: u32, now_ms: i64) -> Option<i64> {
        (failures >= self.lock_after).then_some(now_ms + self.lock_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(!Role::Integration.is_staff());
        assert!(!Role::Monitoring.is_staff());
        assert!(Role::Monitoring.is_key_role());
        assert!(!Role::Auditor.is_key_role());
    }

    #[test]
    fn a_monitoring_key_sees_metrics_and_nothing_else() {
        for p in Permission::ALL {
            let expected = matches!(p, Permission::ViewMetrics | Permission::OwnSession);
            assert_eq!(Role::Monitoring.allows(p), expected, "{p:?}");
        }
        let may_scrape: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.allows(Permission::ViewMetrics))
            .collect();
        assert_eq!(
            may_scrape,
            [Role::Administrator, Role::Auditor, Role::Monitoring]
        );
    }

    #[test]
    fn administrators_see_no_personal_data() {
        assert!(!Role::Administrator.allows(Permission::ReadData));
        assert!(!Role::Administrator.allows(Permission::ViewSubject));
        assert!(Role::Administrator.allows(Permission::ManageUsers));
    }

    #[test]
    fn auditors_only_read() {
        for p in [
            Permission::CreateSubject,
            Permission::AddRecord,
            Permission::ReadData,
            Permission::RecordConsent,
            Permission::WithdrawConsent,
            Permission::ManageContracts,
            Permission::PlaceBlock,
            Permission::LiftBlock,
            Permission::ManageUsers,
            Permission::ManageKeys,
        ] {
            assert!(!Role::Auditor.allows(p), "{p:?}");
        }
        assert!(Role::Auditor.allows(Permission::VerifyAudit));
    }

    #[test]
    fn only_the_responsible_person_lifts_blocks() {
        for r in Role::ALL {
            assert_eq!(
                r.allows(Permission::LiftBlock),
                r == Role::ResponsiblePerson,
                "{r}"
            );
        }
    }

    #[test]
    fn scope_limits_purposes_and_categories() {
        let scope = Scope {
            purposes: Some(["order".to_string(), "delivery".to_string()].into()),
            categories: Some(["contacts".to_string()].into()),
        };
        assert!(scope.check_purpose("order").is_ok());
        assert_eq!(
            scope.check_purpose("marketing"),
            Err(ScopeDenial::Purpose("marketing".into()))
        );
        assert!(scope.check_category("contacts").is_ok());
        assert_eq!(
            scope
                .check_category("marketing_profile")
                .unwrap_err()
                .code(),
            "key_category_not_allowed"
        );
        assert_eq!(
            scope.narrow(vec!["a".into(), "contacts".into()]),
            vec!["contacts".to_string()]
        );
        assert!(Scope::unrestricted().check_purpose("anything").is_ok());
    }

    #[test]
    fn logins_are_plain() {
        assert!(check_login("ivanova.a").is_ok());
        assert!(check_login("ab").is_err());
        assert!(check_login("Ivanova").is_err());
        assert!(check_login("1admin").is_err());
        assert!(check_login("x'; drop table users; --").is_err());
    }

    #[test]
    fn passwords_are_long_and_do_not_contain_the_login() {
        assert!(check_password("ivanova", "короткий").is_err());
        assert!(check_password("ivanova", "my-ivanova-password").is_err());
        assert!(check_password("ivanova", "длинный пароль 2026").is_ok());
    }

    #[test]
    fn failures_slow_down_then_lock() {
        let rule = LockoutRule::STANDARD;
        assert_eq!(rule.delay_ms(1), 0);
        assert_eq!(rule.delay_ms(2), 0);
        assert_eq!(rule.delay_ms(3), 1_000);
        assert_eq!(rule.delay_ms(4), 2_000);
        assert_eq!(rule.locked_until(4, 0), None);
        assert_eq!(rule.locked_until(5, 10), Some(10 + 15 * 60 * 1_000));
    }
}
