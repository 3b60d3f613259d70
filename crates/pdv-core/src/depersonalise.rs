//! Depersonalisation (обезличивание, ст. 3 п. 9 152-ФЗ) of the vault's personal data into a
//! dataset for statistics (ст. 6 ч. 1 п. 9; seed policy 2.3, 10.1–10.2), by the methods of
//! Приказ Роскомнадзора № 140:
//!
//! * **введение идентификаторов** (identifier replacement): every subject in the dataset is
//!   known only by a random pseudonym drawn for this run; the table pseudonym → subject id is
//!   produced separately and only on request, and never enters the dataset;
//! * **изменение состава и семантики** (change of composition and meaning): direct identifiers
//!   are removed ([`Treatment::Drop`]); quasi-identifiers are generalised ([`Generalisation`]:
//!   date of birth → ten-year age band, address → city, dates and instants → month, money →
//!   band); rows of groups smaller than k are suppressed when the caller asks for it;
//! * **перемешивание** (shuffling): rows are output in random order, so their position says
//!   nothing about when a subject came.
//!
//! # Rows
//!
//! The dataset has **one row per record** of the purposes' categories, not one per subject:
//! the statistics the purposes serve (search queries, visits to sections, orders, claims) count
//! events, and a subject with many records has many rows. Each row carries the subject's
//! pseudonym (so "how many distinct visitors" stays answerable), the record's category, and one
//! column per output field of every category; the fields of other categories stay empty. A
//! quasi-identifier the caller adds from a category outside the purposes (`--quasi
//! personal_details.birth_date`) is an attribute of the subject: its generalised value from the
//! subject's latest record of that category is repeated on every row of the subject.
//!
//! # k-anonymity
//!
//! Two rows are in the same equivalence class when they have the same category and the same
//! values of every quasi-identifier column. A class's size is the number of **distinct
//! subjects** in it, not of rows: five search queries of one person are one person. The
//! dataset's k is the size of its smallest class, and an export whose k is below the required
//! minimum is refused, unless suppression was asked for, which drops the rows of every class
//! below the minimum (after which k is at least the minimum, or the dataset is empty).
//!
//! The quasi-identifiers are never fewer than the default: every generalised column and every
//! column kept as is but not categorical by construction (short texts, sex) counts. The caller
//! can add columns, never remove them.
//!
//! Known limit: k is computed per row. Rows of one subject share a pseudonym, so someone who
//! knows several facts about a person (a month of a claim *and* a month of an enquiry) may find
//! fewer than k pseudonyms with that combination. The key table's absence does not change that;
//! a stricter dataset needs fewer columns or coarser generalisation.
//!
//! Everything here is pure: the caller reads the records, passes the operator's date and time
//! zone, and a 32-byte seed from the operating system for the random choices.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::field::FieldType;
use crate::ids::SubjectId;
use crate::operation::Operation;
use crate::policy::Policy;

/// The word of `--purpose` that means every depersonalised-only purpose of the policy together.
pub const ALL_STATISTICS: &str = "statistics";

/// The one error type of depersonalisation. Messages are in Russian and say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepersonaliseError {
    #[error(
        "цель «{purpose}» не объявлена в политике; обезличенная выгрузка допустима для целей: {}",
        allowed_list(.allowed)
    )]
    UnknownPurpose {
        purpose: String,
        allowed: Vec<String>,
    },
    #[error(
        "цель «{purpose}» не отмечена в политике как цель только для обезличенных данных \
         (depersonalised_only = true), поэтому обезличенная выгрузка для неё не делается; \
         допустимые цели: {}",
        allowed_list(.allowed)
    )]
    NotDepersonalisedOnly {
        purpose: String,
        allowed: Vec<String>,
    },
    #[error(
        "в политике нет ни одной цели только для обезличенных данных (depersonalised_only = true): \
         обезличенная выгрузка не нужна ни для одной объявленной цели"
    )]
    NoStatisticsPurposes,
    #[error(
        "для цели «{purpose}» политика не допускает операцию «обезличивание»: добавьте \
         \"depersonalisation\" в её список operations"
    )]
    OperationNotAllowed { purpose: String },
    #[error("«{text}»: поле указывается как категория.поле, например personal_details.birth_date")]
    BadColumn { text: String },
    #[error("поле «{column}» не объявлено в политике")]
    UnknownColumn { column: String },
    #[error(
        "поле «{column}» — прямой идентификатор ({}); в обезличенный набор оно не попадает ни в каком виде",
        .kind.title_ru()
    )]
    DirectIdentifier { column: String, kind: DirectKind },
    #[error(
        "поле «{column}» не входит в категории цели, и добавить его можно, только если его значение \
         обобщается (дата рождения, возраст, город, адрес, пол, дата или время, сумма); у этого поля \
         тип {field_type}"
    )]
    NotGeneralisable {
        column: String,
        field_type: &'static str,
    },
    #[error("минимальный размер группы k: «{text}» — ожидается целое число не меньше 2")]
    BadK { text: String },
    #[error("формат набора «{text}»: допустимы csv и json")]
    BadFormat { text: String },
    #[error(
        "набор не выгружен: k-анонимность не достигнута (k = {achieved}, требуется не меньше \
         {required}) — наименьшая группа строк с одинаковыми значениями квазиидентификаторов \
         относится к {achieved} чел.; строк в слишком малых группах: {rows_below} из {rows}. \
         Уменьшите число квазиидентификаторов, снизьте k или включите подавление малых групп \
         (--suppress)"
    )]
    BelowK {
        achieved: u32,
        required: u32,
        rows: usize,
        rows_below: usize,
    },
}

fn allowed_list(allowed: &[String]) -> String {
    if allowed.is_empty() {
        "таких целей в политике нет".into()
    } else {
        format!("{} или {ALL_STATISTICS} (все вместе)", allowed.join(", "))
    }
}

// ------------------------------------------------------------------------------------------------
// Parameters, parsed at the boundary.

/// The smallest allowed equivalence-class size. A k of 1 protects nothing, so the least is 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct MinK(u32);

impl MinK {
    /// The default minimum when the caller names none.
    pub const DEFAULT: MinK = MinK(5);

    pub fn new(k: u32) -> Result<MinK, DepersonaliseError> {
        if k >= 2 {
            Ok(MinK(k))
        } else {
            Err(DepersonaliseError::BadK {
                text: k.to_string(),
            })
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for MinK {
    fn default() -> Self {
        MinK::DEFAULT
    }
}

impl FromStr for MinK {
    type Err = DepersonaliseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || DepersonaliseError::BadK {
            text: s.to_string(),
        };
        let k: u32 = s.trim().parse().map_err(|_| bad())?;
        MinK::new(k).map_err(|_| bad())
    }
}

impl fmt::Display for MinK {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A field named as `category.field`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ColumnRef {
    category: String,
    field: String,
}

impl ColumnRef {
    pub fn new(category: &str, field: &str) -> ColumnRef {
        ColumnRef {
            category: category.to_string(),
            field: field.to_string(),
        }
    }

    pub fn category(&self) -> &str {
        &self.category
    }

    pub fn field(&self) -> &str {
        &self.field
    }
}

impl FromStr for ColumnRef {
    type Err = DepersonaliseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || DepersonaliseError::BadColumn {
            text: s.to_string(),
        };
        let (category, field) = s.trim().split_once('.').ok_or_else(bad)?;
        let part_ok = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !part_ok(category) || !part_ok(field) {
            return Err(bad());
        }
        Ok(ColumnRef::new(category, field))
    }
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.category, self.field)
    }
}

/// What `--purpose` names: one purpose, or every depersonalised-only purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurposeSelector {
    /// The word [`ALL_STATISTICS`]. It wins over a purpose of the same id, should a policy have
    /// one: such a purpose is depersonalised-only and is included anyway, or it is not and
    /// must not be exported.
    AllStatistics,
    Purpose(String),
}

impl FromStr for PurposeSelector {
    type Err = DepersonaliseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Ok(if s == ALL_STATISTICS {
            PurposeSelector::AllStatistics
        } else {
            PurposeSelector::Purpose(s.to_string())
        })
    }
}

impl fmt::Display for PurposeSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PurposeSelector::AllStatistics => f.write_str(ALL_STATISTICS),
            PurposeSelector::Purpose(p) => f.write_str(p),
        }
    }
}

/// The file format of the dataset and of the key table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetFormat {
    /// RFC 4180 with a header line, UTF-8.
    #[default]
    Csv,
    /// An array of objects, one per row; an empty cell is `null`.
    Json,
}

impl DatasetFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetFormat::Csv => "csv",
            DatasetFormat::Json => "json",
        }
    }
}

impl FromStr for DatasetFormat {
    type Err = DepersonaliseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(DatasetFormat::Csv),
            "json" => Ok(DatasetFormat::Json),
            _ => Err(DepersonaliseError::BadFormat {
                text: s.to_string(),
            }),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Classification of fields.

/// Why a field is a direct identifier and never output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectKind {
    Email,
    Phone,
    Passport,
    PaymentCard,
    IpAddress,
    CookieId,
    Geo,
    /// Free text may name anyone and anything; it cannot be depersonalised mechanically.
    FreeText,
    Url,
    /// A person's name: last, first, middle name, a display or addressee name.
    Name,
    /// A number or id that points at one person or one document: a contract or order number,
    /// an account, a login, a card or document reference.
    Identifier,
}

