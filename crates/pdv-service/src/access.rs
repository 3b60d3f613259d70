//! Who is calling: staff logins and sessions, integration API keys, the role check for each
//! request, and the management of accounts and keys. Every refusal here is audited.
//!
//! Tokens are bearer strings with a readable prefix: `pdvs_…` for a staff session and
//! `pdvk_<key id>_…` for an API key. Only their SHA-256 is stored. Password checks run on the
//! blocking pool, outside any write transaction, because Argon2id is slow on purpose.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use pdv_core::audit::{AuditRecord, Outcome, canonical_details};
use pdv_core::auth::{self, LockoutRule, Permission, Role, Scope};
use pdv_crypto::secret::{self, PasswordCost};
use pdv_store::{ApiKeyRow, SessionRow, StoreError, UserRow};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Problem, ServiceError, ServiceResult};
use crate::vault::Vault;
use crate::views::Actor;

const SESSION_PREFIX: &str = "pdvs_";
const KEY_PREFIX: &str = "pdvk_";

/// Settings of authentication; [`AuthSettings::default`] is what production runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthSettings {
    pub password_cost: PasswordCost,
    pub lockout: LockoutRule,
    /// How long a staff session lasts from login, in milliseconds.
    pub session_ttl_ms: i64,
}

impl Default for AuthSettings {
    fn default() -> AuthSettings {
        AuthSettings {
            password_cost: PasswordCost::STANDARD,
            lockout: LockoutRule::STANDARD,
            session_ttl_ms: 8 * 60 * 60 * 1_000,
        }
    }
}

impl AuthSettings {
    /// Cheap hashing and no waiting, for tests.
    pub fn for_tests() -> AuthSettings {
        AuthSettings {
            password_cost: PasswordCost::FAST,
            lockout: LockoutRule {
                slow_step_ms: 0,
                ..LockoutRule::STANDARD
            },
            ..AuthSettings::default()
        }
    }
}

/// What kind of credential a caller presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    Staff,
    ApiKey,
}

/// An authenticated caller: a staff member in a session, or an integration with its key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// The account's or the key's id.
    pub id: Uuid,
    /// The login, or the key's name.
    pub name: String,
    pub role: Role,
    pub role_title: &'static str,
    pub scope: Scope,
    /// When the session or key stops working, if ever.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<jiff::Timestamp>,
    #[serde(skip)]
    session: Option<[u8; 32]>,
}

impl Principal {
    /// The name the audit log knows this caller by: never a person's name, only a login or id.
    pub fn audit_name(&self) -> String {
        match self.kind {
            PrincipalKind::Staff => format!("user:{}", self.name),
            PrincipalKind::ApiKey => format!("key:{}", self.id.simple()),
        }
    }

    /// The actor for a command run on this caller's behalf, carrying its scope.
    pub fn actor(&self) -> Actor {
        Actor::new(self.audit_name()).with_scope(self.scope.clone())
    }

    pub fn allows(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }
}

/// A staff account as shown to administrators; never the password hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub login: String,
    pub full_name: String,
    pub role: Role,
    pub role_title: &'static str,
    pub failed_logins: u32,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub locked_until: Option<jiff::Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub disabled_at: Option<jiff::Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub login: String,
    pub full_name: String,
    /// `administrator`, `responsible_person`, `agent` or `auditor`.
    pub role: String,
    /// A password of at least 12 characters; one is generated when absent.
    #[serde(default)]
    pub password: Option<String>,
}

/// A created account; `password` is set only when it was generated, and is shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserCreated {
    pub user: UserView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// A change of an account's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserChange {
    /// The account can no longer log in; its sessions end at once.
    Disable,
    Enable,
    /// Clears a lock-out after failed logins.
    Unlock,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub login: String,
    pub password: String,
}

