//! The OpenAPI 3.1 description of the API, generated from the handlers' `#[utoipa::path]`
//! annotations and the request and response types, and the bundled Swagger UI that shows it.
//!
//! The document is built from the code rather than written by hand so that it cannot describe an
//! API the server does not have. A copy is committed as `openapi.json` at the repository root for
//! integrators and reviewers; `tests/openapi.rs` fails when the copy and the code part ways.

use std::sync::LazyLock;

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, Required, Response, ResponseBuilder,
    Type,
};
use utoipa::{IntoParams, Modify, OpenApi, ToResponse};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::problem::ProblemDetails;
use crate::{accounts, incidents, journal, retention, rkn, routes, transfers};

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";
/// Where Swagger UI is served.
pub const DOCS_PATH: &str = "/api/docs";
/// The media type of every error response.
const PROBLEM_JSON: &str = "application/problem+json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "pdvault API",
        version = env!("CARGO_PKG_VERSION"),
        description = "HTTP JSON API pdvault — системы учёта персональных данных по 152-ФЗ «О персональных данных».\n\n\
Каждый запрос к данным называет цель обработки; данные выдаются и принимаются, только если цель объявлена в политике оператора и её правовое основание (согласие, договор, закон) действует для субъекта сейчас. Каждое обращение, разрешённое или нет, записывается в журнал аудита.\n\n\
Ошибки возвращаются в формате RFC 9457 (`application/problem+json`) со стабильным кодом `code` и путём к полю `field`. \
Запросы на создание принимают заголовок `Idempotency-Key`: повтор с тем же ключом и телом возвращает первый ответ и ничего не создаёт.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        routes::health,
        routes::ready,
        routes::policy,
        routes::openapi_json,
        crate::metrics::scrape,
        accounts::login,
        accounts::logout,
        accounts::me,
        accounts::list_users,
        accounts::add_user,
        accounts::disable_user,
        accounts::enable_user,
        accounts::unlock_user,
        accounts::set_password,
        accounts::list_keys,
        accounts::create_key,
        accounts::revoke_key,
        routes::create_subject,
        routes::find_subjects,
        routes::subject_summary,
        routes::add_record,
        routes::rectify_record,
        routes::read_data,
        routes::record_consent,
        routes::withdraw_consent,
        routes::consent_evidence,
        routes::add_contract,
        routes::terminate_contract,
        routes::record_anchor,
        routes::list_anchors,
        routes::place_block,
        routes::lift_block,
        routes::verify_audit,
        journal::receive,
        journal::list,
        journal::show,
        journal::step,
        journal::answer,
        journal::outbox,
        journal::report,
        retention::list_acts,
        retention::show_act,
        retention::plan,
        retention::retained,
        retention::run,
        transfers::transfer,
        transfers::list_transfers,
        transfers::withdraw_for_recipients,
        transfers::register,
        rkn::notice,
        rkn::filed,
        incidents::register,
        incidents::list,
        incidents::due,
        incidents::show,
        incidents::step,
        incidents::notice,
    ),
    components(
        schemas(ProblemDetails),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Gone,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unprocessable,
            TooManyRequests,
            ServiceUnavailable,
            InternalError,
        ),
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "access", description = "Доступ: вход сотрудников, учётные записи и роли, ключи API интеграций, ограниченные целями и категориями. Каждый отказ записывается в журнал аудита."),
        (name = "subjects", description = "Субъекты персональных данных: создание, поиск, сводка без значений."),
        (name = "records", description = "Персональные данные: сбор и выдача, каждый раз для заявленной цели."),
        (name = "consents", description = "Согласия (ст. 9 152-ФЗ): запись с доказательствами, отзыв, предъявление доказательств."),
        (name = "contracts", description = "Договоры с субъектом — основание обработки по ст. 6 ч. 1 п. 5."),
        (name = "blocks", description = "Блокирование данных (ст. 21): заблокированные данные хранятся, но не используются."),
        (name = "requests", description = "Журнал учёта обращений субъектов и запросов Роскомнадзора: регистрация с законным сроком в рабочих днях, шаги, продление, ответ, отказ. Журнал только дополняется."),
        (name = "outbox", description = "Исходящие: ответы и уведомления заявителям для почтовой или SMS-интеграции оператора; pdvault сам ничего не отправляет."),
        (name = "transfers", description = "Передача данных обработчикам и получателям (п. 4.4–4.8 политики, ст. 6 ч. 3, ст. 12): проверка по перечню, журнал передач, перечень с недостающими условиями договоров."),
        (name = "retention", description = "Сроки хранения и уничтожение: план по правилам политики, выполнение с криптографическим стиранием, акты об уничтожении (Приказ Роскомнадзора № 179) с выгрузкой из журнала событий."),
        (name = "rkn", description = "Уведомление Роскомнадзора об обработке персональных данных (ст. 22 152-ФЗ): содержание из политики, хеш, отметка о подаче и признак устаревания."),
        (name = "incidents", description = "Реестр инцидентов (ст. 21 ч. 3.1 152-ФЗ): регистрация неправомерной или случайной передачи персональных данных, таймеры первичного уведомления Роскомнадзора (24 часа) и результатов внутреннего расследования (72 часа) с момента выявления, отметки об уведомлениях, проекты уведомлений. Реестр только дополняется."),
        (name = "audit", description = "Журнал аудита: проверка целостности цепочки."),
        (name = "policy", description = "Политика оператора — словарь идентификаторов для остальных запросов."),
        (name = "service", description = "Служебное: состояние сервиса и это описание API."),
    ),
)]
struct ApiDoc;

