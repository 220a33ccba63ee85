//! The contract's DateTime (RFC 3339, UTC), Date (YYYY-MM-DD) and JSON scalars.
use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};

/// A moment in time, RFC 3339 in UTC, e.g. 2026-11-24T15:04:05.123Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// A moment in time as an RFC 3339 string, e.g. 2026-11-24T15:04:05.123Z. Sent in UTC with milliseconds; accepted with any offset.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| DateTime(t.with_timezone(&Utc)))
                .map_err(|_| InputValueError::custom("expected an RFC 3339 date-time")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(t: chrono::DateTime<Utc>) -> Self {
        DateTime(t)
    }
}

/// Any JSON value: WebAuthn options and credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct Json(pub serde_json::Value);

/// Arbitrary JSON. Here: WebAuthn options and credentials in the WebAuthn Level 3 JSON form.
#[Scalar(name = "JSON")]
impl ScalarType for Json {
    fn parse(value: Value) -> InputValueResult<Self> {
        value.into_json().map(Json).map_err(|_| InputValueError::custom("expected a JSON value"))
    }

    fn to_value(&self) -> Value {
        Value::from_json(self.0.clone()).unwrap_or(Value::Null)
    }
}

/// A calendar date, YYYY-MM-DD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar date as YYYY-MM-DD, e.g. 1990-07-14, with no time or time zone.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => {
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map(Date).map_err(|_| InputValueError::custom("expected a date as YYYY-MM-DD"))
            }
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}
