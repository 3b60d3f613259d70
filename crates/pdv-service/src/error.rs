//! The one error type of the service boundary. Each variant carries what a caller needs to tell
//! a person what went wrong: a stable code, the field at fault, and a message in Russian.

use pdv_core::access::Denial;
use pdv_store::StoreError;

pub type ServiceResult<T> = Result<T, ServiceError>;

/// One problem with a request, tied to the field it concerns (dotted path, e.g. `fields.phone`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = FieldProblem)]
pub struct Problem {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl Problem {
    pub fn new(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is well-formed but breaks the policy or the law; nothing was changed.
    #[error("запрос отклонён: {}", .0.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// The purpose check refused; the refusal itself was audited.
    #[error("{}", .0.message())]
    Denied(Denial),
    /// The transfer check refused; the refusal itself was audited.
    #[error("{}", .0.message())]
    TransferDenied(pdv_core::transfer::TransferDenial),
    /// No valid credentials: missing, wrong, expired or revoked.
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: String },
    /// The caller is known but its role or key scope does not allow this; audited.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{what} {id} не найден")]
    NotFound { what: &'static str, id: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The subject's data key was destroyed (crypto-shredding): the data is gone for good.
    #[error("данные субъекта {id} уничтожены {at}; восстановить их невозможно")]
    Destroyed { id: String, at: String },
    /// A backup archive is damaged, forged, or not for this vault; nothing was restored.
    #[error("архив {file}, строка {line}: {message}")]
    BadArchive {
        file: String,
        line: u64,
        message: String,
    },
    /// Reading or writing a file failed (a backup archive, for instance).
    #[error("{0}")]
    Io(String),
    /// The master key does not belong to this database.
    #[error(
        "мастер-ключ не подходит к этой базе данных (ключ {given}, база создана с ключом {expected}): укажите верный файл ключа (--key-file) или переменную PDV_MASTER_KEY"
    )]
    WrongMasterKey { given: String, expected: String },
    /// Stored data failed an integrity check (tampering, or a bug); nothing is served from it.
    #[error("нарушена целостность хранимых данных: {0}")]
    Integrity(String),
    /// The request repeats one made earlier with the same idempotency key: answer with the
    /// stored response. Nothing was changed this time.
    #[error("повтор запроса с тем же ключом идемпотентности")]
    Replayed(crate::views::StoredResponse),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ServiceError {
    pub fn invalid(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> ServiceError {
        ServiceError::Invalid(vec![Problem::new(field, code, message)])
    }

    /// Whether the whole command may simply be retried (the database was busy).
    pub fn is_retryable(&self) -> bool {
        matches!(self, ServiceError::Store(StoreError::Retryable(_)))
    }

    /// Whether the database could not be reached (connection lost, server down or full):
    /// nothing was committed, and the request may be repeated once it is back.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, ServiceError::Store(StoreError::Backend(_)))
    }

    /// A stable machine code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Invalid(problems) => problems.first().map_or("invalid", |p| p.code),
            ServiceError::Denied(d) => d.code(),
            ServiceError::TransferDenied(d) => d.code(),
            ServiceError::Unauthenticated { code, .. } => code,
            ServiceError::Forbidden { code, .. } => code,
            ServiceError::NotFound { .. } => "not_found",
            ServiceError::Conflict { code, .. } => code,
            ServiceError::WrongMasterKey { .. } => "wrong_master_key",
            ServiceError::Destroyed { .. } => "subject_destroyed",
            ServiceError::BadArchive { .. } => "bad_archive",
            ServiceError::Io(_) => "io_error",
            ServiceError::Integrity(_) => "integrity_error",
            ServiceError::Replayed(_) => "replayed",
            ServiceError::Store(StoreError::Retryable(_)) => "busy",
            ServiceError::Store(StoreError::Conflict(_)) => "conflict",
            ServiceError::Store(StoreError::Backend(_)) => "database_unavailable",
            ServiceError::Store(_) => "storage_error",
        }
    }
}
