//! Parameter validation for query strings and JSON bodies, judged the way the
//! vendor judges them (PHP-style `name[]` arrays, scalar checks, type checks),
//! with the reference's error texts.
//!
//! Query strings are parsed from the raw text on purpose: the simulator must see
//! exactly what a client sent (an unencoded `+` decodes to a space, a repeated
//! scalar is an error), not what a lenient framework would make of it.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// A decoded query string: `(name, bracketed, value)` per pair, in order, where
/// `bracketed` records the PHP array form `name[]=...` (or `name[0]=...`).
#[derive(Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, bool, String)>,
}

impl Query {
    /// Decodes a raw query string (`application/x-www-form-urlencoded`).
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                let key = percent_decode(key);
                let value = percent_decode(value);
                match key.split_once('[') {
                    Some((base, _)) => (base.to_owned(), true, value),
                    None => (key, false, value),
                }
            })
            .collect();
        Self { pairs }
    }

    /// The single value of a scalar parameter. `name[]=` or a repeated `name`
    /// is `The 'name' parameter must be scalar.`
    pub fn scalar(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut found = self.pairs.iter().filter(|(key, _, _)| key == name);
        match (found.next(), found.next()) {
            (None, _) => Ok(None),
            (Some((_, false, value)), None) => Ok(Some(value.as_str())),
            _ => Err(ApiError::scalar(name)),
        }
    }

    /// Every value of an array parameter, given as `name=` and/or `name[]=`.
    pub fn list(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(key, _, _)| key == name)
            .map(|(_, _, value)| value.as_str())
            .collect()
    }

    /// A scalar integer parameter.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.scalar(name)?
            .map(|v| parse_integer(v).ok_or_else(|| ApiError::formatted(name, "integer")))
            .transpose()
    }

    /// A scalar integer parameter that must be at least 1 (pages, page sizes).
    pub fn positive(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.integer(name)?
            .map(|v| {
                u64::try_from(v)
                    .ok()
                    .filter(|v| *v >= 1)
                    .ok_or_else(|| ApiError::formatted(name, "integer"))
            })
            .transpose()
    }

    /// A scalar boolean parameter: `1`, `0`, `true` or `false`.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.scalar(name)?
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "1" | "true" => Ok(true),
                "0" | "false" => Ok(false),
                _ => Err(ApiError::formatted(name, "boolean")),
            })
            .transpose()
    }

    /// A scalar string parameter that, when given, must not be empty.
    pub fn non_empty(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.scalar(name)? {
            Some("") => Err(ApiError::non_empty_string(name)),
            other => Ok(other),
        }
    }
}

