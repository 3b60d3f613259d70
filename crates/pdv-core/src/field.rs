//! Typed fields of personal-data categories and the parsing of their values.
//!
//! A policy declares each field with a type; a value sent by an integration is parsed against that
//! type into a canonical text form before it is encrypted, so what is stored is always valid and
//! comparable. Parsing errors are in Russian, say what is wrong and show the expected form.

use serde::{Deserialize, Serialize};

use crate::identifier::{Email, Phone};

/// The type of one field of a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// A short single-line text (a name, a city), up to 200 characters unless `max_len` says.
    Text,
    /// Free text written by the subject (a claim, a review), up to 10 000 characters.
    FreeText,
    /// A civil date, `YYYY-MM-DD`.
    Date,
    /// An instant, RFC 3339.
    Datetime,
    /// A phone number; stored in E.164 form.
    Phone,
    /// An e-mail address; stored lower-cased.
    Email,
    /// A postal address as one line.
    Address,
    /// One of the `values` the policy lists.
    Enum,
    /// An amount of money in roubles with kopecks, e.g. `1250.50`.
    Money,
    /// A whole or decimal number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A pseudonymous cookie or device identifier (seed clause 10).
    CookieId,
    /// A Russian internal passport: series and number, 10 digits.
    Passport,
    /// A masked payment card (first 6 and last 4 digits at most), never a full card number.
    PaymentCard,
    /// An IP address.
    IpAddress,
    /// Geographic coordinates `lat,lon`.
    Geo,
    /// A URL.
    Url,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::FreeText => "free_text",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Phone => "phone",
            FieldType::Email => "email",
            FieldType::Address => "address",
            FieldType::Enum => "enum",
            FieldType::Money => "money",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::CookieId => "cookie_id",
            FieldType::Passport => "passport",
            FieldType::PaymentCard => "payment_card",
            FieldType::IpAddress => "ip_address",
            FieldType::Geo => "geo",
            FieldType::Url => "url",
        }
    }

    /// The default length limit in characters.
    pub fn default_max_len(self) -> usize {
        match self {
            FieldType::FreeText => 10_000,
            FieldType::Address | FieldType::Url => 500,
            _ => 200,
        }
    }
}

/// A field value that could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

/// The rules one field's values obey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec<'a> {
    pub field_type: FieldType,
    pub max_len: Option<usize>,
    pub values: &'a [String],
}

impl FieldSpec<'_> {
    /// Parses a JSON value into the canonical text form stored (encrypted) for this field.
    pub fn parse(&self, value: &serde_json::Value) -> Result<String, ValueError> {
        use serde_json::Value;
        let text = match (self.field_type, value) {
            (FieldType::Boolean, Value::Bool(b)) => return Ok(b.to_string()),
            (FieldType::Boolean, _) => return Err(ValueError("ожидается true или false".into())),
            (FieldType::Number | FieldType::Money, Value::Number(n)) => n.to_string(),
            (_, Value::String(s)) => s.trim().to_string(),
            (_, Value::Null) => return Err(ValueError("значение не может быть null".into())),
            _ => return Err(ValueError("ожидается строка".into())),
        };
        if text.is_empty() {
            return Err(ValueError("значение не может быть пустым".into()));
        }
        let limit = self.max_len.unwrap_or(self.field_type.default_max_len());
        if text.chars().count() > limit {
            return Err(ValueError(format!("значение длиннее {limit} символов")));
        }
        match self.field_type {
            FieldType::Text | FieldType::Address => {
                if text.chars().any(char::is_control) {
                    return Err(ValueError(
                        "однострочное поле: управляющие символы и переводы строк недопустимы"
                            .into(),
                    ));
                }
                Ok(text)
            }
            FieldType::FreeText => Ok(text),
            FieldType::Date => jiff::civil::Date::strptime("%Y-%m-%d", &text)
                .map(|d| d.to_string())
                .map_err(|_| {
                    ValueError("ожидается дата вида ГГГГ-ММ-ДД, например 1990-05-17".into())
                }),
            FieldType::Datetime => text
                .parse::<jiff::Timestamp>()
                .map(|t| t.to_string())
                .map_err(|_| {
                    ValueError(
                        "ожидается момент времени RFC 3339, например 2025-09-01T10:00:00Z".into(),
                    )
                }),
            FieldType::Phone => Phone::parse(&text)
                .map(|p| p.as_str().to_string())
                .map_err(|e| ValueError(e.to_string())),
            FieldType::Email => Email::parse(&text)
                .map(|e| e.as_str().to_string())
                .map_err(|e| ValueError(e.to_string())),
            FieldType::Enum => {
                if self.values.contains(&text) {
                    Ok(text)
                } else {
                    Err(ValueError(format!(
                        "допустимые значения: {}",
                        self.values.join(", ")
                    )))
                }
            }
            FieldType::Money => parse_money(&text),
            FieldType::Number => text
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(|_| text.clone())
                .ok_or_else(|| ValueError("ожидается число".into())),
            FieldType::Boolean => unreachable_boolean(),
            FieldType::CookieId => {
                if text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
                {
                    Ok(text)
                } else {
                    Err(ValueError(
                        "идентификатор cookie: только латинские буквы, цифры и - _ . :".into(),
                    ))
                }
            }
            FieldType::Passport => {
                let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                if digits.len() == 10 && digits.chars().all(|c| c.is_ascii_digit()) {
                    Ok(format!(
                        "{} {} {}",
                        &digits[..2],
                        &digits[2..4],
                        &digits[4..]
                    ))
                } else {
                    Err(ValueError(
                        "паспорт РФ: серия и номер, 10 цифр, например 45 08 123456".into(),
                    ))
                }
            }
            FieldType::PaymentCard => parse_masked_card(&text),
            FieldType::IpAddress => text
                .parse::<std::net::IpAddr>()
                .map(|ip| ip.to_string())
                .map_err(|_| ValueError("ожидается IP-адрес".into())),
            FieldType::Geo => parse_geo(&text),
            FieldType::Url => {
                if (text.starts_with("https://") || text.starts_with("http://"))
                    && !text.chars().any(char::is_whitespace)
                {
                    Ok(text)
                } else {
                    Err(ValueError("ожидается адрес вида https://…".into()))
                }
            }
        }
    }
}