/// The API's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as committed in `openapi.json`: pretty-printed, with a trailing newline. Keys come
/// out in a fixed order (struct fields in declaration order, maps sorted), so the text changes
/// only when the API does.
pub fn to_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .expect("the OpenAPI document is plain data and always serialises");
    json.push('\n');
    json
}

/// The served document, rendered once.
pub(crate) static SERVED: LazyLock<String> = LazyLock::new(to_json);

/// Swagger UI at [`DOCS_PATH`], reading the document from [`OPENAPI_PATH`]. Its files are compiled
/// into the binary (utoipa-swagger-ui's `vendored` and `debug-embed` features), so the page works
/// on a server without internet access and loads nothing from third-party hosts.
pub(crate) fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new(DOCS_PATH).config(
        Config::new([OPENAPI_PATH])
            // The default validator badge sends the document to validator.swagger.io.
            .validator_url("none")
            .try_it_out_enabled(true)
            .display_operation_id(true),
    )
}

/// Declares the `bearer` scheme. Authentication itself is being built separately; the document
/// already marks which endpoints will require a token, so integrators can prepare for it.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Токен сеанса сотрудника или ключ API в заголовке `Authorization: Bearer <токен>`. Не нужен для `/health`, `/ready`, `/api/v1/policy`, входа и описания API.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The `Idempotency-Key` header of create requests. Written by hand because the derive would
/// take the parameter's description from a doc comment, and the text here is for integrators.
pub(crate) struct IdempotencyKey;

impl IntoParams for IdempotencyKey {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(255))
            .pattern(Some("^[!-~]+$"))
            .examples(["3f0c1d2e-8a4b-4c6d-9e7f-0a1b2c3d4e5f"]);
        vec![
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Ключ идемпотентности: от 1 до 255 видимых символов ASCII, удобно — UUID. Повтор запроса с тем же ключом и тем же телом возвращает первый ответ (с заголовком `Idempotent-Replayed: true`) и ничего не создаёт; тот же ключ с другим запросом — ошибка 409 `idempotency_key_reused`.",
                ))
                .schema(Some(schema))
                .build(),
        ]
    }
}

/// An error response: problem+json with the `ProblemDetails` schema and one example.
fn problem(description: &str, example: serde_json::Value) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ProblemDetails")))
            .example(Some(example))
            .build(),
    )
}

/// An example problem body for `status` and `code`.
fn example(
    status: u16,
    title: &str,
    code: &str,
    detail: &str,
    field: Option<&str>,
) -> serde_json::Value {
    let mut body = serde_json::json!({
        "type": format!("urn:pdvault:problem:{code}"),
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    });
    if let Some(field) = field {
        body["field"] = field.into();
    }
    body
}

/// Declares a reusable error response: the handlers refer to it by name in their
/// `responses(...)`, and it lands once in `components/responses`.
macro_rules! problem_response {
    ($name:ident, $build:expr) => {
        pub(crate) struct $name;

        impl<'s> ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<Response>) {
                let builder: ResponseBuilder = $build;
                (stringify!($name), builder.build().into())
            }
        }
    };
}

problem_response!(
    BadRequest,
    problem(
        "Запрос не разобран. Коды: `malformed_json` — тело не JSON или после объекта лишние данные; `invalid_id` — идентификатор в пути не UUID; `invalid_idempotency_key` — неверный `Idempotency-Key`; `purpose_required` — не указана цель; `unknown_parameter` — неизвестный параметр строки запроса.",
        example(
            400,
            "Некорректный запрос",
            "invalid_id",
            "«42» не является идентификатором (subject): ожидается UUID",
            Some("subject"),
        ),
    )
);

problem_response!(
    Forbidden,
    problem(
        "Отказ в обработке; он записан в журнал аудита. Коды: `role_not_allowed` — роль вызывающего не даёт права на это действие; `key_purpose_not_allowed`, `key_category_not_allowed` — ключ API не выдан для этой цели или категории; проверка цели: `unknown_purpose`, `unknown_category`, `category_not_allowed`, `subject_not_covered`, `no_consent`, `no_contract`, `depersonalised_only`, `blocked`; `field` — `purpose` или `categories`.",
        example(
            403,
            "Обработка запрещена",
            "no_consent",
            "для цели «marketing» нет действующего согласия субъекта (не дано, отозвано или истекло; ст. 6 ч. 1 п. 1 152-ФЗ)",
            Some("purpose"),
        ),
    )
);