impl DirectKind {
    pub fn title_ru(self) -> &'static str {
        match self {
            DirectKind::Email => "адрес электронной почты",
            DirectKind::Phone => "номер телефона",
            DirectKind::Passport => "данные паспорта",
            DirectKind::PaymentCard => "номер платёжной карты",
            DirectKind::IpAddress => "IP-адрес",
            DirectKind::CookieId => "идентификатор cookie",
            DirectKind::Geo => "координаты",
            DirectKind::FreeText => "свободный текст",
            DirectKind::Url => "адрес страницы",
            DirectKind::Name => "имя человека",
            DirectKind::Identifier => "номер или идентификатор",
        }
    }
}

/// How a quasi-identifier's value is made coarser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Generalisation {
    /// A date of birth becomes the ten-year age band on the export day: `30–39`, `90+`.
    AgeFromBirthDate,
    /// An age in years becomes its ten-year band.
    AgeBand,
    /// A one-line postal address becomes its city (empty when no city is marked in it).
    CityFromAddress,
    /// A city stays a city, with the «г.» prefix removed so that spellings agree.
    City,
    /// A date becomes its month, `YYYY-MM`.
    Month,
    /// An instant becomes its month in the operator's time zone, `YYYY-MM`.
    MonthOfInstant,
    /// An amount of money becomes a band in whole roubles: `1000–1999`.
    MoneyBand,
    /// Kept as it is, but counted as a quasi-identifier: sex, and short texts that the policy
    /// does not mark as identifiers (a tariff's name, an enquiry's topic) but that could still
    /// single someone out. A text that holds a unique value then makes k fall and the export is
    /// refused, which is the safe failure.
    AsIs,
}

impl Generalisation {
    pub fn title_ru(self) -> &'static str {
        match self {
            Generalisation::AgeFromBirthDate => "дата рождения → возраст десятилетием",
            Generalisation::AgeBand => "возраст → десятилетие",
            Generalisation::CityFromAddress => "адрес → город",
            Generalisation::City => "город",
            Generalisation::Month => "дата → месяц",
            Generalisation::MonthOfInstant => "время → месяц",
            Generalisation::MoneyBand => "сумма → интервал",
            Generalisation::AsIs => "без изменения, учитывается в k",
        }
    }

    /// Whether the value is actually changed (as opposed to only being counted in k).
    pub fn changes_value(self) -> bool {
        !matches!(self, Generalisation::AsIs)
    }
}

/// What happens to one field of a category in the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Treatment {
    /// A direct identifier: never output.
    Drop(DirectKind),
    /// A quasi-identifier: output generalised, and counted in k.
    Generalise(Generalisation),
    /// Categorical by construction (an enum, a boolean) or a measurement (a number): output as
    /// stored, not counted in k unless the caller adds it.
    Keep,
}

/// Parts of a field id that mark it as naming a person or pointing at one. Field ids are
/// snake_case words; a field is an identifier when any of its words is one of these. The list
/// errs on the side of dropping: a wrongly dropped column costs a statistic, a wrongly kept one
/// costs a person's privacy.
const IDENTIFIER_WORDS: &[&str] = &[
    "name",
    "surname",
    "patronymic",
    "number",
    "num",
    "no",
    "id",
    "uid",
    "login",
    "mac",
    "account",
    "document",
    "passport",
    "bank",
    "inn",
    "snils",
    "card",
    "reference",
    "ref",
    "token",
    "password",
    "signature",
    "email",
    "phone",
    "ip",
    "issued",
];

fn words(field_id: &str) -> impl Iterator<Item = String> + '_ {
    field_id
        .split(['_', '-', '.'])
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

fn has_word(field_id: &str, wanted: &[&str]) -> bool {
    words(field_id).any(|w| wanted.contains(&w.as_str()))
}

/// Decides a field's treatment from its type and, where the type says too little, its id.
///
/// * by type, always dropped: email, phone, passport, payment_card, ip_address, cookie_id, geo,
///   free_text, url;
/// * by id, dropped: texts and numbers whose id has a word of [`IDENTIFIER_WORDS`] (names,
///   numbers of contracts and orders, accounts, logins, document references);
/// * generalised: a date whose id has the word `birth` (age band), other dates (month),
///   datetimes (month), addresses (city), a text `city` (city), money (band), a number whose id
///   has the word `age` (age band), an enum `sex` or `gender` (as is);
/// * other texts: as is, counted as quasi-identifiers;
/// * enums, booleans, other numbers: kept as stored.
pub fn classify(field_id: &str, field_type: FieldType) -> Treatment {
    use FieldType as T;
    // Exhaustive on purpose: a new field type must be classified here before it compiles.
    match field_type {
        T::Email => Treatment::Drop(DirectKind::Email),
        T::Phone => Treatment::Drop(DirectKind::Phone),
        T::Passport => Treatment::Drop(DirectKind::Passport),
        T::PaymentCard => Treatment::Drop(DirectKind::PaymentCard),
        T::IpAddress => Treatment::Drop(DirectKind::IpAddress),
        T::CookieId => Treatment::Drop(DirectKind::CookieId),
        T::Geo => Treatment::Drop(DirectKind::Geo),
        T::FreeText => Treatment::Drop(DirectKind::FreeText),
        T::Url => Treatment::Drop(DirectKind::Url),
        T::Date if has_word(field_id, &["birth", "birthday"]) => {
            Treatment::Generalise(Generalisation::AgeFromBirthDate)
        }
        T::Date => Treatment::Generalise(Generalisation::Month),
        T::Datetime => Treatment::Generalise(Generalisation::MonthOfInstant),
        T::Address => Treatment::Generalise(Generalisation::CityFromAddress),
        T::Money => Treatment::Generalise(Generalisation::MoneyBand),
        T::Enum if has_word(field_id, &["sex", "gender"]) => {
            Treatment::Generalise(Generalisation::AsIs)
        }
        T::Enum | T::Boolean => Treatment::Keep,
        T::Text | T::Number => {
            if has_word(field_id, &["name", "surname", "patronymic"]) {
                Treatment::Drop(DirectKind::Name)
            } else if has_word(field_id, IDENTIFIER_WORDS) {
                Treatment::Drop(DirectKind::Identifier)
            } else if field_type == T::Number && has_word(field_id, &["age"]) {
                Treatment::Generalise(Generalisation::AgeBand)
            } else if field_type == T::Number {
                Treatment::Keep
            } else if has_word(field_id, &["city", "town", "locality"]) {
                Treatment::Generalise(Generalisation::City)
            } else {
                Treatment::Generalise(Generalisation::AsIs)
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Generalisation functions.

/// Makes values coarser as of one day in one time zone.
#[derive(Debug, Clone)]
pub struct Generaliser {
    today: Date,
    zone: TimeZone,
}

impl Generaliser {
    /// `today` is the operator's civil date (ages are counted on it); `zone` the operator's time
    /// zone (instants fall into months in it).
    pub fn new(today: Date, zone: TimeZone) -> Generaliser {
        Generaliser { today, zone }
    }

    /// The generalised value, or `None` when the stored value cannot be generalised (a value
    /// that does not parse is left out rather than output as it is).
    pub fn apply(&self, generalisation: Generalisation, value: &str) -> Option<String> {
        let value = value.trim();
        match generalisation {
            Generalisation::AgeFromBirthDate => {
                let birth: Date = value.parse().ok()?;
                age_band(age_on(birth, self.today)?)
            }
            Generalisation::AgeBand => {
                let age: f64 = value.parse().ok().filter(|a: &f64| a.is_finite())?;
                // Truncation is the point: 39.9 years is still 39.
                age_band(age.floor() as i64)
            }
            Generalisation::CityFromAddress => city_of_address(value),
            Generalisation::City => normalise_city(value),
            Generalisation::Month => month_of_date(value),
            Generalisation::MonthOfInstant => month_of_instant(value, &self.zone),
            Generalisation::MoneyBand => money_band(value),
            Generalisation::AsIs => (!value.is_empty()).then(|| collapse_spaces(value)),
        }
    }
}

/// Full years between `birth` and `on`; `None` for a birth after `on`.
pub fn age_on(birth: Date, on: Date) -> Option<i64> {
    if birth > on {
        return None;
    }
    let mut years = i64::from(on.year()) - i64::from(birth.year());
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    Some(years)
}

/// The ten-year band of an age: `0–9`, …, `80–89`, and `90+` for the oldest, who are few enough
/// to be singled out by the exact decade. `None` for an age no person has.
pub fn age_band(age: i64) -> Option<String> {
    match age {
        a if !(0..=150).contains(&a) => None,
        a if a >= 90 => Some("90+".into()),
        a => {
            let low = a / 10 * 10;
            Some(format!("{low}–{}", low + 9))
        }
    }
}

/// Lower bounds of the money bands, in roubles.
const MONEY_BANDS: [i64; 9] = [0, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000];

/// The band of an amount in whole roubles: `0–499`, `500–999`, …, `100000+`; below zero `<0`.
pub fn money_band(value: &str) -> Option<String> {
    let amount: f64 = value
        .trim()
        .replace(',', ".")
        .parse()
        .ok()
        .filter(|a: &f64| a.is_finite())?;
    if amount < 0.0 {
        return Some("<0".into());
    }
    // Whole roubles: the kopecks never move an amount into another band's label.
    let roubles = amount.floor() as i64;
    let i = MONEY_BANDS.iter().rposition(|&low| low <= roubles)?;
    Some(match MONEY_BANDS.get(i + 1) {
        Some(next) => format!("{}–{}", MONEY_BANDS[i], next - 1),
        None => format!("{}+", MONEY_BANDS[i]),
    })
}

/// `YYYY-MM` of a `YYYY-MM-DD` date.
pub fn month_of_date(value: &str) -> Option<String> {
    let date: Date = value.trim().parse().ok()?;
    Some(format!("{:04}-{:02}", date.year(), date.month()))
}

/// `YYYY-MM` of an RFC 3339 instant, in `zone`.
pub fn month_of_instant(value: &str, zone: &TimeZone) -> Option<String> {
    let at: jiff::Timestamp = value.trim().parse().ok()?;
    let local = at.to_zoned(zone.clone());
    Some(format!("{:04}-{:02}", local.year(), local.month()))
}

fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Prefixes that mark a city in a Russian address.
const CITY_MARKS: [&str; 4] = ["город ", "гор.", "г.", "г "];

/// A city name without its «г.» mark, spaces collapsed; `None` when nothing is left.
pub fn normalise_city(value: &str) -> Option<String> {
    let value = value.trim();
    let lower = value.to_lowercase();
    // Skipped by characters, not bytes: the mark is matched on the lower-cased text, and the
    // original's letters need not have the same byte length.
    let rest: String = match CITY_MARKS.iter().find(|m| lower.starts_with(*m)) {
        Some(mark) => value.chars().skip(mark.chars().count()).collect(),
        None => value.to_string(),
    };
    let city = collapse_spaces(&rest);
    (!city.is_empty()).then_some(city)
}

/// The city of a one-line address: the comma-separated part marked «г.», «г », «гор.» or
/// «город». An address without such a mark gives `None`, never a guess: a guess could be a
/// street, and a street with a house number is the address itself.
pub fn city_of_address(address: &str) -> Option<String> {
    address.split(',').find_map(|part| {
        let part = part.trim();
        let lower = part.to_lowercase();
        CITY_MARKS
            .iter()
            .any(|m| lower.starts_with(m))
            .then(|| normalise_city(part))
            .flatten()
    })
}

// ------------------------------------------------------------------------------------------------
// The plan: which purposes, which categories, which columns.

/// What the caller asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    pub purpose: PurposeSelector,
    /// Columns to count as quasi-identifiers besides the default ones.
    pub quasi: Vec<ColumnRef>,
    pub min_k: MinK,
    /// Drop the rows of classes smaller than `min_k` instead of refusing.
    pub suppress: bool,
}

/// One output column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// `category.field`, the column's header.
    pub name: String,
    pub category: String,
    pub field: String,
    #[serde(skip)]
    pub field_type: FieldType,
    /// `None`: output as stored.
    pub generalisation: Option<Generalisation>,
    /// Counted in the equivalence classes.
    pub quasi: bool,
    /// From a category outside the purposes: the subject's value, repeated on each of its rows.
    pub subject_level: bool,
}

/// A field left out of the dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroppedColumn {
    pub name: String,
    pub kind: DirectKind,
}

/// What an export will read and write, decided from the policy before any data is read.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The purposes exported, in policy order.
    pub purposes: Vec<String>,
    /// Categories whose records become rows, in policy order.
    pub row_categories: Vec<String>,
    /// Categories read only for subject-level quasi-identifiers.
    pub join_categories: Vec<String>,
    pub columns: Vec<Column>,
    pub dropped: Vec<DroppedColumn>,
    pub min_k: MinK,
    pub suppress: bool,
    /// For each row category, the subject kinds some exported purpose covers it for.
    kinds: BTreeMap<String, BTreeSet<String>>,
}

