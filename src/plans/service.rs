//! Subscription plans: the list users choose from, and new plans (admins).
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::entities::subscription_plan;
use crate::error::{unique_violation, AppError, Problems, ServiceError, ServiceResult, UserErrorCode};
use crate::state::AppState;

/// Every plan, cheapest first.
pub async fn list(state: &AppState) -> Result<Vec<subscription_plan::Model>, AppError> {
    Ok(subscription_plan::Entity::find()
        .order_by_asc(subscription_plan::Column::PriceCents)
        .order_by_asc(subscription_plan::Column::Name)
        .all(&state.db)
        .await?)
}

pub const MAX_PLAN_NAME: usize = 100;
pub const MAX_INTERVAL_MONTHS: i32 = 120;

/// The circulating currencies of ISO 4217 (funds, metals, testing and
/// "no currency" codes left out: nothing is priced in them).
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB",
    "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP",
    "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK",
    "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN",
    "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF",
    "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND",
    "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF",
    "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// What `createSubscriptionPlan` receives.
pub struct NewPlan {
    pub name: String,
    pub price_cents: i32,
    pub currency: String,
    pub interval_months: i32,
}

const PLAN_NAME_TAKEN: &str = "A plan with this name already exists.";

/// Admins only: a new plan. Every problem of the input is reported together.
pub async fn create_plan(state: &AppState, input: NewPlan) -> ServiceResult<subscription_plan::Model> {
    let mut problems = Problems::default();
    let name = input.name.trim();
    if name.is_empty() {
        problems.add(&["input", "name"], UserErrorCode::Required, "Give the plan a name.");
    } else if name.chars().count() > MAX_PLAN_NAME {
        problems.add(&["input", "name"], UserErrorCode::TooLong, format!("A plan name has at most {MAX_PLAN_NAME} characters."));
    } else if name.chars().any(char::is_control) {
        problems.add(&["input", "name"], UserErrorCode::Invalid, "Remove the control characters from the name.");
    }
    if input.price_cents < 0 {
        problems.add(&["input", "priceCents"], UserErrorCode::Invalid, "The price cannot be negative.");
    }
    let currency = input.currency.trim();
    if currency.is_empty() {
        problems.add(&["input", "currency"], UserErrorCode::Required, "Give the plan a currency, like USD.");
    } else if !ISO_4217.contains(&currency) {
        problems.add(&["input", "currency"], UserErrorCode::Invalid, "Use an ISO 4217 currency code in capitals, like USD or EUR.");
    }
    if !(1..=MAX_INTERVAL_MONTHS).contains(&input.interval_months) {
        problems.add(
            &["input", "intervalMonths"],
            UserErrorCode::Invalid,
            format!("The billing interval is from 1 to {MAX_INTERVAL_MONTHS} months."),
        );
    }
    let name_lower = name.to_lowercase();
    if !problems.has(&["input", "name"]) {
        let taken = subscription_plan::Entity::find()
            .filter(subscription_plan::Column::NameLower.eq(name_lower.clone()))
            .one(&state.db)
            .await?
            .is_some();
        if taken {
            problems.add(&["input", "name"], UserErrorCode::Taken, PLAN_NAME_TAKEN);
        }
    }
    problems.check()?;
    let plan = subscription_plan::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        name: Set(name.to_owned()),
        name_lower: Set(name_lower),
        price_cents: Set(input.price_cents),
        currency: Set(currency.to_owned()),
        interval_months: Set(input.interval_months),
        created_at: Set(Utc::now()),
    };
    // A plan of the same name created a moment ago loses the race on the unique index.
    plan.insert(&state.db).await.map_err(|e| match unique_violation(&e) {
        Some(_) => ServiceError::one(&["input", "name"], UserErrorCode::Taken, PLAN_NAME_TAKEN),
        None => e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_three_capitals() {
        assert!(ISO_4217.iter().all(|c| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase())));
        assert!(ISO_4217.contains(&"USD") && ISO_4217.contains(&"EUR") && ISO_4217.contains(&"JPY"));
        assert!(!ISO_4217.contains(&"XXX") && !ISO_4217.contains(&"ABC"));
        let mut sorted = ISO_4217.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ISO_4217.len());
    }
}