/// A new staff session; the token is shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionIssued {
    pub token: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: jiff::Timestamp,
    pub user: UserView,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// Whose key it is, e.g. «Сайт» or «Служба доставки».
    pub name: String,
    /// `integration` (default) processes data for its purposes; `monitoring` only reads metrics.
    #[serde(default = "integration")]
    pub role: String,
    /// The purposes an `integration` key may process data for; empty for `monitoring`.
    #[serde(default)]
    pub purposes: Vec<String>,
    /// Limits the key further to these categories; all its purposes allow when empty.
    #[serde(default)]
    pub categories: Vec<String>,
    /// The last day the key works (operator's calendar); no end when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub valid_until: Option<jiff::civil::Date>,
}

fn integration() -> String {
    Role::Integration.as_str().into()
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub purposes: Vec<String>,
    pub categories: Vec<String>,
    pub created_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<jiff::Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<jiff::Timestamp>,
    pub active: bool,
}

/// A created key; the secret is shown this once and cannot be recovered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyIssued {
    pub key: ApiKeyView,
    pub secret: String,
}

fn ts(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn role_of(stored: &str) -> ServiceResult<Role> {
    Role::parse(stored).ok_or_else(|| ServiceError::Integrity(format!("unknown role {stored:?}")))
}

fn user_view(u: &UserRow) -> ServiceResult<UserView> {
    let role = role_of(&u.role)?;
    Ok(UserView {
        id: u.id,
        login: u.login.clone(),
        full_name: u.full_name.clone(),
        role,
        role_title: role.title(),
        failed_logins: u.failed_logins,
        locked_until: u.locked_until_ms.map(ts),
        disabled_at: u.disabled_at_ms.map(ts),
        created_at: ts(u.created_at_ms),
    })
}

fn key_view(k: &ApiKeyRow, now_ms: i64) -> ApiKeyView {
    ApiKeyView {
        id: k.id,
        name: k.name.clone(),
        role: k.role.clone(),
        purposes: k.purposes.clone(),
        categories: k.categories.clone(),
        created_by: k.created_by.clone(),
        created_at: ts(k.created_at_ms),
        expires_at: k.expires_at_ms.map(ts),
        revoked_at: k.revoked_at_ms.map(ts),
        active: k.revoked_at_ms.is_none() && k.expires_at_ms.is_none_or(|e| e > now_ms),
    }
}

fn unauthenticated(code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::Unauthenticated {
        code,
        message: message.into(),
    }
}

fn invalid_token() -> ServiceError {
    unauthenticated(
        "invalid_token",
        "токен доступа не распознан: войдите заново или проверьте ключ API",
    )
}

/// Runs Argon2id on the blocking pool so that a slow hash does not stall other requests.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Parses `pdvk_<32 hex>_<secret>` into the key id.
fn key_id_of(token: &str) -> Option<Uuid> {
    let rest = token.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() != 32 || secret.is_empty() {
        return None;
    }
    Uuid::try_parse(id).ok()
}

impl Vault {
    /// An audit event that processes no subject's data (logins, keys, backups): no operation.
    pub(crate) fn security_event(
        &self,
        actor: &str,
        action: &str,
        outcome: Outcome,
        details: serde_json::Value,
    ) -> AuditRecord {
        AuditRecord {
            at_ms: self.now_ms(),
            actor: actor.to_string(),
            action: action.to_string(),
            operation: None,
            purpose: None,
            subject: None,
            outcome,
            details: canonical_details(&details),
        }
    }

    /// Commits one security event on its own.
    async fn log_security(&self, event: AuditRecord) -> ServiceResult<()> {
        let tx = self.store().begin().await?;
        self.finish(tx, vec![event]).await
    }

    fn dummy_hash(&self) -> String {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let cost = self.auth_settings().password_cost;
        DUMMY
            .get_or_init(|| secret::dummy_password_hash(cost))
            .clone()
    }

    /// Identifies the caller behind a bearer token. A presented but wrong, expired or revoked
    /// credential is audited before the refusal.
    pub async fn authenticate(&self, token: &str) -> ServiceResult<Principal> {
        let now = self.now_ms();
        let result = if token.starts_with(SESSION_PREFIX) {
            self.session_principal(token, now).await
        } else if token.starts_with(KEY_PREFIX) {
            self.key_principal(token, now).await
        } else {
            Err(invalid_token())
        };
        if let Err(ServiceError::Unauthenticated { code, .. }) = &result {
            let credential = if token.starts_with(KEY_PREFIX) {
                json!({ "credential": "api_key", "key": key_id_of(token).map(|k| k.simple().to_string()) })
            } else {
                json!({ "credential": "session" })
            };
            let mut details = credential;
            details["code"] = json!(code);
            self.log_security(self.security_event(
                "anonymous",
                "auth.denied",
                Outcome::Denied,
                details,
            ))
            .await?;
        }
        result
    }

    async fn session_principal(&self, token: &str, now: i64) -> ServiceResult<Principal> {
        let hash = secret::token_hash(token);
        let Some(session) = self.store().session(&hash).await? else {
            return Err(invalid_token());
        };
        if session.expires_at_ms <= now {
            return Err(unauthenticated(
                "session_expired",
                "сеанс истёк: войдите заново",
            ));
        }
        let Some(user) = self.store().user(session.user_id).await? else {
            return Err(invalid_token());
        };
        if user.disabled_at_ms.is_some() {
            return Err(unauthenticated(
                "account_disabled",
                "учётная запись отключена администратором",
            ));
        }
        let role = role_of(&user.role)?;
        Ok(Principal {
            kind: PrincipalKind::Staff,
            id: user.id,
            name: user.login,
            role,
            role_title: role.title(),
            scope: Scope::unrestricted(),
            expires_at: Some(ts(session.expires_at_ms)),
            session: Some(hash),
        })
    }

    async fn key_principal(&self, token: &str, now: i64) -> ServiceResult<Principal> {
        let Some(id) = key_id_of(token) else {
            return Err(invalid_token());
        };
        let Some(key) = self.store().api_key(id).await? else {
            return Err(invalid_token());
        };
        if !secret::hashes_equal(&secret::token_hash(token), &key.secret_hash) {
            return Err(invalid_token());
        }
        if key.revoked_at_ms.is_some() {
            return Err(unauthenticated("key_revoked", "ключ API отозван"));
        }
        if key.expires_at_ms.is_some_and(|e| e <= now) {
            return Err(unauthenticated(
                "key_expired",
                "срок действия ключа API истёк",
            ));
        }
        let role = role_of(&key.role)?;
        let categories = (!key.categories.is_empty()).then(|| key.categories.into_iter().collect());
        Ok(Principal {
            kind: PrincipalKind::ApiKey,
            id: key.id,
            name: key.name,
            role,
            role_title: role.title(),
            scope: Scope {
                purposes: Some(key.purposes.into_iter().collect()),
                categories,
            },
            expires_at: key.expires_at_ms.map(ts),
            session: None,
        })
    }

    /// Audits a request refused because its address made too many attempts (the HTTP layer's
    /// rate limit on logins). The address itself is not written: a staff member's IP address is
    /// personal data, and the audit log holds no values. The HTTP layer calls this once per run
    /// of refusals, not for each, so that a flood of requests is not also a flood of writes.
    pub async fn audit_rate_limited(&self, endpoint: &str) -> ServiceResult<()> {
        self.log_security(self.security_event(
            "anonymous",
            "auth.denied",
            Outcome::Denied,
            json!({ "code": "too_many_requests", "endpoint": endpoint }),
        ))
        .await
    }

    /// Checks that the caller's role carries `permission` for `endpoint`; a refusal is audited.
    pub async fn authorize(
        &self,
        who: &Principal,
        permission: Permission,
        endpoint: &str,
    ) -> ServiceResult<()> {
        if who.allows(permission) {
            return Ok(());
        }
        self.log_security(self.security_event(
            &who.audit_name(),
            "access.denied",
            Outcome::Denied,
            json!({ "permission": permission.as_str(), "endpoint": endpoint, "role": who.role.as_str() }),
        ))
        .await?;
        Err(ServiceError::Forbidden {
            code: "role_not_allowed",
            message: format!(
                "роль «{}» не даёт права на это действие ({})",
                who.role.title(),
                permission.as_str()
            ),
        })
    }

    /// Logs a staff member in. Failures are audited, answered more slowly after a few, and lock
    /// the account after [`LockoutRule::lock_after`] in a row.
    pub async fn login(&self, credentials: Credentials) -> ServiceResult<SessionIssued> {
        let settings = self.auth_settings();
        let rule = settings.lockout;
        let now = self.now_ms();
        let found = {
            let mut tx = self.store().begin().await?;
            tx.user_by_login(&credentials.login).await?
        };
        let Some(user) = found else {
            // Spend the same time as for a wrong password, so logins cannot be probed by timing.
            let dummy = self.dummy_hash();
            let password = credentials.password;
            blocking(move || secret::verify_password(&password, &dummy)).await;
            self.log_security(self.security_event(
                "anonymous",
                "auth.login",
                Outcome::Denied,
                json!({ "code": "invalid_credentials" }),
            ))
            .await?;
            return Err(bad_credentials());
        };
        let actor = format!("user:{}", user.login);
        if let Some(until) = user.locked_until_ms.filter(|u| *u > now) {
            self.log_security(self.security_event(
                &actor,
                "auth.login",
                Outcome::Denied,
                json!({ "code": "account_locked" }),
            ))
            .await?;
            return Err(locked(until, self));
        }
        let phc = user.password_hash.clone();
        let password = credentials.password;
        let ok = blocking(move || secret::verify_password(&password, &phc)).await;
        // A disabled account says so only to someone who knows its password, so that the state
        // of accounts cannot be probed with logins alone.
        if user.disabled_at_ms.is_some() {
            let code = if ok {
                "account_disabled"
            } else {
                "invalid_credentials"
            };
            self.log_security(self.security_event(
                &actor,
                "auth.login",
                Outcome::Denied,
                json!({ "code": code }),
            ))
            .await?;
            return Err(if ok {
                unauthenticated(
                    "account_disabled",
                    "учётная запись отключена администратором",
                )
            } else {
                bad_credentials()
            });
        }

        let mut tx = self.store().begin().await?;
        let Some(mut user) = tx.user_by_login(&user.login).await? else {
            return Err(bad_credentials());
        };
        // A lock that has run out starts the count afresh.
        if user.locked_until_ms.is_some_and(|u| u <= now) {
            user.failed_logins = 0;
            user.locked_until_ms = None;
        }
        if !ok {
            user.failed_logins += 1;
            user.locked_until_ms = rule.locked_until(user.failed_logins, now);
            tx.update_user(&user).await?;
            let code = if user.locked_until_ms.is_some() {
                "account_locked"
            } else {
                "invalid_credentials"
            };
            let event = self.security_event(
                &actor,
                "auth.login",
                Outcome::Denied,
                json!({ "code": code, "failed_logins": user.failed_logins }),
            );
            self.finish(tx, vec![event]).await?;
            let delay = rule.delay_ms(user.failed_logins);
            if delay > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
            }
            return Err(match user.locked_until_ms {
                Some(until) => locked(until, self),
                None => bad_credentials(),
            });
        }
        user.failed_logins = 0;
        user.locked_until_ms = None;
        tx.update_user(&user).await?;
        tx.delete_expired_sessions(now).await?;
        let token = secret::new_token(SESSION_PREFIX);
        let expires_at_ms = now + settings.session_ttl_ms;
        tx.insert_session(&SessionRow {
            token_hash: secret::token_hash(&token),
            user_id: user.id,
            created_at_ms: now,
            expires_at_ms,
        })
        .await?;
        let event = self.security_event(
            &actor,
            "auth.login",
            Outcome::Done,
            json!({ "expires_at_ms": expires_at_ms }),
        );
        self.finish(tx, vec![event]).await?;
        Ok(SessionIssued {
            token,
            expires_at: ts(expires_at_ms),
            user: user_view(&user)?,
        })
    }

    /// Ends the caller's own session; an API key has none to end.
    pub async fn logout(&self, who: &Principal) -> ServiceResult<()> {
        let Some(hash) = who.session else {
            return Err(ServiceError::invalid(
                "authorization",
                "not_a_session",
                "выход возможен только из сеанса сотрудника; ключ API отзывают командой pdv keys revoke",
            ));
        };
        let mut tx = self.store().begin().await?;
        tx.delete_session(&hash).await?;
        let event = self.security_event(&who.audit_name(), "auth.logout", Outcome::Done, json!({}));
        self.finish(tx, vec![event]).await
    }

    /// Creates a staff account. Without a password, a random one is generated and returned once.
    pub async fn add_user(&self, actor: &Actor, input: NewUser) -> ServiceResult<UserCreated> {
        let mut problems = Vec::new();
        if let Err(m) = auth::check_login(&input.login) {
            problems.push(Problem::new("login", "invalid_login", m));
        }
        let full_name = input.full_name.trim().to_string();
        if full_name.is_empty() || full_name.chars().count() > 200 {
            problems.push(Problem::new(
                "full_name",
                "invalid_value",
                "укажите фамилию, имя и отчество сотрудника (до 200 символов)",
            ));
        }
        let role = match Role::parse(&input.role) {
            Some(r) if r.is_staff() => Some(r),
            Some(r) => {
                problems.push(Problem::new(
                    "role",
                    "invalid_role",
                    format!("роль {r} выдаётся только ключам API (pdv keys create)"),
                ));
                None
            }
            None => {
                problems.push(Problem::new(
                    "role",
                    "invalid_role",
                    format!(
                        "роль «{}» неизвестна; допустимы: administrator, responsible_person, agent, auditor",
                        input.role
                    ),
                ));
                None
            }
        };
        let generated = input.password.is_none();
        let password = input.password.unwrap_or_else(secret::new_password);
        if let Err(m) = auth::check_password(&input.login, &password) {
            problems.push(Problem::new("password", "weak_password", m));
        }
        let (Some(role), true) = (role, problems.is_empty()) else {
            return Err(ServiceError::Invalid(problems));
        };
        let cost = self.auth_settings().password_cost;
        let to_hash = password.clone();
        let password_hash = blocking(move || secret::hash_password(&to_hash, cost)).await;
        let row = UserRow {
            id: Uuid::now_v7(),
            login: input.login.clone(),
            full_name,
            role: role.as_str().into(),
            password_hash,
            failed_logins: 0,
            locked_until_ms: None,
            disabled_at_ms: None,
            created_at_ms: self.now_ms(),
        };
        let mut tx = self.store().begin().await?;
        match tx.insert_user(&row).await {
            Err(StoreError::Conflict(_)) => {
                return Err(ServiceError::Conflict {
                    code: "login_taken",
                    message: format!("логин «{}» уже занят", input.login),
                });
            }
            other => other?,
        }
        let event = self.security_event(
            &actor.name,
            "user.add",
            Outcome::Done,
            json!({ "user": row.id, "login": row.login, "role": row.role }),
        );
        self.finish(tx, vec![event]).await?;
        Ok(UserCreated {
            user: user_view(&row)?,
            password: generated.then_some(password),
        })
    }

    pub async fn users(&self) -> ServiceResult<Vec<UserView>> {
        let mut tx = self.store().begin().await?;
        tx.users().await?.iter().map(user_view).collect()
    }

    async fn user_for_change(
        &self,
        tx: &mut dyn pdv_store::Transaction,
        login: &str,
    ) -> ServiceResult<UserRow> {
        tx.user_by_login(login)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                what: "сотрудник",
                id: login.to_string(),
            })
    }

    /// Disables, enables or unlocks an account. Disabling ends its sessions at once.
    pub async fn change_user(
        &self,
        actor: &Actor,
        login: &str,
        change: UserChange,
    ) -> ServiceResult<UserView> {
        let mut tx = self.store().begin().await?;
        let mut user = self.user_for_change(&mut *tx, login).await?;
        let action = match change {
            UserChange::Disable => {
                user.disabled_at_ms.get_or_insert(self.now_ms());
                tx.delete_user_sessions(user.id).await?;
                "user.disable"
            }
            UserChange::Enable => {
                user.disabled_at_ms = None;
                "user.enable"
            }
            UserChange::Unlock => {
                user.failed_logins = 0;
                user.locked_until_ms = None;
                "user.unlock"
            }
        };
        tx.update_user(&user).await?;
        let event = self.security_event(
            &actor.name,
            action,
            Outcome::Done,
            json!({ "user": user.id, "login": user.login }),
        );
        self.finish(tx, vec![event]).await?;
        user_view(&user)
    }

    /// Sets a new password (generated when `None`, and then returned once); ends the account's
    /// sessions and clears a lock-out.
    pub async fn set_password(
        &self,
        actor: &Actor,
        login: &str,
        password: Option<String>,
    ) -> ServiceResult<Option<String>> {
        let generated = password.is_none();
        let password = password.unwrap_or_else(secret::new_password);
        auth::check_password(login, &password)
            .map_err(|m| ServiceError::invalid("password", "weak_password", m))?;
        let cost = self.auth_settings().password_cost;
        let to_hash = password.clone();
        let phc = blocking(move || secret::hash_password(&to_hash, cost)).await;
        let mut tx = self.store().begin().await?;
        let mut user = self.user_for_change(&mut *tx, login).await?;
        user.password_hash = phc;
        user.failed_logins = 0;
        user.locked_until_ms = None;
        tx.update_user(&user).await?;
        tx.delete_user_sessions(user.id).await?;
        let event = self.security_event(
            &actor.name,
            "user.password",
            Outcome::Done,
            json!({ "user": user.id, "login": user.login }),
        );
        self.finish(tx, vec![event]).await?;
        Ok(generated.then_some(password))
    }

    /// Issues an integration key limited to purposes (and optionally categories) of the policy, or
    /// a monitoring key that reads metrics only. The secret is returned once; only its hash is
    /// kept.
    pub async fn create_api_key(
        &self,
        actor: &Actor,
        input: NewApiKey,
    ) -> ServiceResult<ApiKeyIssued> {
        let policy = self.policy().policy.clone();
        let mut problems = Vec::new();
        let name = input.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 100 {
            problems.push(Problem::new(
                "name",
                "invalid_value",
                "укажите, чей это ключ (до 100 символов), например «Служба доставки»",
            ));
        }
        let role = match Role::parse(&input.role) {
            Some(r) if r.is_key_role() => Some(r),
            _ => {
                problems.push(Problem::new(
                    "role",
                    "invalid_role",
                    format!(
                        "ключи API выдаются с ролью integration (интеграция) или monitoring (сбор метрик), а не «{}»; сотрудникам заводят учётные записи (pdv users add)",
                        input.role
                    ),
                ));
                None
            }
        };
        if role == Some(Role::Monitoring) {
            // A monitoring key reads metrics only; a purpose or category on it would suggest it
            // may touch personal data, so they are refused rather than ignored.
            if !input.purposes.is_empty() || !input.categories.is_empty() {
                let field = if input.purposes.is_empty() {
                    "categories"
                } else {
                    "purposes"
                };
                problems.push(Problem::new(
                    field,
                    "not_for_monitoring",
                    "ключ мониторинга не обрабатывает персональные данные: цели и категории для него не указываются",
                ));
            }
        } else if input.purposes.is_empty() {
            problems.push(Problem::new(
                "purposes",
                "empty",
                "ключ выдаётся для конкретных целей обработки: перечислите хотя бы одну",
            ));
        }
        let mut purposes = BTreeSet::new();
        for (i, p) in input.purposes.iter().enumerate() {
            if policy.purpose(p).is_none() {
                problems.push(Problem::new(
                    format!("purposes[{i}]"),
                    "unknown_purpose",
                    format!("цель «{p}» не объявлена в политике"),
                ));
            }
            purposes.insert(p.clone());
        }
        let mut categories = BTreeSet::new();
        for (i, c) in input.categories.iter().enumerate() {
            let field = format!("categories[{i}]");
            if policy.category(c).is_none() {
                problems.push(Problem::new(
                    field,
                    "unknown_category",
                    format!("категория «{c}» не объявлена в политике"),
                ));
            } else if !purposes.iter().any(|p| {
                policy
                    .purpose(p)
                    .is_some_and(|p| p.categories.iter().any(|pc| *pc == **c))
            }) {
                problems.push(Problem::new(
                    field,
                    "category_not_in_purposes",
                    format!("категория «{c}» не обрабатывается ни для одной из целей ключа"),
                ));
            }
            categories.insert(c.clone());
        }
        let now = self.now_ms();
        let expires_at_ms = match input.valid_until {
            None => None,
            Some(day) => {
                let end = self.day_end_ms(day);
                if end <= now {
                    problems.push(Problem::new(
                        "valid_until",
                        "in_the_past",
                        "срок действия ключа уже истёк",
                    ));
                }
                Some(end)
            }
        };
        let Some(role) = role.filter(|_| problems.is_empty()) else {
            return Err(ServiceError::Invalid(problems));
        };
        let id = Uuid::now_v7();
        let secret = format!("{KEY_PREFIX}{}_{}", id.simple(), &secret::new_token(""));
        let row = ApiKeyRow {
            id,
            name,
            role: role.as_str().into(),
            purposes: purposes.into_iter().collect(),
            categories: categories.into_iter().collect(),
            secret_hash: secret::token_hash(&secret),
            created_by: actor.name.clone(),
            created_at_ms: now,
            expires_at_ms,
            revoked_at_ms: None,
        };
        let mut tx = self.store().begin().await?;
        tx.insert_api_key(&row).await?;
        let event = self.security_event(
            &actor.name,
            "key.create",
            Outcome::Done,
            json!({ "key": id.simple().to_string(), "role": row.role, "purposes": row.purposes, "categories": row.categories }),
        );
        self.finish(tx, vec![event]).await?;
        Ok(ApiKeyIssued {
            key: key_view(&row, now),
            secret,
        })
    }

    pub async fn api_keys(&self) -> ServiceResult<Vec<ApiKeyView>> {
        let now = self.now_ms();
        let mut tx = self.store().begin().await?;
        Ok(tx
            .api_keys()
            .await?
            .iter()
            .map(|k| key_view(k, now))
            .collect())
    }

    /// Revokes a key: from this moment every request with it is refused.
    pub async fn revoke_api_key(&self, actor: &Actor, id: Uuid) -> ServiceResult<ApiKeyView> {
        let now = self.now_ms();
        let mut tx = self.store().begin().await?;
        if !tx.revoke_api_key(id, now).await? {
            return Err(if self.store().api_key(id).await?.is_some() {
                ServiceError::Conflict {
                    code: "key_already_revoked",
                    message: format!("ключ {} уже отозван", id.simple()),
                }
            } else {
                ServiceError::NotFound {
                    what: "ключ API",
                    id: id.simple().to_string(),
                }
            });
        }
        let event = self.security_event(
            &actor.name,
            "key.revoke",
            Outcome::Done,
            json!({ "key": id.simple().to_string() }),
        );
        self.finish(tx, vec![event]).await?;
        let row = self
            .store()
            .api_key(id)
            .await?
            .ok_or_else(|| ServiceError::Integrity("a revoked key vanished".into()))?;
        Ok(key_view(&row, now))
    }
}

fn bad_credentials() -> ServiceError {
    unauthenticated("invalid_credentials", "неверный логин или пароль")
}

fn locked(until_ms: i64, vault: &Vault) -> ServiceError {
    let local = vault.local_time(until_ms);
    unauthenticated(
        "account_locked",
        format!(
            "учётная запись временно заблокирована после нескольких неудачных попыток входа; повторите после {local} или обратитесь к администратору"
        ),
    )
}