impl Plan {
    /// Resolves the request against the policy. Only purposes marked `depersonalised_only`
    /// may be exported, and only if their `operations` (when listed) include depersonalisation.
    pub fn new(policy: &Policy, request: &PlanRequest) -> Result<Plan, DepersonaliseError> {
        let statistics: Vec<String> = policy
            .purposes
            .iter()
            .filter(|p| p.depersonalised_only)
            .map(|p| p.id.to_string())
            .collect();
        let chosen: Vec<_> = match &request.purpose {
            PurposeSelector::AllStatistics => {
                if statistics.is_empty() {
                    return Err(DepersonaliseError::NoStatisticsPurposes);
                }
                policy
                    .purposes
                    .iter()
                    .filter(|p| p.depersonalised_only)
                    .collect()
            }
            PurposeSelector::Purpose(id) => {
                let Some(purpose) = policy.purpose(id) else {
                    return Err(DepersonaliseError::UnknownPurpose {
                        purpose: id.clone(),
                        allowed: statistics,
                    });
                };
                if !purpose.depersonalised_only {
                    return Err(DepersonaliseError::NotDepersonalisedOnly {
                        purpose: id.clone(),
                        allowed: statistics,
                    });
                }
                vec![purpose]
            }
        };
        for p in &chosen {
            if let Some(ops) = &p.operations
                && !ops.contains(&Operation::Depersonalisation)
            {
                return Err(DepersonaliseError::OperationNotAllowed {
                    purpose: p.id.to_string(),
                });
            }
        }

        let mut kinds: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for p in &chosen {
            for c in &p.categories {
                kinds
                    .entry(c.to_string())
                    .or_default()
                    .extend(p.subjects.iter().map(|s| s.to_string()));
            }
        }
        // Policy order, so that the columns come out in the order the policy declares them.
        let row_categories: Vec<String> = policy
            .categories
            .iter()
            .filter(|c| kinds.contains_key(c.id.as_str()))
            .map(|c| c.id.to_string())
            .collect();

        let mut columns = Vec::new();
        let mut dropped = Vec::new();
        for c in policy
            .categories
            .iter()
            .filter(|c| kinds.contains_key(c.id.as_str()))
        {
            for f in &c.fields {
                let name = format!("{}.{}", c.id, f.id);
                match classify(&f.id, f.field_type) {
                    Treatment::Drop(kind) => dropped.push(DroppedColumn { name, kind }),
                    Treatment::Generalise(g) => columns.push(Column {
                        name,
                        category: c.id.to_string(),
                        field: f.id.to_string(),
                        field_type: f.field_type,
                        generalisation: Some(g),
                        quasi: true,
                        subject_level: false,
                    }),
                    Treatment::Keep => columns.push(Column {
                        name,
                        category: c.id.to_string(),
                        field: f.id.to_string(),
                        field_type: f.field_type,
                        generalisation: None,
                        quasi: false,
                        subject_level: false,
                    }),
                }
            }
        }

        let mut join_categories: Vec<String> = Vec::new();
        let mut seen = BTreeSet::new();
        for q in &request.quasi {
            if !seen.insert(q.clone()) {
                continue;
            }
            let column = q.to_string();
            let field = policy
                .category(q.category())
                .and_then(|c| c.field(q.field()))
                .ok_or_else(|| DepersonaliseError::UnknownColumn {
                    column: column.clone(),
                })?;
            let treatment = classify(&field.id, field.field_type);
            if let Treatment::Drop(kind) = treatment {
                return Err(DepersonaliseError::DirectIdentifier { column, kind });
            }
            if let Some(existing) = columns.iter_mut().find(|c| c.name == column) {
                // A column of the purposes' own categories: counting it in k is all that changes.
                existing.quasi = true;
                continue;
            }
            // From another category only what is generalised: the exact value of an unrelated
            // category has no place in a purpose's dataset, a coarse one may serve as a
            // breakdown (age band, city, sex). A bare text is not generalisable.
            let generalisation = match treatment {
                Treatment::Generalise(g)
                    if g != Generalisation::AsIs || field.field_type == FieldType::Enum =>
                {
                    g
                }
                _ => {
                    return Err(DepersonaliseError::NotGeneralisable {
                        column,
                        field_type: field.field_type.as_str(),
                    });
                }
            };
            if !join_categories.iter().any(|c| c == q.category()) {
                join_categories.push(q.category().to_string());
            }
            columns.push(Column {
                name: column,
                category: q.category().to_string(),
                field: q.field().to_string(),
                field_type: field.field_type,
                generalisation: Some(generalisation),
                quasi: true,
                subject_level: true,
            });
        }

        Ok(Plan {
            purposes: chosen.iter().map(|p| p.id.to_string()).collect(),
            row_categories,
            join_categories,
            columns,
            dropped,
            min_k: request.min_k,
            suppress: request.suppress,
            kinds,
        })
    }

    /// Whether any exported purpose covers subjects of this kind.
    pub fn covers(&self, kind: &str) -> bool {
        self.kinds.values().any(|k| k.contains(kind))
    }

    /// The categories to read for a subject of `kind`: the row categories some purpose covers
    /// for that kind, then the join categories.
    pub fn categories_for(&self, kind: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .row_categories
            .iter()
            .filter(|c| self.kinds.get(c.as_str()).is_some_and(|k| k.contains(kind)))
            .cloned()
            .collect();
        for c in &self.join_categories {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        out
    }

    /// Every category the export may read: rows and joins.
    pub fn read_categories(&self) -> Vec<String> {
        let mut out = self.row_categories.clone();
        out.extend(self.join_categories.iter().cloned());
        out
    }

    /// The quasi-identifier columns' names.
    pub fn quasi_names(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| c.quasi)
            .map(|c| c.name.clone())
            .collect()
    }

    /// The dataset's header: the pseudonym, the category, then the columns.
    pub fn header(&self) -> Vec<String> {
        let mut header = vec![PSEUDONYM_COLUMN.to_string(), CATEGORY_COLUMN.to_string()];
        header.extend(self.columns.iter().map(|c| c.name.clone()));
        header
    }

    fn covers_row(&self, kind: &str, category: &str) -> bool {
        self.kinds.get(category).is_some_and(|k| k.contains(kind))
    }
}

/// The header of the pseudonym column.
pub const PSEUDONYM_COLUMN: &str = "pseudonym";
/// The header of the category column.
pub const CATEGORY_COLUMN: &str = "category";

// ------------------------------------------------------------------------------------------------
// Randomness.

/// The random choices of one export (pseudonyms, the shuffle): SHA-256 in counter mode over a
/// 32-byte seed. The caller draws the seed from the operating system and forgets it after the
/// run; whoever knew it could redo the draw and link pseudonyms to subjects. Deterministic for
/// a given seed, which the tests rely on.
pub struct Drbg {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl fmt::Debug for Drbg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The seed is the key to the pseudonyms: it is never printed.
        f.write_str("Drbg { .. }")
    }
}

