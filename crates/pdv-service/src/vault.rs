//! `Vault`: the service object that runs every use case against a store, under a policy, with
//! the operator's keys.

use std::collections::BTreeSet;
use std::sync::Arc;

use pdv_core::access::{self, AccessQuery, SubjectFacts};
use pdv_core::audit::{AuditRecord, Outcome, canonical_details};
use pdv_core::calendar::WorkCalendar;
use pdv_core::consent::{self, ConsentState, ConsentTerms, Evidence, Representative};
use pdv_core::identifier::IdentifierKind;
use pdv_core::law::{self, Sensitivity};
use pdv_core::policy::{DataSource, LoadedPolicy, Policy};
use pdv_core::{BlockId, ConsentId, ContractId, Operation, RecordId, SubjectId};
use pdv_crypto::{DataKey, FieldAad, Keyring, MasterKey};
use pdv_store::*;
use serde_json::json;
use uuid::Uuid;

use crate::access::AuthSettings;
use crate::acts::ActSettings;
use crate::clock::Clock;
use crate::error::{Problem, ServiceError, ServiceResult};
use crate::keys::field_aad;
use crate::sweep::SweepSettings;
use crate::views::*;

/// Metadata keys the service keeps in the store.
pub(crate) const META_KEY_CHECK: &str = "master_key_check";
pub(crate) const META_KEY_ID: &str = "master_key_id";
pub(crate) const META_AUDIT_SEAL: &str = "audit_head_seal";
const META_POLICY: &str = "policy_fingerprint";

/// Consents and contracts are judged on the operator's civil date.
pub(crate) fn civil_today(now: jiff::Timestamp, policy: &Policy) -> jiff::civil::Date {
    jiff::tz::TimeZone::get(&policy.operator.time_zone)
        .map(|tz| now.to_zoned(tz).date())
        .unwrap_or_else(|_| now.to_zoned(jiff::tz::TimeZone::UTC).date())
}