fn unreachable_boolean() -> Result<String, ValueError> {
    // Booleans are fully handled before the text conversion above; reaching here means a JSON
    // string was sent for a boolean field.
    Err(ValueError("ожидается true или false".into()))
}

fn parse_money(text: &str) -> Result<String, ValueError> {
    let bad = || ValueError("ожидается сумма в рублях, например 1250.50".into());
    let normal = text.replace(',', ".");
    let (whole, frac) = normal.split_once('.').unwrap_or((&normal, ""));
    let sign_ok = whole.strip_prefix('-').unwrap_or(whole);
    if sign_ok.is_empty()
        || !sign_ok.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    Ok(format!("{whole}.{frac:0<2}"))
}

fn parse_masked_card(text: &str) -> Result<String, ValueError> {
    let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = compact.chars().filter(char::is_ascii_digit).count();
    let well_formed = (12..=19).contains(&compact.len())
        && compact
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == 'X' || c == 'x');
    if !well_formed || digits > 10 || digits == compact.len() {
        return Err(ValueError(
            "хранится только маскированный номер карты (не более 6 первых и 4 последних цифр), например 427600******1234"
                .into(),
        ));
    }
    Ok(compact)
}

fn parse_geo(text: &str) -> Result<String, ValueError> {
    let bad = || ValueError("ожидаются координаты вида 55.7558,37.6173".into());
    let (lat, lon) = text.split_once(',').ok_or_else(bad)?;
    let lat: f64 = lat.trim().parse().map_err(|_| bad())?;
    let lon: f64 = lon.trim().parse().map_err(|_| bad())?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(bad());
    }
    Ok(format!("{lat},{lon}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(t: FieldType) -> FieldSpec<'static> {
        FieldSpec {
            field_type: t,
            max_len: None,
            values: &[],
        }
    }

    #[test]
    fn values_are_canonicalised() {
        assert_eq!(
            spec(FieldType::Phone)
                .parse(&json!("8 916 123 45 67"))
                .unwrap(),
            "+79161234567"
        );
        assert_eq!(
            spec(FieldType::Money).parse(&json!("1250,5")).unwrap(),
            "1250.50"
        );
        assert_eq!(spec(FieldType::Money).parse(&json!(99)).unwrap(), "99.00");
        assert_eq!(
            spec(FieldType::Passport)
                .parse(&json!("4508123456"))
                .unwrap(),
            "45 08 123456"
        );
        assert_eq!(
            spec(FieldType::Boolean).parse(&json!(true)).unwrap(),
            "true"
        );
        assert_eq!(
            spec(FieldType::Date).parse(&json!("1990-05-17")).unwrap(),
            "1990-05-17"
        );
    }

    #[test]
    fn bad_values_say_what_is_expected() {
        assert!(
            spec(FieldType::Date)
                .parse(&json!("17.05.1990"))
                .unwrap_err()
                .0
                .contains("ГГГГ-ММ-ДД")
        );
        assert!(spec(FieldType::Date).parse(&json!("1990-02-30")).is_err());
        assert!(spec(FieldType::Text).parse(&json!(42)).is_err());
        assert!(spec(FieldType::Text).parse(&json!("")).is_err());
        assert!(spec(FieldType::Text).parse(&json!("a\nb")).is_err());
        assert!(spec(FieldType::Boolean).parse(&json!("yes")).is_err());
        assert!(
            spec(FieldType::PaymentCard)
                .parse(&json!("4276123412341234"))
                .is_err()
        );
        assert!(
            spec(FieldType::PaymentCard)
                .parse(&json!("427612******1234"))
                .is_ok()
        );
        assert!(spec(FieldType::Geo).parse(&json!("95,10")).is_err());
        let values = ["male".to_string(), "female".to_string()];
        let sex = FieldSpec {
            field_type: FieldType::Enum,
            max_len: None,
            values: &values,
        };
        assert!(sex.parse(&json!("female")).is_ok());
        assert!(
            sex.parse(&json!("other"))
                .unwrap_err()
                .0
                .contains("male, female")
        );
        let short = FieldSpec {
            field_type: FieldType::Text,
            max_len: Some(3),
            values: &[],
        };
        assert!(short.parse(&json!("abcd")).is_err());
    }
}