impl Drbg {
    pub fn from_seed(seed: [u8; 32]) -> Drbg {
        Drbg {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn next_u64(&mut self) -> u64 {
        if self.used + 8 > self.block.len() {
            let mut h = Sha256::new();
            h.update(b"pdvault depersonalisation drbg v1");
            h.update(self.seed);
            h.update(self.counter.to_be_bytes());
            self.block = h.finalize().into();
            self.counter += 1;
            self.used = 0;
        }
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&self.block[self.used..self.used + 8]);
        self.used += 8;
        u64::from_be_bytes(bytes)
    }

    /// A uniform number in `0..n`; `n` must not be 0.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) has no value");
        // Rejection sampling: draws above the largest multiple of n would favour small values.
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// Fisher–Yates: every order equally likely.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// A pseudonym: `p-` and 16 hex digits (64 random bits).
    fn pseudonym(&mut self) -> String {
        format!("p-{:016x}", self.next_u64())
    }
}

// ------------------------------------------------------------------------------------------------
// Building the dataset.

/// One decrypted record, as the caller passes it in.
#[derive(Debug, Clone, Copy)]
pub struct RecordInput<'a> {
    pub category: &'a str,
    pub fields: &'a BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct Row {
    /// Index into `Builder::subjects`.
    subject: usize,
    /// Index into `Plan::row_categories`.
    category: usize,
    cells: Vec<Option<String>>,
}

/// Collects the rows subject by subject, then checks k, suppresses, pseudonymises and shuffles.
#[derive(Debug)]
pub struct Builder<'p> {
    plan: &'p Plan,
    generaliser: Generaliser,
    subjects: Vec<SubjectId>,
    rows: Vec<Row>,
    subjects_read: u64,
    records_read: u64,
}

/// The depersonalised dataset: a header and rows of optional cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// The table pseudonym → subject id. It re-identifies the dataset, so it must be kept apart
/// from it, under the protection personal data need (see docs/depersonalisation.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTable {
    /// Sorted by pseudonym, which is random: the order says nothing about the subjects.
    pub entries: Vec<(String, SubjectId)>,
}

/// One method of Приказ № 140 as applied in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Введение идентификаторов: pseudonyms instead of subjects.
    IdentifierReplacement,
    /// Изменение состава: direct identifiers removed.
    IdentifierRemoval,
    /// Изменение семантики: values generalised.
    Generalisation,
    /// Изменение состава: rows of small classes suppressed.
    Suppression,
    /// Перемешивание: rows in random order.
    Shuffling,
}

impl Method {
    pub fn title_ru(self) -> &'static str {
        match self {
            Method::IdentifierReplacement => {
                "введение идентификаторов: субъекты заменены случайными псевдонимами"
            }
            Method::IdentifierRemoval => {
                "изменение состава: прямые идентификаторы исключены из набора"
            }
            Method::Generalisation => {
                "изменение семантики: значения обобщены (возраст — десятилетиями, адрес — городом, даты — месяцем, суммы — интервалами)"
            }
            Method::Suppression => {
                "изменение состава: удалены строки групп, меньших минимального k"
            }
            Method::Shuffling => "перемешивание: строки выданы в случайном порядке",
        }
    }
}

/// What an export did, for the report and the audit event. Holds no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub purposes: Vec<String>,
    /// Subjects of the covered kinds that were read.
    pub subjects_read: u64,
    /// Records decrypted (rows and joined categories).
    pub records_read: u64,
    /// Rows before suppression.
    pub rows_built: usize,
    pub rows: usize,
    /// Distinct subjects in the dataset.
    pub subjects: usize,
    pub columns: Vec<String>,
    pub quasi_identifiers: Vec<String>,
    pub dropped_columns: Vec<DroppedColumn>,
    /// The columns whose values are changed, with how.
    pub generalised: Vec<GeneralisedColumn>,
    pub k_required: u32,
    /// k before suppression; `None` without rows.
    pub k_before_suppression: Option<u32>,
    /// k of the dataset as output; `None` without rows.
    pub k_achieved: Option<u32>,
    pub rows_suppressed: usize,
    /// Equivalence classes in the dataset as output.
    pub classes: usize,
    pub methods: Vec<Method>,
}

/// A column whose values the export changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeneralisedColumn {
    pub column: String,
    pub generalisation: Generalisation,
}

/// The finished export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Depersonalised {
    pub dataset: Dataset,
    pub key_table: KeyTable,
    pub summary: Summary,
}

type ClassKey = (usize, Vec<Option<String>>);