fn ms_to_ts(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn parse_date(s: &str) -> ServiceResult<jiff::civil::Date> {
    s.parse()
        .map_err(|_| ServiceError::Integrity(format!("stored date {s:?} is not YYYY-MM-DD")))
}

#[derive(Debug, Clone)]
pub struct Vault {
    store: Arc<dyn Store>,
    policy: Arc<LoadedPolicy>,
    keyring: Keyring,
    key_id: String,
    clock: Arc<dyn Clock>,
    auth: AuthSettings,
    /// Working days for the request journal's deadlines.
    calendar: Arc<WorkCalendar>,
    /// What destruction acts say of the operator's side: the system's name, who signs.
    acts: Arc<ActSettings>,
    /// How the sweep after a key shred paces itself.
    sweep: SweepSettings,
}

impl Vault {
    /// Opens the vault: checks that the master key belongs to this database (remembering it on
    /// first use) and records which policy text is being enforced.
    pub async fn open(
        store: Arc<dyn Store>,
        policy: Arc<LoadedPolicy>,
        master: &MasterKey,
        clock: Arc<dyn Clock>,
    ) -> ServiceResult<Vault> {
        let mut tx = store.begin().await?;
        let mut first_use = false;
        match tx.meta(META_KEY_CHECK).await? {
            Some(stored) if !master.matches_check_value(&stored) => {
                let expected = tx.meta(META_KEY_ID).await?.unwrap_or_else(|| "?".into());
                return Err(ServiceError::WrongMasterKey {
                    given: master.key_id(),
                    expected,
                });
            }
            Some(_) => {}
            None => {
                tx.set_meta(META_KEY_CHECK, &master.check_value()).await?;
                tx.set_meta(META_KEY_ID, &master.key_id()).await?;
                first_use = true;
            }
        }
        if tx.meta(META_POLICY).await?.as_deref() != Some(policy.fingerprint.as_str()) {
            tx.set_meta(META_POLICY, &policy.fingerprint).await?;
            tx.set_meta("policy_version", &policy.policy.policy.version)
                .await?;
        }
        let vault = Vault {
            store,
            policy,
            keyring: master.keyring(),
            key_id: master.key_id(),
            clock,
            auth: AuthSettings::default(),
            calendar: Arc::new(WorkCalendar::embedded()),
            acts: Arc::new(ActSettings::default()),
            sweep: SweepSettings::default(),
        };
        if first_use {
            // The first event of every database: from now on an empty log means a wiped log.
            let event = vault.record(
                &Actor::new("system"),
                "vault.init",
                Operation::Storage,
                None,
                None,
                Outcome::Done,
                json!({ "master_key_id": vault.key_id, "policy_version": vault.policy.policy.policy.version.as_str() }),
            );
            vault.finish(tx, vec![event]).await?;
        } else {
            tx.commit().await?;
        }
        Ok(vault)
    }

    /// Replaces the authentication settings (tests use cheap hashing and no waiting).
    pub fn with_auth_settings(mut self, auth: AuthSettings) -> Vault {
        self.auth = auth;
        self
    }

    /// Replaces the production calendar (the operator loaded newer years from files).
    pub fn with_act_settings(mut self, acts: ActSettings) -> Vault {
        self.acts = Arc::new(acts);
        self
    }

    pub(crate) fn act_settings(&self) -> &ActSettings {
        &self.acts
    }

    /// Replaces how the sweep paces itself (batch, pause, share of the writer).
    pub fn with_sweep_settings(mut self, sweep: SweepSettings) -> Vault {
        self.sweep = SweepSettings {
            batch: sweep.batch.max(1),
            share_permille: sweep.share_permille.clamp(1, 1000),
            ..sweep
        };
        self
    }

    pub fn sweep_settings(&self) -> SweepSettings {
        self.sweep
    }

    pub fn with_calendar(mut self, calendar: WorkCalendar) -> Vault {
        self.calendar = Arc::new(calendar);
        self
    }

    pub(crate) fn calendar(&self) -> &WorkCalendar {
        &self.calendar
    }

    pub fn auth_settings(&self) -> AuthSettings {
        self.auth
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now().as_millisecond()
    }

    pub(crate) fn time_zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.p().operator.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    /// The first instant after the operator's civil `day`, in Unix milliseconds.
    pub(crate) fn day_end_ms(&self, day: jiff::civil::Date) -> i64 {
        day.tomorrow()
            .ok()
            .and_then(|d| d.to_zoned(self.time_zone()).ok())
            .map_or(i64::MAX, |z| z.timestamp().as_millisecond())
    }

    /// An instant as the operator's local time, for messages: `ДД.ММ.ГГГГ ЧЧ:ММ`.
    pub(crate) fn local_time(&self, ms: i64) -> String {
        ms_to_ts(ms)
            .to_zoned(self.time_zone())
            .strftime("%d.%m.%Y %H:%M")
            .to_string()
    }

    /// Whether the database answers: a cheap read outside any write transaction.
    pub async fn check_ready(&self) -> ServiceResult<()> {
        self.store.meta(META_KEY_ID).await?;
        Ok(())
    }

    pub fn policy(&self) -> &LoadedPolicy {
        &self.policy
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The operator's civil date now.
    /// Today in the operator's time zone, by the vault's clock.
    pub fn today(&self) -> jiff::civil::Date {
        civil_today(self.clock.now(), self.p())
    }

    /// The id of the master key this vault was opened with.
    pub fn master_key_id(&self) -> &str {
        &self.key_id
    }

    pub(crate) fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    pub(crate) fn p(&self) -> &Policy {
        &self.policy.policy
    }

    // Each argument is one column of the audit event; a builder would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &self,
        actor: &Actor,
        action: &str,
        op: Operation,
        purpose: Option<&str>,
        subject: Option<SubjectId>,
        outcome: Outcome,
        details: serde_json::Value,
    ) -> AuditRecord {
        AuditRecord {
            at_ms: self.clock.now().as_millisecond(),
            actor: actor.name.clone(),
            action: action.to_string(),
            operation: Some(op),
            purpose: purpose.map(str::to_string),
            subject,
            outcome,
            details: canonical_details(&details),
        }
    }

    /// Appends the events, seals the new audit head and commits: the one way a command ends.
    pub(crate) async fn finish(
        &self,
        tx: Box<dyn Transaction>,
        events: Vec<AuditRecord>,
    ) -> ServiceResult<()> {
        self.finish_with(tx, events, None::<(&Actor, &())>).await
    }

    /// Like [`Vault::finish`], and when the actor sent an idempotency key, stores `response`
    /// under it in the same transaction, so a retry can never create a second thing.
    pub(crate) async fn finish_with<T: serde::Serialize>(
        &self,
        mut tx: Box<dyn Transaction>,
        events: Vec<AuditRecord>,
        response: Option<(&Actor, &T)>,
    ) -> ServiceResult<()> {
        if let Some((actor, body)) = response
            && let Some(idem) = &actor.idempotency
        {
            let body =
                serde_json::to_string(body).map_err(|e| ServiceError::Integrity(e.to_string()))?;
            tx.save_idempotent_response(
                &idem.key,
                &IdempotentResponse {
                    request_hash: idem.request_hash.clone(),
                    status: idem.status,
                    body,
                    created_at_ms: self.clock.now().as_millisecond(),
                },
            )
            .await?;
        }
        let mut head = None;
        for e in events {
            let chained = tx.append_audit(e).await?;
            head = Some((chained.seq, chained.hash));
        }
        if let Some((seq, hash)) = head {
            let seal = self.keyring.seal_audit_head(seq, &hash);
            tx.set_meta(
                META_AUDIT_SEAL,
                &format!("{seq}:{}:{}", hex::encode(hash), hex::encode(seal)),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Refuses, with an audit record, a request outside the caller's key scope: a purpose the key
    /// was not issued for, or a category it is not limited to.
    // Each argument is one column of the audit event, as in `record`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn check_scope(
        &self,
        actor: &Actor,
        action: &str,
        op: Operation,
        subject: SubjectId,
        purposes: &[String],
        categories: &[String],
    ) -> ServiceResult<()> {
        let denial = purposes
            .iter()
            .find_map(|p| actor.scope.check_purpose(p).err())
            .or_else(|| {
                categories
                    .iter()
                    .find_map(|c| actor.scope.check_category(c).err())
            });
        let Some(denial) = denial else {
            return Ok(());
        };
        let tx = self.store.begin().await?;
        let event = self.record(
            actor,
            action,
            op,
            purposes.first().map(String::as_str),
            Some(subject),
            Outcome::Denied,
            json!({ "code": denial.code(), "purposes": purposes, "categories": categories }),
        );
        let err = ServiceError::Forbidden {
            code: denial.code(),
            message: denial.message(),
        };
        self.deny(tx, event, err).await
    }

    /// Records a refusal in the audit log, commits it, and returns the error to the caller.
    pub(crate) async fn deny<T>(
        &self,
        tx: Box<dyn Transaction>,
        event: AuditRecord,
        err: ServiceError,
    ) -> ServiceResult<T> {
        self.finish(tx, vec![event]).await?;
        Err(err)
    }

    /// Inside a create command's transaction: if the actor's idempotency key was used before,
    /// stop with the stored response (or refuse a different request under the same key).
    pub(crate) async fn replay(
        &self,
        tx: &mut dyn Transaction,
        actor: &Actor,
    ) -> ServiceResult<()> {
        let Some(idem) = &actor.idempotency else {
            return Ok(());
        };
        match tx.idempotent_response(&idem.key).await? {
            None => Ok(()),
            Some(stored) if stored.request_hash == idem.request_hash => {
                Err(ServiceError::Replayed(StoredResponse {
                    status: stored.status,
                    body: stored.body,
                }))
            }
            Some(_) => Err(ServiceError::Conflict {
                code: "idempotency_key_reused",
                message: format!(
                    "ключ идемпотентности «{}» уже использован для другого запроса",
                    idem.key
                ),
            }),
        }
    }

    pub(crate) async fn subject_row(
        &self,
        tx: &mut dyn Transaction,
        id: SubjectId,
    ) -> ServiceResult<SubjectRow> {
        let row = tx
            .subject(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                what: "субъект",
                id: id.to_string(),
            })?;
        // A destroyed subject keeps its id for the audit trail, and nothing else: every use of
        // it answers that it was destroyed.
        if let Some(at_ms) = tx.tombstone(id).await? {
            return Err(ServiceError::Destroyed {
                id: id.to_string(),
                at: self.local_time(at_ms),
            });
        }
        Ok(row)
    }

    pub(crate) async fn data_key(
        &self,
        tx: &mut dyn Transaction,
        subject: SubjectId,
    ) -> ServiceResult<DataKey> {
        let Some(wrapped) = tx.wrapped_key(subject).await? else {
            // A destroyed key is the expected end of a subject's data, not a fault.
            return Err(match tx.tombstone(subject).await? {
                Some(at_ms) => ServiceError::Destroyed {
                    id: subject.to_string(),
                    at: self.local_time(at_ms),
                },
                None => ServiceError::Integrity(format!("subject {subject} has no data key")),
            });
        };
        self.keyring
            .unwrap_data_key(&wrapped.wrapped, subject.as_bytes())
            .map_err(|e| {
                ServiceError::Integrity(format!(
                    "data key of subject {subject} cannot be unwrapped: {e}"
                ))
            })
    }

    /// The ст. 18 ч. 3 notice to a subject whose data of `category` came from someone else.
    fn source_notice_text(&self, category: &pdv_core::policy::Category, purpose: &str) -> String {
        let p = self.p();
        let o = &p.operator;
        let purpose_view = p.purpose(purpose);
        let basis = purpose_view.and_then(|x| p.bases.iter().find(|b| b.id == x.basis));
        let users: Vec<String> = p
            .processors
            .iter()
            .chain(&p.recipients)
            .filter(|t| t.purposes.iter().any(|x| *x == *purpose))
            .map(|t| t.name.clone())
            .collect();
        let mut lines = vec![
            "Уведомление об обработке ваших персональных данных".to_string(),
            String::new(),
            format!(
                "{} (ИНН {}, адрес: {}) получил ваши персональные данные ({}) не от вас, а от другого лица, и сообщает вам следующее ({}).",
                o.full_name,
                o.inn,
                o.address,
                category.title,
                law::SOURCE_NOTICE_NORM
            ),
            format!(
                "Цель обработки: {}.",
                purpose_view.map_or(purpose.to_string(), |x| x.title.clone())
            ),
            format!(
                "Правовое основание: {}.",
                basis.map_or(String::new(), |b| format!(
                    "{} ({})",
                    b.title,
                    b.law_reference
                        .clone()
                        .unwrap_or_else(|| b.kind.norm().to_string())
                ))
            ),
            format!(
                "Предполагаемые пользователи данных: {}.",
                if users.is_empty() {
                    format!("работники {}", o.short_name)
                } else {
                    format!("работники {} и {}", o.short_name, users.join(", "))
                }
            ),
            "Источник данных: лицо, сообщившее их оператору (например, заказчик, указавший вас получателем, или ваш представитель).".to_string(),
            "Ваши права: получать сведения об обработке, требовать уточнения, блокирования или уничтожения данных, отозвать согласие, если обработка на нём основана, обжаловать действия оператора в Роскомнадзоре или в суде (ст. 14–17 152-ФЗ).".to_string(),
            format!(
                "Обращения: {}; ответственный за организацию обработки — {}, {}.",
                p.requests.email, o.responsible_person.name, o.responsible_person.email
            ),
        ];
        lines.retain(|l| !l.ends_with(": ."));
        lines.join("\n")
    }

    pub(crate) fn new_id() -> Uuid {
        Uuid::now_v7()
    }

    /// Creates a subject with its own data key and indexed identifiers.
    pub async fn create_subject(
        &self,
        actor: &Actor,
        input: NewSubject,
    ) -> ServiceResult<SubjectCreated> {
        let mut problems = Vec::new();
        if self.p().subject_kind(&input.kind).is_none() {
            let known: Vec<&str> = self
                .p()
                .subject_kinds
                .iter()
                .map(|s| s.id.as_str())
                .collect();
            problems.push(Problem::new(
                "kind",
                "unknown_subject_kind",
                format!(
                    "вид субъекта «{}» не объявлен в политике; допустимы: {}",
                    input.kind,
                    known.join(", ")
                ),
            ));
        }
        let mut identifiers = Vec::new();
        for (kind, value) in &input.identifiers {
            let field = format!("identifiers.{kind}");
            match IdentifierKind::parse(kind) {
                None => problems.push(Problem::new(
                    field,
                    "unknown_identifier",
                    "поиск возможен только по email и phone",
                )),
                Some(k) => match k.normalise(value) {
                    Ok(normal) => identifiers.push((k, normal)),
                    Err(e) => problems.push(Problem::new(field, "invalid_value", e.to_string())),
                },
            }
        }
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        let id = SubjectId(Self::new_id());
        let now = self.clock.now();
        let key = self.keyring.new_data_key();
        let mut tx = self.store.begin().await?;
        self.replay(&mut *tx, actor).await?;
        tx.insert_subject(
            &SubjectRow {
                id,
                kind: input.kind.clone(),
                created_at_ms: now.as_millisecond(),
            },
            &WrappedKeyRow {
                subject: id,
                wrapped: self.keyring.wrap_data_key(&key, id.as_bytes()),
                master_key_id: self.key_id.clone(),
                created_at_ms: now.as_millisecond(),
            },
        )
        .await?;
        for (kind, normal) in &identifiers {
            let aad = FieldAad {
                table: "subject_identifiers",
                row_id: id.as_bytes(),
                field: kind.as_str(),
            };
            tx.insert_identifier(&IdentifierRow {
                subject: id,
                kind: *kind,
                blind: self.keyring.blind_index(kind.as_str(), normal),
                value_ct: key.encrypt_field(normal.as_bytes(), &aad),
            })
            .await?;
        }
        let names: Vec<&str> = identifiers.iter().map(|(k, _)| k.as_str()).collect();
        let event = self.record(
            actor,
            "subject.create",
            Operation::Collection,
            None,
            Some(id),
            Outcome::Done,
            json!({ "kind": input.kind, "identifiers": names }),
        );
        let created = SubjectCreated {
            id,
            kind: input.kind,
            created_at: now,
            identifiers: names.into_iter().map(str::to_string).collect(),
        };
        self.finish_with(tx, vec![event], Some((actor, &created)))
            .await?;
        Ok(created)
    }

    /// What the purpose check needs to know about a subject, as of now.
    pub(crate) async fn facts(
        &self,
        tx: &mut dyn Transaction,
        subject: &SubjectRow,
    ) -> ServiceResult<SubjectFacts> {
        let today = civil_today(self.clock.now(), self.p());
        let mut facts = SubjectFacts {
            kind: subject.kind.clone(),
            ..Default::default()
        };
        for c in tx.consents(subject.id).await? {
            if consent_state(&c, today)? == ConsentState::Given {
                facts.consented_purposes.extend(c.purposes);
            }
        }
        for c in tx.contracts(subject.id).await? {
            if contract_active(&c, today)? {
                facts.contract_active = true;
            }
        }
        facts.blocks = tx
            .blocks(subject.id)
            .await?
            .into_iter()
            .filter(|b| b.lifted_at_ms.is_none())
            .map(|b| b.category)
            .collect();
        Ok(facts)
    }

    /// Stores personal data of one category, collected for a stated purpose.
    pub async fn add_record(
        &self,
        actor: &Actor,
        subject_id: SubjectId,
        input: NewRecord,
    ) -> ServiceResult<RecordCreated> {
        let policy = self.p();
        let Some(category) = policy.category(&input.category) else {
            if let Some((marker, sensitivity)) = law::sensitive_marker(&input.category) {
                return Err(special_refusal(
                    "category",
                    &input.category,
                    marker,
                    sensitivity,
                ));
            }
            let known: Vec<&str> = policy.categories.iter().map(|c| c.id.as_str()).collect();
            return Err(ServiceError::invalid(
                "category",
                "unknown_category",
                format!(
                    "категория «{}» не объявлена в политике; допустимы: {}",
                    input.category,
                    known.join(", ")
                ),
            ));
        };
        let mut problems = Vec::new();
        let values = check_fields(category, &input.fields, &mut problems);
        let source = match input.source.as_deref() {
            None | Some("subject") => DataSource::Subject,
            Some("third_party") => DataSource::ThirdParty,
            Some("automatic") => DataSource::Automatic,
            Some(other) => {
                problems.push(Problem::new(
                    "source",
                    "invalid_value",
                    format!("источник «{other}» неизвестен: subject, third_party или automatic"),
                ));
                DataSource::Subject
            }
        };
        if !category.sources.contains(&source) {
            problems.push(Problem::new(
                "source",
                "source_not_declared",
                format!(
                    "политика не предусматривает получение категории «{}» из источника «{}»",
                    category.id,
                    source.as_str()
                ),
            ));
        }
        // Data from someone else: the subject is told before anything else is done with them
        // (ст. 18 ч. 3), unless the policy names a ground of ст. 18 ч. 4 for the category.
        let source_notice = if source == DataSource::ThirdParty {
            match category.notice_exemption {
                Some(ground) => Some(SourceNotice::Exempt(ground)),
                None => {
                    let derived = values.iter().find_map(|(name, value)| {
                        category
                            .field(name)
                            .filter(|f| {
                                matches!(
                                    f.field_type,
                                    pdv_core::field::FieldType::Email
                                        | pdv_core::field::FieldType::Phone
                                )
                            })
                            .map(|_| value.clone())
                    });
                    match input
                        .notice_to
                        .as_deref()
                        .map(str::trim)
                        .filter(|a| !a.is_empty())
                        .map(String::from)
                        .or(derived)
                    {
                        Some(to) => Some(SourceNotice::Queue(to)),
                        None => {
                            problems.push(Problem::new(
                                "notice_to",
                                "notice_address_required",
                                format!(
                                    "данные категории «{}» получены не от субъекта: до их обработки субъекта нужно уведомить ({}); укажите адрес в notice_to или передайте e-mail либо телефон в полях, либо объявите в политике основание освобождения (notice_exemption, ст. 18 ч. 4)",
                                    category.id,
                                    law::SOURCE_NOTICE_NORM
                                ),
                            ));
                            None
                        }
                    }
                }
            }
        } else {
            None
        };
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        self.check_scope(
            actor,
            "record.add",
            Operation::Collection,
            subject_id,
            std::slice::from_ref(&input.purpose),
            &[category.id.to_string()],
        )
        .await?;
        let mut tx = self.store.begin().await?;
        self.replay(&mut *tx, actor).await?;
        let subject = self.subject_row(&mut *tx, subject_id).await?;
        if !category.subjects.iter().any(|s| *s == *subject.kind) {
            return Err(ServiceError::invalid(
                "category",
                "category_not_for_subject",
                format!(
                    "категория «{}» не собирается у субъектов вида «{}»",
                    category.id, subject.kind
                ),
            ));
        }
        let facts = self.facts(&mut *tx, &subject).await?;
        let wanted = vec![category.id.to_string()];
        if let Err(denial) = access::decide(
            policy,
            &facts,
            &AccessQuery {
                purpose: &input.purpose,
                categories: &wanted,
            },
        ) {
            let event = self.record(
                actor,
                "record.add",
                Operation::Collection,
                Some(&input.purpose),
                Some(subject_id),
                Outcome::Denied,
                json!({ "category": category.id, "code": denial.code() }),
            );
            return self.deny(tx, event, ServiceError::Denied(denial)).await;
        }
        let key = self
            .writing_key(&mut *tx, subject_id, category.id.as_str())
            .await?;
        let id = RecordId(Self::new_id());
        let now = self.clock.now();
        let fields = values
            .iter()
            .map(|(name, v)| {
                let field = format!("{}.{name}", category.id);
                FieldRow {
                    field: name.clone(),
                    value_ct: key.encrypt_field(v.as_bytes(), &field_aad(id.as_bytes(), &field)),
                }
            })
            .collect();
        tx.insert_record(&RecordRow {
            subject: subject_id,
            id,
            category: category.id.to_string(),
            source: source.as_str().into(),
            created_at_ms: now.as_millisecond(),
            scope: input.scope.clone(),
            fields,
        })
        .await?;
        let notice = match &source_notice {
            None => None,
            Some(SourceNotice::Exempt(ground)) => {
                Some(format!("exempt: {} ({})", ground.as_str(), ground.norm()))
            }
            Some(SourceNotice::Queue(to)) => {
                let body = self.source_notice_text(category, &input.purpose);
                self.queue_message(&mut *tx, None, "source_notice", to, &body)
                    .await?;
                Some("queued".to_string())
            }
        };
        let names: Vec<String> = values.into_iter().map(|(n, _)| n).collect();
        let event = self.record(actor, "record.add", Operation::Recording, Some(&input.purpose), Some(subject_id), Outcome::Done, json!({ "record": id, "category": category.id, "fields": names, "source": source.as_str(), "source_notice": notice }));
        let created = RecordCreated {
            id,
            subject: subject_id,
            category: category.id.to_string(),
            fields: names,
            created_at: now,
            source_notice: notice,
        };
        self.finish_with(tx, vec![event], Some((actor, &created)))
            .await?;
        Ok(created)
    }

    /// Releases a subject's data for a purpose, if the purpose check allows it. Allowed or not,
    /// the decision is audited.
    pub async fn read_data(
        &self,
        actor: &Actor,
        subject_id: SubjectId,
        query: DataQuery,
    ) -> ServiceResult<DataView> {
        self.check_scope(
            actor,
            "data.read",
            Operation::Extraction,
            subject_id,
            std::slice::from_ref(&query.purpose),
            &query.categories,
        )
        .await?;
        let mut tx = self.store.begin().await?;
        let subject = self.subject_row(&mut *tx, subject_id).await?;
        let facts = self.facts(&mut *tx, &subject).await?;
        let grant = match access::decide(
            self.p(),
            &facts,
            &AccessQuery {
                purpose: &query.purpose,
                categories: &query.categories,
            },
        ) {
            Ok(grant) => grant,
            Err(denial) => {
                let event = self.record(
                    actor,
                    "data.read",
                    Operation::Extraction,
                    Some(&query.purpose),
                    Some(subject_id),
                    Outcome::Denied,
                    json!({ "categories": query.categories, "code": denial.code() }),
                );
                return self.deny(tx, event, ServiceError::Denied(denial)).await;
            }
        };
        // A key limited to some categories gets only those, whatever else the purpose allows.
        let mut grant = grant;
        grant.categories = actor.scope.narrow(grant.categories);
        let records = self
            .open_records(&mut *tx, subject_id, Some(&grant.categories))
            .await?;
        let ids: Vec<RecordId> = records.iter().map(|r| r.id).collect();
        let event = self.record(actor, "data.read", Operation::Extraction, Some(&query.purpose), Some(subject_id), Outcome::Done, json!({ "categories": grant.categories, "records": ids, "basis": grant.basis.as_str() }));
        self.finish(tx, vec![event]).await?;
        Ok(DataView::new(subject_id, &query.purpose, grant, records))
    }

    /// Records a consent with its evidence and the document version shown.
    pub async fn record_consent(
        &self,
        actor: &Actor,
        subject_id: SubjectId,
        input: NewConsent,
    ) -> ServiceResult<ConsentView> {
        self.check_scope(
            actor,
            "consent.record",
            Operation::Recording,
            subject_id,
            &input.purposes,
            &[],
        )
        .await?;
        let now = self.clock.now();
        let today = civil_today(now, self.p());
        let mut tx = self.store.begin().await?;
        self.replay(&mut *tx, actor).await?;
        let subject = self.subject_row(&mut *tx, subject_id).await?;
        let terms = ConsentTerms {
            purposes: input.purposes.clone(),
            recipients: input.recipients.clone(),
            channel: input.channel.clone(),
            evidence: input.evidence.clone(),
            document: input.document.clone(),
            valid_until: input.valid_until,
            representative: input.representative.clone(),
        };
        let kind =
            consent::check_terms(self.p(), &subject.kind, &terms, today).map_err(|problems| {
                ServiceError::Invalid(
                    problems
                        .into_iter()
                        .map(|p| Problem::new(p.field, "invalid_consent", p.message))
                        .collect(),
                )
            })?;
        let key = self.data_key(&mut *tx, subject_id).await?;
        let id = ConsentId(Self::new_id());
        let evidence = serde_json::to_vec(&input.evidence)
            .map_err(|e| ServiceError::Integrity(e.to_string()))?;
        let evidence_ct = key.encrypt_field(
            &evidence,
            &FieldAad {
                table: "consents",
                row_id: id.as_bytes(),
                field: "evidence",
            },
        );
        let representative_ct = match &input.representative {
            Some(r) => {
                let bytes =
                    serde_json::to_vec(r).map_err(|e| ServiceError::Integrity(e.to_string()))?;
                Some(key.encrypt_field(
                    &bytes,
                    &FieldAad {
                        table: "consents",
                        row_id: id.as_bytes(),
                        field: "representative",
                    },
                ))
            }
            None => None,
        };
        let row = ConsentRow {
            subject: subject_id,
            id,
            kind,
            purposes: input.purposes.clone(),
            recipients: input.recipients.clone(),
            channel: input.channel.clone(),
            evidence_ct,
            representative_ct,
            document_id: input.document.id.clone(),
            document_version: input.document.version.clone(),
            document_sha256: input.document.sha256.to_lowercase(),
            policy_version: self.p().policy.version.to_string(),
            given_at_ms: now.as_millisecond(),
            valid_until: input.valid_until.map(|d| d.to_string()),
            withdrawal: None,
        };
        tx.insert_consent(&row).await?;
        let event = self.record(
            actor,
            "consent.give",
            Operation::Collection,
            Some(&input.purposes.join(",")),
            Some(subject_id),
            Outcome::Done,
            json!({ "consent": id, "kind": kind.as_str(), "purposes": input.purposes, "recipients": input.recipients, "channel": input.channel, "document": input.document.id, "document_version": input.document.version, "policy_version": row.policy_version }),
        );
        let view = consent_view(&row, today)?;
        self.finish_with(tx, vec![event], Some((actor, &view)))
            .await?;
        Ok(view)
    }

    /// Withdraws a consent. From the moment this returns, no use for its purposes succeeds unless
    /// another consent in force covers them.
    pub async fn withdraw_consent(
        &self,
        actor: &Actor,
        subject_id: SubjectId,
        consent_id: ConsentId,
        input: Withdraw,
    ) -> ServiceResult<Withdrawn> {
        let policy = self.p();
        let accepted = policy
            .requests
            .channels
            .iter()
            .any(|c| *c == *input.channel);
        if !accepted {
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
        let now = self.clock.now();
        let today = civil_today(now, policy);
        let mut tx = self.store.begin().await?;
        self.subject_row(&mut *tx, subject_id).await?;
        let consents = tx.consents(subject_id).await?;
        let Some(target) = consents.iter().find(|c| c.id == consent_id) else {
            return Err(ServiceError::NotFound {
                what: "согласие",
                id: consent_id.to_string(),
            });
        };
        if target.withdrawal.is_some() {
            return Err(ServiceError::Conflict {
                code: "already_withdrawn",
                message: format!("согласие {consent_id} уже отозвано"),
            });
        }
        let withdrawal = Withdrawal {
            at_ms: now.as_millisecond(),
            channel: input.channel.clone(),
        };
        tx.withdraw_consent(subject_id, consent_id, &withdrawal)
            .await?;
        let mut still: BTreeSet<&str> = BTreeSet::new();
        for c in consents.iter().filter(|c| c.id != consent_id) {
            if consent_state(c, today)? == ConsentState::Given {
                still.extend(c.purposes.iter().map(String::as_str));
            }
        }
        let stopped: Vec<String> = target
            .purposes
            .iter()
            .filter(|p| !still.contains(p.as_str()))
            .cloned()
            .collect();
        // Those who received the subject's data under this consent are told to stop (ст. 21 ч. 5).
        let told: Vec<String> = tx
            .recipient_withdrawals(subject_id)
            .await?
            .into_iter()
            .filter(|w| w.consent == consent_id)
            .map(|w| w.recipient)
            .collect();
        let notified = self
            .notify_recipients(&mut *tx, subject_id, consent_id, &target.recipients, &told)
            .await?;
        let event = self.record(
            actor,
            "consent.withdraw",
            Operation::Rectification,
            Some(&target.purposes.join(",")),
            Some(subject_id),
            Outcome::Done,
            json!({ "consent": consent_id, "channel": input.channel, "stopped_purposes": stopped, "notified": notified }),
        );
        self.finish(tx, vec![event]).await?;
        let mut row = target.clone();
        row.withdrawal = Some(withdrawal);
        Ok(Withdrawn {
            consent: consent_view(&row, today)?,
            stopped_purposes: stopped,
            notified_recipients: notified,
        })
    }

    /// Records a contract with the subject: the basis of contract purposes while it is in force.
    pub async fn add_contract(
        &self,
        actor: &Actor,
        subject_id: SubjectId,
        input: NewContract,
    ) -> ServiceResult<ContractView> {
        if input.reference.trim().is_empty() {
            return Err(ServiceError::invalid(
                "reference",
                "empty",
                "укажите номер или иной идентификатор договора",
            ));
        }
        let now = self.clock.now();
        let today = civil_today(now, self.p());
        if input.concluded_on > today {
            return Err(ServiceError::invalid(
                "concluded_on",
                "in_future",
                "дата заключения договора ещё не наступила",
            ));
        }
        let mut tx = self.store.begin().await?;
        self.replay(&mut *tx, actor).await?;
        self.subject_row(&mut *tx, subject_id).await?;
        let row = ContractRow {
            subject: subject_id,
            id: ContractId(Self::new_id()),
            reference: input.reference.trim().to_string(),
            concluded_on: input.concluded_on.to_string(),
            terminated_on: None,
            created_at_ms: now.as_millisecond(),
        };
        tx.insert_contract(&row).await?;
        let event = self.record(
            actor,
            "contract.add",
            Operation::Recording,
            None,
            Some(subject_id),
            Outcome::Done,
            json!({ "contract": row.id, "concluded_on": row.concluded_on }),
        );
        let view = contract_view(&row, today)?;
        self.finish_with(tx, vec![event], Some((actor, &view)))
            .await?;
        Ok(view)
    }

    pub async fn terminate_contract(
        &self,
        actor: &Actor,
        subject_id: SubjectId,
        contract_id: ContractId,
        input: Terminate,
    ) -> ServiceResult<ContractView> {
        let now = self.clock.now();
        let today = civil_today(now, self.p());
        let mut tx = self.store.begin().await?;
        self.subject_row(&mut *tx, subject_id).await?;
        let Some(mut row) = tx
            .contracts(subject_id)
            .await?
            .into_iter()
            .find(|c| c.id == contract_id)
        else {
            return Err(ServiceError::NotFound {
                what: "договор",
                id: contract_id.to_string(),
            });
        };
        if row.terminated_on.is_some() {
            return Err(ServiceError::Conflict {
                code: "already_terminated",
                message: format!("договор {contract_id} уже расторгнут"),
            });
        }
        if input.terminated_on < parse_date(&row.concluded_on)? {
            return Err(ServiceError::invalid(
                "terminated_on",
                "before_conclusion",
                "дата прекращения раньше даты заключения договора",
            ));
        }
        let on = input.terminated_on.to_string();
        tx.terminate_contract(subject_id, contract_id, &on, now.as_millisecond())
            .await?;
        row.terminated_on = Some(on.clone());
        let event = self.record(
            actor,
            "contract.terminate",
            Operation::Rectification,
            None,
            Some(subject_id),
            Outcome::Done,
            json!({ "contract": contract_id, "terminated_on": on }),
        );
        self.finish(tx, vec![event]).await?;
        contract_view(&row, today)
    }

    /// Blocks a subject's data, all of it or one category (ст. 21 ч. 1): stored, not used.
    pub async fn place_block(
        &self,
        actor: &Actor,
        subject_id: SubjectId,
        input: NewBlock,
    ) -> ServiceResult<BlockView> {
        if let Some(c) = &input.category
            && self.p().category(c).is_none()
        {
            return Err(ServiceError::invalid(
                "category",
                "unknown_category",
                format!("категория «{c}» не объявлена в политике"),
            ));
        }
        if input.reason.trim().is_empty() {
            return Err(ServiceError::invalid(
                "reason",
                "empty",
                "укажите основание блокирования (например, номер обращения)",
            ));
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        self.replay(&mut *tx, actor).await?;
        self.subject_row(&mut *tx, subject_id).await?;
        let row = BlockRow {
            subject: subject_id,
            id: BlockId(Self::new_id()),
            category: input.category.clone(),
            reason: input.reason.trim().to_string(),
            placed_at_ms: now.as_millisecond(),
            lifted_at_ms: None,
            lift_reason: None,
        };
        tx.insert_block(&row).await?;
        let event = self.record(
            actor,
            "block.place",
            Operation::Blocking,
            None,
            Some(subject_id),
            Outcome::Done,
            json!({ "block": row.id, "category": row.category }),
        );
        let view = block_view(&row);
        self.finish_with(tx, vec![event], Some((actor, &view)))
            .await?;
        Ok(view)
    }

    pub async fn lift_block(
        &self,
        actor: &Actor,
        subject_id: SubjectId,
        block_id: BlockId,
        input: Lift,
    ) -> ServiceResult<BlockView> {
        if input.reason.trim().is_empty() {
            return Err(ServiceError::invalid(
                "reason",
                "empty",
                "укажите, почему блокирование снимается",
            ));
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        self.subject_row(&mut *tx, subject_id).await?;
        let Some(mut row) = tx
            .blocks(subject_id)
            .await?
            .into_iter()
            .find(|b| b.id == block_id)
        else {
            return Err(ServiceError::NotFound {
                what: "блокирование",
                id: block_id.to_string(),
            });
        };
        if row.lifted_at_ms.is_some() {
            return Err(ServiceError::Conflict {
                code: "already_lifted",
                message: format!("блокирование {block_id} уже снято"),
            });
        }
        tx.lift_block(
            subject_id,
            block_id,
            now.as_millisecond(),
            input.reason.trim(),
        )
        .await?;
        row.lifted_at_ms = Some(now.as_millisecond());
        row.lift_reason = Some(input.reason.trim().to_string());
        let event = self.record(
            actor,
            "block.lift",
            Operation::Blocking,
            None,
            Some(subject_id),
            Outcome::Done,
            json!({ "block": block_id }),
        );
        self.finish(tx, vec![event]).await?;
        Ok(block_view(&row))
    }

    /// Finds subjects by e-mail or phone through the blind index; the value itself is never stored
    /// or logged in the clear.
    pub async fn find_subjects(
        &self,
        actor: &Actor,
        input: FindSubject,
    ) -> ServiceResult<FoundSubjects> {
        let kind = IdentifierKind::parse(&input.kind).ok_or_else(|| {
            ServiceError::invalid(
                "kind",
                "unknown_identifier",
                "поиск возможен только по email и phone",
            )
        })?;
        let normal = kind
            .normalise(&input.value)
            .map_err(|e| ServiceError::invalid("value", "invalid_value", e.to_string()))?;
        let blind = self.keyring.blind_index(kind.as_str(), &normal);
        let mut tx = self.store.begin().await?;
        let subjects = tx.find_by_identifier(kind, &blind).await?;
        let event = self.record(
            actor,
            "subject.find",
            Operation::Extraction,
            None,
            None,
            Outcome::Done,
            json!({ "kind": kind.as_str(), "matches": subjects.len() }),
        );
        self.finish(tx, vec![event]).await?;
        Ok(FoundSubjects { subjects })
    }

    /// What is held about a subject, without the values.
    pub async fn subject_summary(
        &self,
        actor: &Actor,
        subject_id: SubjectId,
    ) -> ServiceResult<SubjectSummary> {
        let today = civil_today(self.clock.now(), self.p());
        let mut tx = self.store.begin().await?;
        let subject = self.subject_row(&mut *tx, subject_id).await?;
        let identifiers = tx
            .identifiers(subject_id)
            .await?
            .into_iter()
            .map(|i| i.kind.as_str().to_string())
            .collect();
        let records = tx.record_counts(subject_id).await?.into_iter().collect();
        let consents = tx
            .consents(subject_id)
            .await?
            .iter()
            .map(|c| consent_view(c, today))
            .collect::<ServiceResult<_>>()?;
        let contracts = tx
            .contracts(subject_id)
            .await?
            .iter()
            .map(|c| contract_view(c, today))
            .collect::<ServiceResult<_>>()?;
        let blocks = tx
            .blocks(subject_id)
            .await?
            .iter()
            .map(block_view)
            .collect();
        let event = self.record(
            actor,
            "subject.summary",
            Operation::Extraction,
            None,
            Some(subject_id),
            Outcome::Done,
            json!({}),
        );
        self.finish(tx, vec![event]).await?;
        Ok(SubjectSummary {
            id: subject_id,
            kind: subject.kind,
            created_at: ms_to_ts(subject.created_at_ms),
            identifiers,
            records,
            consents,
            contracts,
            blocks,
        })
    }

    /// Decrypts the evidence of a consent, to prove it was given (ст. 9 ч. 3).
    pub async fn consent_evidence(
        &self,
        actor: &Actor,
        subject_id: SubjectId,
        consent_id: ConsentId,
    ) -> ServiceResult<(Evidence, Option<Representative>)> {
        let mut tx = self.store.begin().await?;
        self.subject_row(&mut *tx, subject_id).await?;
        let Some(row) = tx
            .consents(subject_id)
            .await?
            .into_iter()
            .find(|c| c.id == consent_id)
        else {
            return Err(ServiceError::NotFound {
                what: "согласие",
                id: consent_id.to_string(),
            });
        };
        let key = self.data_key(&mut *tx, subject_id).await?;
        let open = |ct: &[u8], field: &str| -> ServiceResult<Vec<u8>> {
            key.decrypt_field(
                ct,
                &FieldAad {
                    table: "consents",
                    row_id: consent_id.as_bytes(),
                    field,
                },
            )
            .map(|p| p.to_vec())
            .map_err(|e| ServiceError::Integrity(format!("consent {consent_id} {field}: {e}")))
        };
        let evidence: Evidence = serde_json::from_slice(&open(&row.evidence_ct, "evidence")?)
            .map_err(|e| ServiceError::Integrity(e.to_string()))?;
        let representative = match &row.representative_ct {
            Some(ct) => Some(
                serde_json::from_slice(&open(ct, "representative")?)
                    .map_err(|e| ServiceError::Integrity(e.to_string()))?,
            ),
            None => None,
        };
        let event = self.record(
            actor,
            "consent.evidence",
            Operation::Extraction,
            None,
            Some(subject_id),
            Outcome::Done,
            json!({ "consent": consent_id }),
        );
        self.finish(tx, vec![event]).await?;
        Ok((evidence, representative))
    }
}

fn special_refusal(
    field: &str,
    name: &str,
    marker: &str,
    sensitivity: Sensitivity,
) -> ServiceError {
    let norm = sensitivity.norm().unwrap_or(law::SPECIAL_CATEGORY_NORM);
    let what = if sensitivity == Sensitivity::Biometric {
        "биометрические персональные данные"
    } else {
        "специальные категории персональных данных"
    };
    ServiceError::invalid(
        field,
        "special_category_refused",
        format!(
            "«{name}» — {what} (признак «{marker}»); оператор их не обрабатывает ({norm}), данные не приняты"
        ),
    )
}

pub(crate) fn consent_state(
    c: &ConsentRow,
    today: jiff::civil::Date,
) -> ServiceResult<ConsentState> {
    if c.withdrawal.is_some() {
        return Ok(ConsentState::Withdrawn);
    }
    if let Some(until) = &c.valid_until
        && parse_date(until)? < today
    {
        return Ok(ConsentState::Expired);
    }
    Ok(ConsentState::Given)
}

fn contract_active(c: &ContractRow, today: jiff::civil::Date) -> ServiceResult<bool> {
    Ok(match &c.terminated_on {
        None => true,
        Some(on) => parse_date(on)? > today,
    })
}

fn consent_view(c: &ConsentRow, today: jiff::civil::Date) -> ServiceResult<ConsentView> {
    Ok(ConsentView {
        id: c.id,
        kind: c.kind,
        state: consent_state(c, today)?,
        purposes: c.purposes.clone(),
        recipients: c.recipients.clone(),
        channel: c.channel.clone(),
        document: pdv_core::consent::ConsentDocument {
            id: c.document_id.clone(),
            version: c.document_version.clone(),
            sha256: c.document_sha256.clone(),
        },
        policy_version: c.policy_version.clone(),
        given_at: ms_to_ts(c.given_at_ms),
        valid_until: c.valid_until.as_deref().map(parse_date).transpose()?,
        withdrawn_at: c.withdrawal.as_ref().map(|w| ms_to_ts(w.at_ms)),
        withdrawal_channel: c.withdrawal.as_ref().map(|w| w.channel.clone()),
    })
}

fn contract_view(c: &ContractRow, today: jiff::civil::Date) -> ServiceResult<ContractView> {
    Ok(ContractView {
        id: c.id,
        reference: c.reference.clone(),
        concluded_on: parse_date(&c.concluded_on)?,
        terminated_on: c.terminated_on.as_deref().map(parse_date).transpose()?,
        active: contract_active(c, today)?,
    })
}

fn block_view(b: &BlockRow) -> BlockView {
    BlockView {
        id: b.id,
        category: b.category.clone(),
        reason: b.reason.clone(),
        placed_at: ms_to_ts(b.placed_at_ms),
        lifted_at: b.lifted_at_ms.map(ms_to_ts),
        lift_reason: b.lift_reason.clone(),
    }
}

/// Checks values against their category's declared fields (ст. 5 ч. 5: nothing beyond what the
/// policy declares; special categories refused with their norm) and returns them normalised;
/// problems are added with the field's path.
/// What collecting data from a third party owes the subject.
enum SourceNotice {
    /// A ground of ст. 18 ч. 4 from the policy: no notice, and the ground is recorded.
    Exempt(law::NoticeExemption),
    /// The ст. 18 ч. 3 notice goes to this address through the outbox.
    Queue(String),
}

pub(crate) fn check_fields(
    category: &pdv_core::policy::Category,
    fields: &serde_json::Map<String, serde_json::Value>,
    problems: &mut Vec<Problem>,
) -> Vec<(String, String)> {
    if fields.is_empty() {
        problems.push(Problem::new("fields", "empty", "нет ни одного поля"));
    }
    let mut values = Vec::new();
    for (name, value) in fields {
        let path = format!("fields.{name}");
        match category.field(name) {
            None => match law::sensitive_marker(name) {
                Some((marker, sensitivity)) => {
                    if let ServiceError::Invalid(mut p) =
                        special_refusal(&path, name, marker, sensitivity)
                    {
                        problems.append(&mut p);
                    }
                }
                None => {
                    let known: Vec<&str> = category.fields.iter().map(|f| f.id.as_str()).collect();
                    problems.push(Problem::new(path, "unknown_field", format!("поле «{name}» не объявлено в категории «{}» (ст. 5 ч. 5: лишние данные не собираются); допустимы: {}", category.id, known.join(", "))));
                }
            },
            Some(field) => match field.spec().parse(value) {
                Ok(v) => values.push((name.clone(), v)),
                Err(e) => problems.push(Problem::new(
                    path,
                    "invalid_value",
                    format!("поле «{}»: {e}", field.title),
                )),
            },
        }
    }
    values
}