/// Parses a decimal integer with an optional sign, nothing else (no `1.0`, no spaces).
fn parse_integer(text: &str) -> Option<i64> {
    let digits = text
        .strip_prefix('-')
        .or_else(|| text.strip_prefix('+'))
        .unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Decodes `%XX` escapes and `+` (a space, as in any form-encoded query: that is
/// why the reference insists the plus of an E.164 number be encoded as `%2B`).
/// Malformed escapes are kept literally.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON request body, always an object (an empty or non-object body has no
/// parameters, so every required one is reported missing).
#[derive(Debug, Default)]
pub(crate) struct Body(Map<String, Value>);

impl Body {
    /// Parses a body; text that is not JSON is 400 Bad Request (the reference is
    /// silent; this is what a JSON API answers).
    pub fn parse(bytes: &[u8]) -> Result<Self, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Ok(Self::default()),
            Err(_) => Err(ApiError::status(axum::http::StatusCode::BAD_REQUEST)),
        }
    }

    /// A parameter's value; `null` counts as absent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// Whether a parameter is given (not absent, not null).
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A scalar integer: arrays and objects are `must be scalar`, other
    /// non-integers `must be formatted as a(n) integer`.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(_) | Value::Object(_)) => Err(ApiError::scalar(name)),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiError::formatted(name, "integer")),
            Some(_) => Err(ApiError::formatted(name, "integer")),
        }
    }

    /// A required integer of at least 1 (package IDs, quantities).
    pub fn required_positive(&self, name: &str) -> Result<u64, ApiError> {
        self.integer(name)?
            .ok_or_else(|| ApiError::required(name))
            .and_then(|v| {
                u64::try_from(v)
                    .ok()
                    .filter(|v| *v >= 1)
                    .ok_or_else(|| ApiError::formatted(name, "integer"))
            })
    }

    /// A scalar string.
    pub fn string(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(_) | Value::Object(_)) => Err(ApiError::scalar(name)),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ApiError::formatted(name, "string")),
        }
    }

    /// A scalar string that, when given, must not be empty (`referenceID`).
    pub fn non_empty(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.string(name)? {
            Some(s) if s.trim().is_empty() => Err(ApiError::non_empty_string(name)),
            other => Ok(other),
        }
    }

    /// A scalar boolean: `true`/`false`, or `1`/`0` as a number or string.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(_) | Value::Object(_)) => Err(ApiError::scalar(name)),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(Some(true)),
            Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(Some(false)),
            Some(Value::String(s)) if matches!(s.as_str(), "1" | "true") => Ok(Some(true)),
            Some(Value::String(s)) if matches!(s.as_str(), "0" | "false") => Ok(Some(false)),
            Some(_) => Err(ApiError::formatted(name, "boolean")),
        }
    }

    /// One string or an array of strings (reservation IDs): anything else is
    /// `must be formatted as a(n) string`. An empty list counts as absent.
    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        let items: Vec<&Value> = match self.get(name) {
            None => return Ok(None),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(other) => vec![other],
        };
        let strings = items
            .into_iter()
            .map(|v| match v {
                Value::String(s) if !s.is_empty() => Ok(s.clone()),
                _ => Err(ApiError::formatted(name, "string")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((!strings.is_empty()).then_some(strings))
    }

    /// The `endpoints` array of a reservation or a purchase: items are E.164
    /// strings or `{"countryCode": "1", "number": "8885551201"}` objects, all
    /// returned as E.164 text. Unknown but well-typed numbers are returned as
    /// given; the caller finds them unavailable.
    pub fn numbers(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        self.unique_items(name, |item| match item {
            Value::String(s) => Ok(s.clone()),
            Value::Object(object) => number_object(object),
            _ => Err(ApiError::formatted(name, "array")),
        })
    }

    /// An array of E.164 strings (changing packages, disconnecting).
    pub fn e164_strings(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        self.unique_items(name, |item| match item {
            Value::String(s) => Ok(s.clone()),
            _ => Err(ApiError::formatted(name, "string")),
        })
    }

    /// An array parameter's items read by `item`, deduplicated in order; an
    /// empty array counts as absent, a non-array is `must be formatted as a(n) array`.
    fn unique_items(
        &self,
        name: &str,
        item: impl Fn(&Value) -> Result<String, ApiError>,
    ) -> Result<Option<Vec<String>>, ApiError> {
        let items = match self.get(name) {
            None => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(ApiError::formatted(name, "array")),
        };
        let mut unique: Vec<String> = Vec::with_capacity(items.len());
        for value in items {
            let text = item(value)?;
            if !unique.contains(&text) {
                unique.push(text);
            }
        }
        Ok((!unique.is_empty()).then_some(unique))
    }
}

/// `{"countryCode": "1", "number": "8885551201"}` as `+18885551201`.
fn number_object(object: &Map<String, Value>) -> Result<String, ApiError> {
    let field = |name| object.get(name).filter(|v| !v.is_null());
    let (Some(country), Some(number)) = (field("countryCode"), field("number")) else {
        return Err(ApiError::number_object_incomplete());
    };
    let country_is_one = match country {
        Value::String(s) => s == "1",
        Value::Number(n) => n.as_u64() == Some(1),
        _ => false,
    };
    if !country_is_one {
        return Err(ApiError::one_of("countryCode", "1"));
    }
    let digits = match number {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(ApiError::number_object_incomplete()),
    };
    Ok(format!("+1{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decodes_plus_as_space_and_escapes() {
        let q = Query::parse(Some("like=%2B1800&other=+1800&bad=%zz%"));
        assert_eq!(q.scalar("like"), Ok(Some("+1800")));
        assert_eq!(q.scalar("other"), Ok(Some(" 1800")));
        assert_eq!(q.scalar("bad"), Ok(Some("%zz%")));
    }

    #[test]
    fn query_arrays_and_scalars() {
        let q = Query::parse(Some("npa[]=888&npa[]=877&page[]=1&like=a&like=b"));
        assert_eq!(q.list("npa"), vec!["888", "877"]);
        assert_eq!(q.scalar("page"), Err(ApiError::scalar("page")));
        assert_eq!(q.scalar("like"), Err(ApiError::scalar("like")));
        assert_eq!(q.scalar("missing"), Ok(None));
    }

    #[test]
    fn integers_are_plain_decimal() {
        assert_eq!(parse_integer("42"), Some(42));
        assert_eq!(parse_integer("-3"), Some(-3));
        assert_eq!(parse_integer("1.0"), None);
        assert_eq!(parse_integer(""), None);
        assert_eq!(parse_integer("99999999999999999999"), None);
    }
}