problem_response!(
    Unauthorized,
    problem(
        "Нет действующих учётных данных; ответ несёт заголовок `WWW-Authenticate: Bearer`. Коды: `unauthenticated` — нет заголовка `Authorization`; `malformed_authorization` — он не вида `Bearer <токен>`; `invalid_token` — токен не распознан; `session_expired` — сеанс истёк; `account_disabled` — учётная запись отключена; `key_revoked`, `key_expired` — ключ API отозван или просрочен. При входе: `invalid_credentials` — неверный логин или пароль; `account_locked` — вход временно заблокирован после неудачных попыток.",
        example(
            401,
            "Нужна аутентификация",
            "unauthenticated",
            "нужна аутентификация: заголовок Authorization: Bearer <токен сеанса или ключ API>",
            None,
        ),
    )
    .header(
        "WWW-Authenticate",
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some("`Bearer realm=\"pdvault\"`"))
            .build(),
    )
);

problem_response!(
    NotFound,
    problem(
        "Субъект, согласие, договор или блокирование с таким идентификатором не найдены (код `not_found`).",
        example(
            404,
            "Не найдено",
            "not_found",
            "субъект 0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b не найден",
            None,
        ),
    )
);

problem_response!(
    Gone,
    problem(
        "Данные субъекта уничтожены (код `subject_destroyed`): его ключ данных удалён, остались только идентификатор и журнал аудита. Восстановить данные невозможно, в том числе из резервной копии.",
        example(
            410,
            "Данные уничтожены",
            "subject_destroyed",
            "данные субъекта 0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b уничтожены 21.11.2026 09:30; восстановить их невозможно",
            None,
        ),
    )
);

problem_response!(
    Conflict,
    problem(
        "Запрос противоречит состоянию данных. Коды: `idempotency_key_reused` — ключ идемпотентности уже использован для другого запроса; `already_withdrawn`, `already_terminated`, `already_lifted` — действие уже выполнено; `conflict` — параллельный запрос успел раньше, повторите.",
        example(
            409,
            "Конфликт",
            "already_withdrawn",
            "согласие 0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b уже отозвано",
            None,
        ),
    )
);

problem_response!(
    PayloadTooLarge,
    problem(
        "Тело запроса больше 64 КиБ (код `body_too_large`).",
        example(
            413,
            "Слишком большой запрос",
            "body_too_large",
            "тело запроса больше 64 КиБ",
            None,
        ),
    )
);

problem_response!(
    UnsupportedMediaType,
    problem(
        "Тело запроса не JSON: нужен заголовок `Content-Type: application/json` (код `unsupported_media_type`).",
        example(
            415,
            "Неподдерживаемый формат",
            "unsupported_media_type",
            "тело запроса должно быть JSON: укажите заголовок Content-Type: application/json",
            None,
        ),
    )
);

problem_response!(
    Unprocessable,
    problem(
        "Запрос разобран, но отклонён: неверный тип или значение поля (`invalid_field`), нарушение политики или закона (например, `unknown_category`, `invalid_value`, `special_category_refused`, `invalid_consent`). Ничего не изменено. `field` — первое поле с ошибкой, `errors` — все найденные нарушения.",
        example(
            422,
            "Запрос отклонён",
            "special_category_refused",
            "fields.health_status: «health_status» — специальные категории персональных данных (признак «health»); оператор их не обрабатывает (ст. 10 152-ФЗ), данные не приняты",
            Some("fields.health_status"),
        ),
    )
);

problem_response!(
    TooManyRequests,
    problem(
        "Слишком много неудачных попыток входа с одного адреса (код `too_many_requests`); пароль не проверялся. Повторите через указанное в `Retry-After` число секунд. Первый отказ из серии записывается в журнал аудита.",
        example(
            429,
            "Слишком много запросов",
            "too_many_requests",
            "слишком много неудачных попыток входа с вашего адреса; повторите через 6 с",
            None,
        ),
    )
    .header(
        "Retry-After",
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some("Через сколько секунд повторить попытку."))
            .build(),
    )
);

problem_response!(
    ServiceUnavailable,
    problem(
        "База данных занята (код `busy`) или недоступна (код `database_unavailable`: соединение потеряно, сервер остановлен); ничего не изменено, запрос можно повторить через указанное в `Retry-After` число секунд — сервер сам восстановит соединение, когда база вернётся.",
        example(
            503,
            "Сервис временно недоступен",
            "busy",
            "база данных занята, повторите запрос",
            None,
        ),
    )
    .header(
        "Retry-After",
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some("Через сколько секунд повторить запрос."))
            .build(),
    )
);

problem_response!(
    InternalError,
    problem(
        "Внутренняя ошибка: нарушена целостность хранимых данных (`integrity_error`) или отказало хранилище (`storage_error`). Данные из повреждённых записей не выдаются.",
        example(
            500,
            "Внутренняя ошибка",
            "integrity_error",
            "нарушена целостность хранимых данных",
            None,
        ),
    )
);