impl<'p> Builder<'p> {
    pub fn new(plan: &'p Plan, generaliser: Generaliser) -> Builder<'p> {
        Builder {
            plan,
            generaliser,
            subjects: Vec::new(),
            rows: Vec::new(),
            subjects_read: 0,
            records_read: 0,
        }
    }

    /// Adds one subject's records, oldest first (a joined value is taken from the latest
    /// record). Subjects of kinds no purpose covers, and records of categories not covered for
    /// the subject's kind, are ignored.
    pub fn add_subject(&mut self, id: SubjectId, kind: &str, records: &[RecordInput<'_>]) {
        if !self.plan.covers(kind) {
            return;
        }
        self.subjects_read += 1;
        self.records_read += records.len() as u64;
        let joined: Vec<Option<String>> = self
            .plan
            .columns
            .iter()
            .map(|c| {
                if !c.subject_level {
                    return None;
                }
                records
                    .iter()
                    .rev()
                    .filter(|r| r.category == c.category)
                    .find_map(|r| r.fields.get(&c.field))
                    .and_then(|v| self.value(c, v))
            })
            .collect();
        let subject = self.subjects.len();
        let mut added = false;
        for r in records {
            if !self.plan.covers_row(kind, r.category) {
                continue;
            }
            let Some(category) = self
                .plan
                .row_categories
                .iter()
                .position(|c| c == r.category)
            else {
                continue;
            };
            let cells = self
                .plan
                .columns
                .iter()
                .zip(&joined)
                .map(|(c, joined)| {
                    if c.subject_level {
                        joined.clone()
                    } else if c.category == r.category {
                        r.fields.get(&c.field).and_then(|v| self.value(c, v))
                    } else {
                        None
                    }
                })
                .collect();
            self.rows.push(Row {
                subject,
                category,
                cells,
            });
            added = true;
        }
        if added {
            self.subjects.push(id);
        }
    }

    /// Subjects of the covered kinds added so far.
    pub fn subjects_read(&self) -> u64 {
        self.subjects_read
    }

    /// Records passed in so far, rows and joined categories alike.
    pub fn records_read(&self) -> u64 {
        self.records_read
    }

    /// Rows built so far, before any suppression.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    fn value(&self, column: &Column, stored: &str) -> Option<String> {
        match column.generalisation {
            Some(g) => self.generaliser.apply(g, stored),
            None => Some(stored.to_string()).filter(|v| !v.is_empty()),
        }
    }

    /// Checks k, suppresses if allowed, draws pseudonyms and shuffles.
    pub fn finish(self, rng: &mut Drbg) -> Result<Depersonalised, DepersonaliseError> {
        let Builder {
            plan,
            subjects,
            mut rows,
            subjects_read,
            records_read,
            ..
        } = self;
        let required = plan.min_k.get();
        let sizes = class_sizes(plan, &rows);
        let k_before = smallest(&sizes);
        let rows_built = rows.len();
        let small = |r: &Row| sizes[&class_key(plan, r)] < required as usize;
        let rows_below = rows.iter().filter(|r| small(r)).count();
        if rows_below > 0 {
            if !plan.suppress {
                return Err(DepersonaliseError::BelowK {
                    achieved: k_before.unwrap_or(0),
                    required,
                    rows: rows_built,
                    rows_below,
                });
            }
            rows.retain(|r| !small(r));
        }
        let final_sizes = class_sizes(plan, &rows);
        let k_achieved = smallest(&final_sizes);

        // Pseudonyms only for subjects that are in the dataset; the key table lists no one
        // whose rows were all suppressed.
        let present: BTreeSet<usize> = rows.iter().map(|r| r.subject).collect();
        let mut pseudonyms: HashMap<usize, String> = HashMap::new();
        let mut taken = HashSet::new();
        for s in &present {
            let p = loop {
                let p = rng.pseudonym();
                if taken.insert(p.clone()) {
                    break p;
                }
            };
            pseudonyms.insert(*s, p);
        }
        rng.shuffle(&mut rows);

        let dataset = Dataset {
            columns: plan.header(),
            rows: rows
                .into_iter()
                .map(|r| {
                    let mut cells = Vec::with_capacity(r.cells.len() + 2);
                    cells.push(Some(pseudonyms[&r.subject].clone()));
                    cells.push(Some(plan.row_categories[r.category].clone()));
                    cells.extend(r.cells);
                    cells
                })
                .collect(),
        };
        let mut entries: Vec<(String, SubjectId)> = pseudonyms
            .into_iter()
            .map(|(s, p)| (p, subjects[s]))
            .collect();
        entries.sort();

        let generalised: Vec<GeneralisedColumn> = plan
            .columns
            .iter()
            .filter_map(|c| {
                c.generalisation
                    .filter(|g| g.changes_value())
                    .map(|g| GeneralisedColumn {
                        column: c.name.clone(),
                        generalisation: g,
                    })
            })
            .collect();
        let rows_suppressed = rows_built - dataset.rows.len();
        let mut methods = vec![Method::IdentifierReplacement];
        if !plan.dropped.is_empty() {
            methods.push(Method::IdentifierRemoval);
        }
        if !generalised.is_empty() {
            methods.push(Method::Generalisation);
        }
        if rows_suppressed > 0 {
            methods.push(Method::Suppression);
        }
        methods.push(Method::Shuffling);

        let summary = Summary {
            purposes: plan.purposes.clone(),
            subjects_read,
            records_read,
            rows_built,
            rows: dataset.rows.len(),
            subjects: present.len(),
            columns: dataset.columns.clone(),
            quasi_identifiers: plan.quasi_names(),
            dropped_columns: plan.dropped.clone(),
            generalised,
            k_required: required,
            k_before_suppression: k_before,
            k_achieved,
            rows_suppressed,
            classes: final_sizes.len(),
            methods,
        };
        Ok(Depersonalised {
            dataset,
            key_table: KeyTable { entries },
            summary,
        })
    }
}

/// A row's equivalence class: its category and its quasi-identifier values.
fn class_key(plan: &Plan, row: &Row) -> ClassKey {
    let quasi = plan
        .columns
        .iter()
        .zip(&row.cells)
        .filter(|(c, _)| c.quasi)
        .map(|(_, v)| v.clone())
        .collect();
    (row.category, quasi)
}

/// Distinct subjects per equivalence class.
fn class_sizes(plan: &Plan, rows: &[Row]) -> HashMap<ClassKey, usize> {
    let mut members: HashMap<ClassKey, HashSet<usize>> = HashMap::new();
    for r in rows {
        members
            .entry(class_key(plan, r))
            .or_default()
            .insert(r.subject);
    }
    members.into_iter().map(|(k, s)| (k, s.len())).collect()
}

/// The smallest class's size: the dataset's k; `None` without rows.
fn smallest(sizes: &HashMap<ClassKey, usize>) -> Option<u32> {
    sizes
        .values()
        .min()
        .map(|&k| u32::try_from(k).unwrap_or(u32::MAX))
}

// ------------------------------------------------------------------------------------------------
// Rendering.

/// A CSV cell (RFC 4180). A text that a spreadsheet would take for a formula (`=`, `+`, `-`, `@`
/// first) gets a leading apostrophe, unless it is a plain number; a dataset is opened in
/// spreadsheets, and a cell must not run anything there.
fn csv_cell(value: &str) -> String {
    let risky =
        value.starts_with(['=', '+', '-', '@', '\t', '\r']) && value.parse::<f64>().is_err();
    let value = if risky {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn csv(header: &[&str], rows: impl Iterator<Item = Vec<Option<String>>>) -> Vec<u8> {
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    };
    line(header.iter().map(|h| csv_cell(h)).collect(), &mut out);
    for row in rows {
        line(
            row.iter()
                .map(|c| c.as_deref().map(csv_cell).unwrap_or_default())
                .collect(),
            &mut out,
        );
    }
    out.into_bytes()
}

fn json(header: &[&str], rows: impl Iterator<Item = Vec<Option<String>>>) -> Vec<u8> {
    let rows: Vec<serde_json::Value> = rows
        .map(|row| {
            let object: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .zip(row)
                .map(|(h, c)| {
                    (
                        h.to_string(),
                        c.map_or(serde_json::Value::Null, serde_json::Value::String),
                    )
                })
                .collect();
            serde_json::Value::Object(object)
        })
        .collect();
    let mut out = serde_json::to_vec_pretty(&rows).expect("JSON values serialise");
    out.push(b'\n');
    out
}

impl Dataset {
    /// The file's bytes in `format`.
    pub fn render(&self, format: DatasetFormat) -> Vec<u8> {
        let header: Vec<&str> = self.columns.iter().map(String::as_str).collect();
        let rows = self.rows.iter().cloned();
        match format {
            DatasetFormat::Csv => csv(&header, rows),
            DatasetFormat::Json => json(&header, rows),
        }
    }
}

impl KeyTable {
    /// The file's bytes in `format`: columns `pseudonym` and `subject`.
    pub fn render(&self, format: DatasetFormat) -> Vec<u8> {
        let header = [PSEUDONYM_COLUMN, "subject"];
        let rows = self
            .entries
            .iter()
            .map(|(p, s)| vec![Some(p.clone()), Some(s.to_string())]);
        match format {
            DatasetFormat::Csv => csv(&header, rows),
            DatasetFormat::Json => json(&header, rows),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Depersonalisation at the end of a retention period.

/// A record depersonalised when its retention period ended under a rule with
/// `action = "depersonalise"` (seed 8.2: after the period only depersonalised data may remain).
/// Unlike the export, nothing links it to its subject, not even a pseudonym: there is no key
/// table to keep apart, and rows of one person cannot be joined. Direct identifiers are removed
/// and quasi-identifiers generalised exactly as [`classify`] decides for the export
/// (Приказ № 140: изменение состава и семантики).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetainedRecord {
    pub category: String,
    /// The values kept, generalised where the field is a quasi-identifier.
    pub fields: BTreeMap<String, String>,
    /// The fields removed as direct identifiers (or undeclared, or not generalisable), by id:
    /// the method's parameters for the log.
    pub removed: Vec<String>,
}

/// Depersonalises one decrypted record of `category` for keeping past its period. A category
/// or field the policy does not declare is removed: what cannot be classified is not kept.
pub fn depersonalise_record(
    policy: &Policy,
    category: &str,
    fields: &BTreeMap<String, String>,
    generaliser: &Generaliser,
) -> RetainedRecord {
    let declared = policy.category(category);
    let mut kept = BTreeMap::new();
    let mut removed = Vec::new();
    for (id, value) in fields {
        let field = declared.and_then(|c| c.fields.iter().find(|f| f.id.as_str() == id));
        let out = field.and_then(|f| match classify(&f.id, f.field_type) {
            Treatment::Drop(_) => None,
            Treatment::Generalise(g) => generaliser.apply(g, value),
            Treatment::Keep => Some(value.clone()),
        });
        match out {
            Some(v) => {
                kept.insert(id.clone(), v);
            }
            None => removed.push(id.clone()),
        }
    }
    RetainedRecord {
        category: category.to_string(),
        fields: kept,
        removed,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;

    fn konekt() -> &'static Policy {
        static POLICY: OnceLock<Policy> = OnceLock::new();
        POLICY.get_or_init(|| {
            Policy::from_toml("konekt.toml", include_str!("../../../policies/konekt.toml"))
                .map(|l| l.policy)
                .unwrap_or_else(|e| panic!("konekt.toml must load:\n{e}"))
        })
    }

    fn lider() -> &'static Policy {
        static POLICY: OnceLock<Policy> = OnceLock::new();
        POLICY.get_or_init(|| {
            Policy::from_toml("lider.toml", include_str!("../../../policies/lider.toml"))
                .map(|l| l.policy)
                .unwrap_or_else(|e| panic!("lider.toml must load:\n{e}"))
        })
    }

    fn request(purpose: &str, quasi: &[&str], k: u32, suppress: bool) -> PlanRequest {
        PlanRequest {
            purpose: purpose.parse().unwrap(),
            quasi: quasi.iter().map(|q| q.parse().unwrap()).collect(),
            min_k: MinK::new(k).unwrap(),
            suppress,
        }
    }

    fn plan(purpose: &str, quasi: &[&str], k: u32, suppress: bool) -> Plan {
        Plan::new(konekt(), &request(purpose, quasi, k, suppress)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn generaliser() -> Generaliser {
        Generaliser::new(
            jiff::civil::date(2026, 3, 15),
            TimeZone::get("Europe/Moscow").unwrap(),
        )
    }

    fn subject(n: u8) -> SubjectId {
        SubjectId::from_bytes([n; 16])
    }

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_record_kept_past_its_period_loses_identifiers_and_is_generalised() {
        let g = generaliser();
        let kept = depersonalise_record(
            lider(),
            "search_queries",
            &fields(&[
                ("query_text", "Иванов Иван курсы"),
                ("queried_at", "2025-03-04T10:00:00Z"),
                ("smuggled", "anna@example.ru"),
            ]),
            &g,
        );
        assert_eq!(kept.category, "search_queries");
        assert_eq!(kept.fields, fields(&[("queried_at", "2025-03")]));
        assert_eq!(kept.removed, ["query_text", "smuggled"]);
        // A category the policy does not declare keeps nothing.
        let unknown = depersonalise_record(lider(), "nope", &fields(&[("a", "b")]), &g);
        assert!(unknown.fields.is_empty());
        assert_eq!(unknown.removed, ["a"]);
    }

    fn treatment(policy: &Policy, column: &str) -> Treatment {
        let (c, f) = column.split_once('.').unwrap();
        let field = policy.category(c).and_then(|c| c.field(f)).unwrap();
        classify(&field.id, field.field_type)
    }

    #[test]
    fn the_shipped_policies_fields_are_classified_as_documented() {
        use Generalisation as G;
        let p = konekt();
        let cases = [
            ("contacts.email", Treatment::Drop(DirectKind::Email)),
            ("contacts.phone", Treatment::Drop(DirectKind::Phone)),
            ("contacts.fax", Treatment::Drop(DirectKind::Phone)),
            ("identity.last_name", Treatment::Drop(DirectKind::Name)),
            ("identity.first_name", Treatment::Drop(DirectKind::Name)),
            ("identity.middle_name", Treatment::Drop(DirectKind::Name)),
            ("review.display_name", Treatment::Drop(DirectKind::Name)),
            (
                "marketing_profile.addressee_name",
                Treatment::Drop(DirectKind::Name),
            ),
            (
                "passport.passport_number",
                Treatment::Drop(DirectKind::Passport),
            ),
            (
                "passport.other_document",
                Treatment::Drop(DirectKind::Identifier),
            ),
            (
                "passport.issued_by",
                Treatment::Drop(DirectKind::Identifier),
            ),
            (
                "connection_request.request_number",
                Treatment::Drop(DirectKind::Identifier),
            ),
            (
                "subscriber_contract.contract_number",
                Treatment::Drop(DirectKind::Identifier),
            ),
            (
                "subscriber_contract.personal_account",
                Treatment::Drop(DirectKind::Identifier),
            ),
            (
                "account.account_id",
                Treatment::Drop(DirectKind::Identifier),
            ),
            (
                "traffic_metadata.access_login",
                Treatment::Drop(DirectKind::Identifier),
            ),
            (
                "traffic_metadata.device_mac",
                Treatment::Drop(DirectKind::Identifier),
            ),
            (
                "loyalty.loyalty_card_number",
                Treatment::Drop(DirectKind::Identifier),
            ),
            (
                "claim.authority_document",
                Treatment::Drop(DirectKind::Identifier),
            ),
            (
                "payment.card_masked",
                Treatment::Drop(DirectKind::PaymentCard),
            ),
            (
                "payment.refund_bank_details",
                Treatment::Drop(DirectKind::Identifier),
            ),
            ("tariff.static_ip", Treatment::Drop(DirectKind::IpAddress)),
            ("cookie.cookie_id", Treatment::Drop(DirectKind::CookieId)),
            ("geolocation.coordinates", Treatment::Drop(DirectKind::Geo)),
            (
                "search_queries.query_text",
                Treatment::Drop(DirectKind::FreeText),
            ),
            ("site_activity.referrer", Treatment::Drop(DirectKind::Url)),
            (
                "personal_details.birth_date",
                Treatment::Generalise(G::AgeFromBirthDate),
            ),
            ("personal_details.age", Treatment::Generalise(G::AgeBand)),
            ("personal_details.sex", Treatment::Generalise(G::AsIs)),
            ("addresses.city", Treatment::Generalise(G::City)),
            (
                "addresses.registration_address",
                Treatment::Generalise(G::CityFromAddress),
            ),
            (
                "connection_request.desired_date",
                Treatment::Generalise(G::Month),
            ),
            (
                "claim.received_at",
                Treatment::Generalise(G::MonthOfInstant),
            ),
            ("tariff.monthly_fee", Treatment::Generalise(G::MoneyBand)),
            ("tariff.tariff_plan", Treatment::Generalise(G::AsIs)),
            ("enquiry.topic", Treatment::Generalise(G::AsIs)),
            ("device.user_agent", Treatment::Generalise(G::AsIs)),
            ("tariff.service_status", Treatment::Keep),
            ("review.rating", Treatment::Keep),
        ];
        for (column, expected) in cases {
            assert_eq!(treatment(p, column), expected, "{column}");
        }
        assert_eq!(
            treatment(lider(), "order.order_number"),
            Treatment::Drop(DirectKind::Identifier)
        );
        assert_eq!(
            treatment(lider(), "order.amount"),
            Treatment::Generalise(G::MoneyBand)
        );
    }

    #[test]
    fn a_direct_type_is_dropped_whatever_the_field_is_called() {
        for t in [
            FieldType::Email,
            FieldType::Phone,
            FieldType::Passport,
            FieldType::PaymentCard,
            FieldType::IpAddress,
            FieldType::CookieId,
            FieldType::Geo,
            FieldType::FreeText,
            FieldType::Url,
        ] {
            for id in ["city", "birth_date", "age", "sex", "topic"] {
                assert!(
                    matches!(classify(id, t), Treatment::Drop(_)),
                    "{id}: {}",
                    t.as_str()
                );
            }
        }
        // Words are whole: `agent` is not `age`, `nominal` is not `no`.
        assert_eq!(classify("agent_count", FieldType::Number), Treatment::Keep);
        assert_eq!(
            classify("nominal", FieldType::Text),
            Treatment::Generalise(Generalisation::AsIs)
        );
        assert_eq!(
            classify("full_name", FieldType::Text),
            Treatment::Drop(DirectKind::Name)
        );
    }

    #[test]
    fn ages_fall_into_decades_counted_on_the_export_day() {
        let g = generaliser();
        let d = |y, m, day| jiff::civil::date(y, m, day);
        assert_eq!(age_on(d(1990, 3, 15), d(2026, 3, 15)), Some(36));
        assert_eq!(age_on(d(1990, 3, 16), d(2026, 3, 15)), Some(35));
        assert_eq!(age_on(d(2027, 1, 1), d(2026, 3, 15)), None);
        assert_eq!(age_band(0).as_deref(), Some("0–9"));
        assert_eq!(age_band(39).as_deref(), Some("30–39"));
        assert_eq!(age_band(40).as_deref(), Some("40–49"));
        assert_eq!(age_band(89).as_deref(), Some("80–89"));
        assert_eq!(age_band(97).as_deref(), Some("90+"));
        assert_eq!(age_band(-1), None);
        assert_eq!(age_band(151), None);
        assert_eq!(
            g.apply(Generalisation::AgeFromBirthDate, "1990-05-17")
                .as_deref(),
            Some("30–39")
        );
        // Born 1986-03-16: 39 on 2026-03-15, 40 the day after.
        assert_eq!(
            g.apply(Generalisation::AgeFromBirthDate, "1986-03-16")
                .as_deref(),
            Some("30–39")
        );
        assert_eq!(
            g.apply(Generalisation::AgeBand, "39.9").as_deref(),
            Some("30–39")
        );
        assert_eq!(g.apply(Generalisation::AgeBand, "сорок"), None);
        assert_eq!(
            g.apply(Generalisation::AgeFromBirthDate, "17.05.1990"),
            None
        );
    }

    #[test]
    fn money_falls_into_bands_in_whole_roubles() {
        let cases = [
            ("0.00", "0–499"),
            ("499.99", "0–499"),
            ("500.00", "500–999"),
            ("1250.50", "1000–1999"),
            ("2000", "2000–4999"),
            ("19999.99", "10000–19999"),
            ("99999.99", "50000–99999"),
            ("100000.00", "100000+"),
            ("7500000.00", "100000+"),
            ("-5.00", "<0"),
        ];
        for (value, band) in cases {
            assert_eq!(money_band(value).as_deref(), Some(band), "{value}");
        }
        assert_eq!(money_band("много"), None);
    }

    #[test]
    fn dates_and_instants_become_months_in_the_operators_zone() {
        let zone = TimeZone::get("Europe/Moscow").unwrap();
        assert_eq!(month_of_date("2025-09-01").as_deref(), Some("2025-09"));
        assert_eq!(month_of_date("2025-02-30"), None);
        // 22:30 UTC on 31 January is 01:30 on 1 February in Moscow.
        assert_eq!(
            month_of_instant("2025-01-31T22:30:00Z", &zone).as_deref(),
            Some("2025-02")
        );
        assert_eq!(
            month_of_instant("2025-01-31T20:30:00Z", &zone).as_deref(),
            Some("2025-01")
        );
        assert_eq!(month_of_instant("вчера", &zone), None);
    }

    #[test]
    fn an_address_gives_its_city_or_nothing() {
        assert_eq!(
            city_of_address("г. Москва, ул. Лесная, д. 1, кв. 2").as_deref(),
            Some("Москва")
        );
        assert_eq!(
            city_of_address("123456, Московская обл., г.Подольск, ул. Ленина, 5").as_deref(),
            Some("Подольск")
        );
        assert_eq!(
            city_of_address("630000, город  Новосибирск, Красный пр., 1").as_deref(),
            Some("Новосибирск")
        );
        assert_eq!(
            city_of_address("Г. Тверь, Садовая 3").as_deref(),
            Some("Тверь")
        );
        // No marked city: nothing, rather than a street that may be the address itself.
        assert_eq!(city_of_address("ул. Гагарина, д. 5, кв. 7"), None);
        assert_eq!(city_of_address("Гатчина, ул. Ленина, 1"), None);
        assert_eq!(normalise_city(" г. Казань ").as_deref(), Some("Казань"));
        assert_eq!(normalise_city("Казань").as_deref(), Some("Казань"));
        assert_eq!(normalise_city("Гатчина").as_deref(), Some("Гатчина"));
        assert_eq!(normalise_city("г. "), None);
    }

    #[test]
    fn parameters_are_parsed_at_the_boundary() {
        assert_eq!("5".parse::<MinK>().unwrap().get(), 5);
        assert_eq!(MinK::default().get(), 5);
        assert!("1".parse::<MinK>().unwrap_err().to_string().contains("«1»"));
        assert!("пять".parse::<MinK>().is_err());
        assert!(MinK::new(0).is_err());

        let c: ColumnRef = "personal_details.birth_date".parse().unwrap();
        assert_eq!(
            (c.category(), c.field()),
            ("personal_details", "birth_date")
        );
        assert_eq!(c.to_string(), "personal_details.birth_date");
        for bad in ["birth_date", ".x", "x.", "a.b.c", "a b.c", ""] {
            assert!(bad.parse::<ColumnRef>().is_err(), "{bad}");
        }
        assert_eq!(
            "statistics".parse::<PurposeSelector>().unwrap(),
            PurposeSelector::AllStatistics
        );
        assert_eq!(
            "site_statistics".parse::<PurposeSelector>().unwrap(),
            PurposeSelector::Purpose("site_statistics".into())
        );
        assert_eq!(
            "JSON".parse::<DatasetFormat>().unwrap(),
            DatasetFormat::Json
        );
        assert_eq!(DatasetFormat::default(), DatasetFormat::Csv);
        assert!("xlsx".parse::<DatasetFormat>().is_err());
    }

    #[test]
    fn only_depersonalised_only_purposes_may_be_exported() {
        let p = konekt();
        let err = Plan::new(p, &request("marketing", &[], 5, false)).unwrap_err();
        let text = err.to_string();
        assert!(matches!(
            err,
            DepersonaliseError::NotDepersonalisedOnly { .. }
        ));
        assert!(text.contains("«marketing»"), "{text}");
        assert!(text.contains("service_quality, site_statistics"), "{text}");
        assert!(text.contains("statistics (все вместе)"), "{text}");
        let err = Plan::new(p, &request("spam", &[], 5, false)).unwrap_err();
        assert!(matches!(err, DepersonaliseError::UnknownPurpose { .. }));
        assert!(err.to_string().contains("«spam»"));

        let one = plan("site_statistics", &[], 5, false);
        assert_eq!(one.purposes, vec!["site_statistics"]);
        assert_eq!(
            one.row_categories,
            vec!["cookie", "device", "site_activity", "search_queries"]
        );
        let all = plan("statistics", &[], 5, false);
        assert_eq!(all.purposes, vec!["service_quality", "site_statistics"]);
        assert!(all.covers("subscriber") && all.covers("guest"));
        assert!(
            !all.covers("claimant"),
            "no statistics purpose covers claimants"
        );
        assert!(
            !one.categories_for("guest").is_empty() && one.categories_for("subscriber").is_empty()
        );

        // A depersonalised-only purpose whose operations leave depersonalisation out.
        let mut policy = konekt().clone();
        let purpose = policy
            .purposes
            .iter_mut()
            .find(|p| p.id.as_str() == "site_statistics")
            .unwrap();
        purpose.operations = Some(vec![Operation::Use]);
        assert!(matches!(
            Plan::new(&policy, &request("site_statistics", &[], 5, false)),
            Err(DepersonaliseError::OperationNotAllowed { .. })
        ));
    }

    #[test]
    fn no_direct_identifier_becomes_a_column_in_any_statistics_plan() {
        for policy in [konekt(), lider()] {
            let plan = Plan::new(policy, &request("statistics", &[], 5, false)).unwrap();
            for column in &plan.columns {
                assert!(
                    !matches!(
                        classify(&column.field, column.field_type),
                        Treatment::Drop(_)
                    ),
                    "{}",
                    column.name
                );
                assert!(!column.name.contains("name"), "{}", column.name);
            }
            for (category, fields) in plan
                .row_categories
                .iter()
                .map(|c| (c, &policy.category(c).unwrap().fields))
            {
                for f in fields {
                    let name = format!("{category}.{}", f.id);
                    let shown = plan.columns.iter().any(|c| c.name == name);
                    let dropped = plan.dropped.iter().any(|d| d.name == name);
                    assert!(shown != dropped, "{name} is either a column or dropped");
                }
            }
            // Every generalised column is a quasi-identifier.
            assert!(
                plan.columns
                    .iter()
                    .all(|c| c.generalisation.is_none() || c.quasi)
            );
        }
    }

    #[test]
    fn quasi_identifiers_from_other_categories_must_be_generalisable() {
        let p = plan(
            "site_statistics",
            &[
                "personal_details.birth_date",
                "personal_details.sex",
                "addresses.city",
                "addresses.registration_address",
                "account.registered_at",
                "personal_details.birth_date",
            ],
            5,
            false,
        );
        assert_eq!(
            p.join_categories,
            vec!["personal_details", "addresses", "account"]
        );
        let joined: Vec<&str> = p
            .columns
            .iter()
            .filter(|c| c.subject_level)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            joined,
            vec![
                "personal_details.birth_date",
                "personal_details.sex",
                "addresses.city",
                "addresses.registration_address",
                "account.registered_at",
            ],
            "in the order named, duplicates once"
        );
        assert!(
            p.categories_for("guest")
                .contains(&"personal_details".to_string())
        );

        let refused = |quasi: &str| {
            Plan::new(konekt(), &request("site_statistics", &[quasi], 5, false)).unwrap_err()
        };
        assert!(matches!(
            refused("contacts.email"),
            DepersonaliseError::DirectIdentifier {
                kind: DirectKind::Email,
                ..
            }
        ));
        assert!(matches!(
            refused("identity.last_name"),
            DepersonaliseError::DirectIdentifier {
                kind: DirectKind::Name,
                ..
            }
        ));
        for column in [
            "loyalty.points_balance",
            "marketing_profile.preferred_channel",
            "tariff.tariff_plan",
        ] {
            assert!(
                matches!(refused(column), DepersonaliseError::NotGeneralisable { .. }),
                "{column}"
            );
        }
        assert!(matches!(
            refused("nowhere.field"),
            DepersonaliseError::UnknownColumn { .. }
        ));
        assert!(matches!(
            refused("contacts.nothing"),
            DepersonaliseError::UnknownColumn { .. }
        ));

        // A kept column of the purposes' own categories only starts counting in k.
        let p = plan("service_quality", &["tariff.service_status"], 5, false);
        let status = p
            .columns
            .iter()
            .find(|c| c.name == "tariff.service_status")
            .unwrap();
        assert!(status.quasi && !status.subject_level && status.generalisation.is_none());
        assert!(p.join_categories.is_empty());
    }

    /// Enquiries (service_quality) of `n` users: same topic, same month, a secret in the text.
    fn enquiries(n: u8, month: &str) -> Vec<(SubjectId, BTreeMap<String, String>)> {
        (0..n)
            .map(|i| {
                (
                    subject(i),
                    fields(&[
                        ("topic", "Подключение"),
                        ("received_at", &format!("{month}-10T10:00:00Z")),
                        ("enquiry_text", &format!("секрет-{i}")),
                        ("answer", "ответ оператора"),
                    ]),
                )
            })
            .collect()
    }

    /// A subject as the tests give it: id, kind, records (category, fields) oldest first.
    type TestSubject<'a> = (SubjectId, &'a str, Vec<(&'a str, BTreeMap<String, String>)>);

    fn build(
        plan: &Plan,
        subjects: &[TestSubject<'_>],
        seed: u8,
    ) -> Result<Depersonalised, DepersonaliseError> {
        let mut b = Builder::new(plan, generaliser());
        for (id, kind, records) in subjects {
            let inputs: Vec<RecordInput<'_>> = records
                .iter()
                .map(|(c, f)| RecordInput {
                    category: c,
                    fields: f,
                })
                .collect();
            b.add_subject(*id, kind, &inputs);
        }
        b.finish(&mut Drbg::from_seed([seed; 32]))
    }

    #[test]
    fn a_small_group_refuses_the_export_or_is_suppressed() {
        let mut subjects: Vec<_> = enquiries(6, "2025-03")
            .into_iter()
            .map(|(id, f)| (id, "user", vec![("enquiry", f)]))
            .collect();
        // One more person, alone in July.
        let odd = SubjectId::from_bytes([99; 16]);
        let (_, f) = enquiries(1, "2025-07").remove(0);
        subjects.push((odd, "user", vec![("enquiry", f)]));

        let err = build(&plan("service_quality", &[], 5, false), &subjects, 1).unwrap_err();
        assert_eq!(
            err,
            DepersonaliseError::BelowK {
                achieved: 1,
                required: 5,
                rows: 7,
                rows_below: 1,
            }
        );
        let text = err.to_string();
        assert!(
            text.contains("k = 1, требуется не меньше 5") && text.contains("1 из 7"),
            "{text}"
        );

        let p = plan("service_quality", &[], 5, true);
        let out = build(&p, &subjects, 1).unwrap();
        let s = &out.summary;
        assert_eq!((s.rows_built, s.rows, s.rows_suppressed), (7, 6, 1));
        assert_eq!((s.k_before_suppression, s.k_achieved), (Some(1), Some(6)));
        assert_eq!(s.subjects, 6);
        assert_eq!(s.subjects_read, 7);
        assert!(s.methods.contains(&Method::Suppression));
        assert_eq!(
            out.key_table.entries.len(),
            6,
            "the suppressed subject is not in the key table"
        );
        assert!(out.key_table.entries.iter().all(|(_, id)| *id != odd));

        let csv = String::from_utf8(out.dataset.render(DatasetFormat::Csv)).unwrap();
        assert!(!csv.contains("секрет"), "free text never goes out:\n{csv}");
        assert!(!csv.contains("ответ оператора"), "{csv}");
        assert!(
            !csv.contains("2025-03-10"),
            "only the month goes out:\n{csv}"
        );
        assert!(csv.contains(",enquiry,"), "{csv}");
        assert!(csv.contains("2025-03"), "{csv}");
        for (_, id) in &out.key_table.entries {
            assert!(
                !csv.contains(&id.to_string()),
                "no subject id in the dataset"
            );
        }
        let pseudonyms: BTreeSet<&str> = out
            .dataset
            .rows
            .iter()
            .map(|r| r[0].as_deref().unwrap())
            .collect();
        let keyed: BTreeSet<&str> = out
            .key_table
            .entries
            .iter()
            .map(|(p, _)| p.as_str())
            .collect();
        assert_eq!(pseudonyms, keyed);
    }

    #[test]
    fn k_counts_people_not_rows() {
        // One person's ten queries in the same month are a group of one.
        let records: Vec<_> = (0..10)
            .map(|i| {
                (
                    "search_queries",
                    fields(&[
                        ("query_text", &format!("запрос {i}")),
                        ("queried_at", "2025-05-01T12:00:00Z"),
                    ]),
                )
            })
            .collect();
        let subjects = vec![(subject(1), "guest", records)];
        assert!(matches!(
            build(&plan("site_statistics", &[], 2, false), &subjects, 3),
            Err(DepersonaliseError::BelowK {
                achieved: 1,
                rows: 10,
                ..
            })
        ));
    }

    #[test]
    fn kinds_and_categories_outside_the_purpose_are_not_read_into_rows() {
        let enquiry = fields(&[("topic", "Счёт"), ("received_at", "2025-01-05T09:00:00Z")]);
        let contacts = fields(&[("email", "ivanov@example.ru"), ("phone", "+79161234567")]);
        let subjects = vec![
            // service_quality covers no claimant: nothing of theirs is read.
            (subject(1), "claimant", vec![("enquiry", enquiry.clone())]),
            (
                subject(2),
                "user",
                vec![("enquiry", enquiry.clone()), ("contacts", contacts.clone())],
            ),
            (subject(3), "user", vec![("enquiry", enquiry.clone())]),
        ];
        let out = build(&plan("service_quality", &[], 2, false), &subjects, 4).unwrap();
        assert_eq!(out.summary.subjects_read, 2);
        assert_eq!(
            out.summary.rows, 2,
            "contacts are not a category of the purpose"
        );
        let json = String::from_utf8(out.dataset.render(DatasetFormat::Json)).unwrap();
        assert!(
            !json.contains("example.ru") && !json.contains("+7916"),
            "{json}"
        );
    }

    #[test]
    fn a_joined_quasi_identifier_is_the_subjects_latest_generalised_value() {
        let query = |m: &str| {
            (
                "search_queries",
                fields(&[("queried_at", &format!("2025-{m}-01T12:00:00Z"))]),
            )
        };
        let details = |birth: &str| {
            (
                "personal_details",
                fields(&[("birth_date", birth), ("sex", "female")]),
            )
        };
        let subjects = vec![
            (
                subject(1),
                "user",
                vec![
                    details("1950-01-01"),
                    details("1991-02-03"),
                    query("04"),
                    query("04"),
                ],
            ),
            (subject(2), "user", vec![query("04"), details("1995-12-31")]),
            // No personal details at all: the joined cells stay empty.
            (subject(3), "guest", vec![query("04")]),
        ];
        let p = plan("site_statistics", &["personal_details.birth_date"], 2, true);
        let out = build(&p, &subjects, 5).unwrap();
        let age = out
            .dataset
            .columns
            .iter()
            .position(|c| c == "personal_details.birth_date")
            .unwrap();
        let bands: Vec<Option<&str>> = out.dataset.rows.iter().map(|r| r[age].as_deref()).collect();
        // Subjects 1 and 2 are 30–39 (three rows, two people); subject 3 alone is suppressed.
        assert_eq!(out.summary.rows, 3);
        assert!(bands.iter().all(|b| *b == Some("30–39")), "{bands:?}");
        assert_eq!(out.summary.k_achieved, Some(2));
        assert_eq!(out.summary.rows_suppressed, 1);
        let sex = out
            .dataset
            .columns
            .iter()
            .any(|c| c == "personal_details.sex");
        assert!(!sex, "only the named field joins, not its whole category");
    }

    #[test]
    fn the_same_seed_gives_the_same_dataset_and_another_seed_another() {
        let subjects: Vec<_> = enquiries(40, "2025-03")
            .into_iter()
            .map(|(id, f)| (id, "subscriber", vec![("enquiry", f)]))
            .collect();
        let p = plan("service_quality", &[], 5, false);
        let a = build(&p, &subjects, 7).unwrap();
        let b = build(&p, &subjects, 7).unwrap();
        let c = build(&p, &subjects, 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.dataset.rows, c.dataset.rows);
        assert_ne!(
            a.key_table, c.key_table,
            "pseudonyms are drawn afresh each run"
        );
        // Pseudonyms are unique and say nothing of the subject id.
        let mut seen = HashSet::new();
        for (p, id) in &a.key_table.entries {
            assert!(p.starts_with("p-") && p.len() == 18, "{p}");
            assert!(seen.insert(p.clone()));
            assert!(!id.to_string().contains(&p[2..]));
        }
    }

    #[test]
    fn the_shuffle_is_a_permutation_and_below_stays_in_range() {
        let mut rng = Drbg::from_seed([42; 32]);
        let mut items: Vec<u32> = (0..500).collect();
        rng.shuffle(&mut items);
        assert_ne!(items, (0..500).collect::<Vec<_>>());
        items.sort_unstable();
        assert_eq!(items, (0..500).collect::<Vec<_>>());
        for n in [1, 2, 3, 7, 1000, u64::MAX] {
            for _ in 0..100 {
                assert!(rng.below(n) < n);
            }
        }
        assert_eq!(
            format!("{rng:?}"),
            "Drbg { .. }",
            "the seed is never printed"
        );
    }

    #[test]
    fn csv_and_json_render_every_cell_safely() {
        let dataset = Dataset {
            columns: vec![
                "pseudonym".into(),
                "category".into(),
                "t.a".into(),
                "t.b".into(),
            ],
            rows: vec![
                vec![
                    Some("p-1".into()),
                    Some("t".into()),
                    Some("=HYPERLINK(\"x\")".into()),
                    None,
                ],
                vec![
                    Some("p-2".into()),
                    Some("t".into()),
                    Some("-12.5".into()),
                    Some("a,b".into()),
                ],
            ],
        };
        let csv = String::from_utf8(dataset.render(DatasetFormat::Csv)).unwrap();
        assert_eq!(
            csv,
            "pseudonym,category,t.a,t.b\r\np-1,t,\"'=HYPERLINK(\"\"x\"\")\",\r\np-2,t,-12.5,\"a,b\"\r\n"
        );
        let json: serde_json::Value =
            serde_json::from_slice(&dataset.render(DatasetFormat::Json)).unwrap();
        assert_eq!(json[0]["t.b"], serde_json::Value::Null);
        assert_eq!(json[1]["t.b"], "a,b");
        assert_eq!(
            json[0]["t.a"], "=HYPERLINK(\"x\")",
            "JSON is not a spreadsheet"
        );

        let keys = KeyTable {
            entries: vec![("p-1".into(), subject(1))],
        };
        let csv = String::from_utf8(keys.render(DatasetFormat::Csv)).unwrap();
        assert_eq!(csv, format!("pseudonym,subject\r\np-1,{}\r\n", subject(1)));
    }

    const TOPICS: [&str; 3] = ["Подключение", "Счёт", "Авария"];
    const KINDS: [&str; 4] = ["user", "guest", "subscriber", "claimant"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever the data: an export that succeeds has every class of at least k distinct
        /// pseudonyms, no secret value, a key table for exactly the pseudonyms it shows, and
        /// accounts for every row; one that fails was below k and not allowed to suppress.
        #[test]
        fn every_successful_export_is_k_anonymous(
            people in prop::collection::vec(
                (0..KINDS.len(), prop::collection::vec((0..2usize, 0..TOPICS.len(), 1..4u8, 0..3u32), 0..4)),
                0..40,
            ),
            k in 2..6u32,
            suppress in any::<bool>(),
            seed in any::<u8>(),
        ) {
            let p = plan("service_quality", &[], k, suppress);
            let subjects: Vec<_> = people
                .iter()
                .enumerate()
                .map(|(i, (kind, records))| {
                    let records = records
                        .iter()
                        .map(|&(category, topic, month, fee)| {
                            let at = format!("2025-0{month}-02T08:00:00Z");
                            if category == 0 {
                                ("enquiry", fields(&[
                                    ("topic", TOPICS[topic]),
                                    ("received_at", &at),
                                    ("enquiry_text", &format!("секрет-{i}")),
                                ]))
                            } else {
                                ("tariff", fields(&[
                                    ("tariff_plan", TOPICS[topic]),
                                    ("monthly_fee", &format!("{}.00", 300 + 1000 * fee)),
                                    ("static_ip", &format!("198.51.100.{i}")),
                                ]))
                            }
                        })
                        .collect();
                    (SubjectId::from_bytes([i as u8; 16]), KINDS[*kind], records)
                })
                .collect();
            match build(&p, &subjects, seed) {
                Err(DepersonaliseError::BelowK { achieved, required, rows, rows_below }) => {
                    prop_assert!(!suppress);
                    prop_assert!(achieved < required);
                    prop_assert!(rows_below > 0 && rows_below <= rows);
                }
                Err(e) => prop_assert!(false, "unexpected error {e}"),
                Ok(out) => {
                    let s = &out.summary;
                    prop_assert_eq!(s.rows + s.rows_suppressed, s.rows_built);
                    prop_assert!(suppress || s.rows_suppressed == 0);
                    let quasi: Vec<usize> = p
                        .columns
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.quasi)
                        .map(|(i, _)| i + 2)
                        .collect();
                    let mut classes: HashMap<Vec<Option<String>>, HashSet<String>> = HashMap::new();
                    for row in &out.dataset.rows {
                        let mut key = vec![row[1].clone()];
                        key.extend(quasi.iter().map(|&i| row[i].clone()));
                        classes.entry(key).or_default().insert(row[0].clone().unwrap());
                    }
                    prop_assert_eq!(classes.len(), s.classes);
                    for members in classes.values() {
                        prop_assert!(members.len() >= k as usize);
                    }
                    prop_assert_eq!(
                        s.k_achieved,
                        classes.values().map(|m| m.len() as u32).min()
                    );
                    let shown: BTreeSet<String> =
                        out.dataset.rows.iter().map(|r| r[0].clone().unwrap()).collect();
                    let keyed: BTreeSet<String> =
                        out.key_table.entries.iter().map(|(p, _)| p.clone()).collect();
                    prop_assert_eq!(shown, keyed);
                    let text = String::from_utf8(out.dataset.render(DatasetFormat::Csv)).unwrap();
                    prop_assert!(!text.contains("секрет"));
                    prop_assert!(!text.contains("198.51.100."));
                }
            }
        }
    }
}
