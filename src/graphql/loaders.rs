//! Per-request batch loaders: every user, profile and plan that one GraphQL
//! request touches is fetched in one statement per kind, whatever the count.
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QuerySelect, Statement};

use crate::entities::{
    identity, instagram_account, instagram_image, passkey, profile, recovery_code, rows, subscription_plan, totp_factor, user,
};
use crate::error::AppError;

pub type LoadError = Arc<AppError>;

macro_rules! by_key_loader {
    ($name:ident, $entity:path, $model:ty, $column:expr, $key:ident) => {
        pub struct $name(pub DatabaseConnection);

        impl Loader<String> for $name {
            type Value = $model;
            type Error = LoadError;

            async fn load(&self, keys: &[String]) -> Result<HashMap<String, $model>, LoadError> {
                let rows = <$entity>::find()
                    .filter($column.is_in(keys.iter().cloned()))
                    .all(&self.0)
                    .await
                    .map_err(|e| Arc::new(AppError::from(e)))?;
                Ok(rows.into_iter().map(|row| (row.$key.clone(), row)).collect())
            }
        }
    };
}

by_key_loader!(UserLoader, user::Entity, user::Model, user::Column::Id, id);
by_key_loader!(ProfileLoader, profile::Entity, profile::Model, profile::Column::UserId, user_id);
by_key_loader!(PlanLoader, subscription_plan::Entity, subscription_plan::Model, subscription_plan::Column::Id, id);
/// Each user's linked Instagram account, or None: the None is an answer
/// too, so a primed cache also knows who has no account.
pub struct InstagramAccountLoader(pub DatabaseConnection);

impl Loader<String> for InstagramAccountLoader {
    type Value = Option<instagram_account::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, LoadError> {
        let rows = instagram_account::Entity::find()
            .filter(instagram_account::Column::UserId.is_in(keys.iter().cloned()))
            .all(&self.0)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        Ok(at_most_one_per_key(keys, rows, |row| &row.user_id))
    }
}

/// How many Instagram images each user has: one grouped COUNT for all of them.
pub struct InstagramImageCountLoader(pub DatabaseConnection);

impl Loader<String> for InstagramImageCountLoader {
    type Value = i64;
    type Error = LoadError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, i64>, LoadError> {
        let rows: Vec<(String, i64)> = instagram_image::Entity::find()
            .select_only()
            .column(instagram_image::Column::UserId)
            .column_as(instagram_image::Column::Seq.count(), "count")
            .filter(instagram_image::Column::UserId.is_in(keys.iter().cloned()))
            .group_by(instagram_image::Column::UserId)
            .into_tuple()
            .all(&self.0)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        Ok(counts_per_key(keys, rows))
    }
}

/// Each user's TOTP factor (pending or confirmed), or None.
pub struct TotpFactorLoader(pub DatabaseConnection);

impl Loader<String> for TotpFactorLoader {
    type Value = Option<totp_factor::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, LoadError> {
        let rows = totp_factor::Entity::find()
            .filter(totp_factor::Column::UserId.is_in(keys.iter().cloned()))
            .all(&self.0)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        Ok(at_most_one_per_key(keys, rows, |row| &row.user_id))
    }
}

/// How many unused recovery codes each user has: one grouped COUNT.
pub struct RecoveryCodesLeftLoader(pub DatabaseConnection);

impl Loader<String> for RecoveryCodesLeftLoader {
    type Value = i64;
    type Error = LoadError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, i64>, LoadError> {
        let rows: Vec<(String, i64)> = recovery_code::Entity::find()
            .select_only()
            .column(recovery_code::Column::UserId)
            .column_as(recovery_code::Column::Id.count(), "count")
            .filter(recovery_code::Column::UserId.is_in(keys.iter().cloned()))
            .filter(recovery_code::Column::UsedAt.is_null())
            .group_by(recovery_code::Column::UserId)
            .into_tuple()
            .all(&self.0)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        Ok(counts_per_key(keys, rows))
    }
}

/// Each user's passkeys, oldest first (empty lists included).
pub struct PasskeysLoader(pub DatabaseConnection);

impl Loader<String> for PasskeysLoader {
    type Value = Vec<passkey::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, LoadError> {
        use sea_orm::QueryOrder;
        let rows = passkey::Entity::find()
            .filter(passkey::Column::UserId.is_in(keys.iter().cloned()))
            .order_by_asc(passkey::Column::CreatedAt)
            .order_by_asc(passkey::Column::Id)
            .all(&self.0)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        Ok(all_per_key(keys, rows, |row| &row.user_id))
    }
}

/// Each user's linked provider identities, by provider name (empty lists included).
pub struct IdentitiesLoader(pub DatabaseConnection);

impl Loader<String> for IdentitiesLoader {
    type Value = Vec<identity::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, LoadError> {
        use sea_orm::QueryOrder;
        let rows = identity::Entity::find()
            .filter(identity::Column::UserId.is_in(keys.iter().cloned()))
            .order_by_asc(identity::Column::Provider)
            .all(&self.0)
            .await
            .map_err(|e| Arc::new(AppError::from(e)))?;
        Ok(all_per_key(keys, rows, |row| &row.user_id))
    }
}

/// Rows keyed by their user, with None for every key that has none: the
/// None is an answer too, so a primed cache also knows who has no row.
fn at_most_one_per_key<M>(keys: &[String], rows: Vec<M>, key: impl Fn(&M) -> &String) -> HashMap<String, Option<M>> {
    let mut found: HashMap<String, Option<M>> = keys.iter().map(|k| (k.clone(), None)).collect();
    for row in rows {
        found.insert(key(&row).clone(), Some(row));
    }
    found
}

/// Rows grouped by their user in the order read, with an empty list for
/// every key that has none.
fn all_per_key<M>(keys: &[String], rows: Vec<M>, key: impl Fn(&M) -> &String) -> HashMap<String, Vec<M>> {
    let mut found: HashMap<String, Vec<M>> = keys.iter().map(|k| (k.clone(), Vec::new())).collect();
    for row in rows {
        found.entry(key(&row).clone()).or_default().push(row);
    }
    found
}

/// Grouped counts, with 0 for every key the query found nothing for: an
/// answer worth caching too.
fn counts_per_key(keys: &[String], rows: Vec<(String, i64)>) -> HashMap<String, i64> {
    let mut counts: HashMap<String, i64> = keys.iter().map(|k| (k.clone(), 0)).collect();
    counts.extend(rows);
    counts
}

/// Users by id, and the profiles of those that have one.
#[derive(Default)]
pub struct UsersWithProfiles {
    pub users: HashMap<String, user::Model>,
    pub profiles: HashMap<String, profile::Model>,
}

/// The loaders of one request. They cache for the request's lifetime only, so
/// a later request never sees stale rows. Each is made on first use: most
/// requests need one or two of them.
pub struct Loaders {
    db: DatabaseConnection,
    users: OnceLock<DataLoader<UserLoader, HashMapCache>>,
    profiles: OnceLock<DataLoader<ProfileLoader, HashMapCache>>,
    plans: OnceLock<DataLoader<PlanLoader, HashMapCache>>,
    instagram_accounts: OnceLock<DataLoader<InstagramAccountLoader, HashMapCache>>,
    instagram_image_counts: OnceLock<DataLoader<InstagramImageCountLoader, HashMapCache>>,
    totp_factors: OnceLock<DataLoader<TotpFactorLoader, HashMapCache>>,
    recovery_codes_left: OnceLock<DataLoader<RecoveryCodesLeftLoader, HashMapCache>>,
    passkeys: OnceLock<DataLoader<PasskeysLoader, HashMapCache>>,
    identities: OnceLock<DataLoader<IdentitiesLoader, HashMapCache>>,
    /// A user (None: no such user) and profile read by id with the session
    /// check (`sessions::service::authenticate`), for this request.
    looked_up: OnceLock<(String, Option<rows::UserWithProfile>)>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection) -> Self {
        Loaders {
            db: db.clone(),
            users: OnceLock::new(),
            profiles: OnceLock::new(),
            plans: OnceLock::new(),
            instagram_accounts: OnceLock::new(),
            instagram_image_counts: OnceLock::new(),
            totp_factors: OnceLock::new(),
            recovery_codes_left: OnceLock::new(),
            passkeys: OnceLock::new(),
            identities: OnceLock::new(),
            looked_up: OnceLock::new(),
        }
    }

    pub fn users(&self) -> &DataLoader<UserLoader, HashMapCache> {
        self.users.get_or_init(|| DataLoader::with_cache(UserLoader(self.db.clone()), tokio::spawn, HashMapCache::default()))
    }

    pub fn profiles(&self) -> &DataLoader<ProfileLoader, HashMapCache> {
        self.profiles.get_or_init(|| DataLoader::with_cache(ProfileLoader(self.db.clone()), tokio::spawn, HashMapCache::default()))
    }

    pub fn plans(&self) -> &DataLoader<PlanLoader, HashMapCache> {
        self.plans.get_or_init(|| DataLoader::with_cache(PlanLoader(self.db.clone()), tokio::spawn, HashMapCache::default()))
    }

    pub fn instagram_accounts(&self) -> &DataLoader<InstagramAccountLoader, HashMapCache> {
        self.instagram_accounts
            .get_or_init(|| DataLoader::with_cache(InstagramAccountLoader(self.db.clone()), tokio::spawn, HashMapCache::default()))
    }

    pub fn instagram_image_counts(&self) -> &DataLoader<InstagramImageCountLoader, HashMapCache> {
        self.instagram_image_counts
            .get_or_init(|| DataLoader::with_cache(InstagramImageCountLoader(self.db.clone()), tokio::spawn, HashMapCache::default()))
    }

    pub fn totp_factors(&self) -> &DataLoader<TotpFactorLoader, HashMapCache> {
        self.totp_factors.get_or_init(|| DataLoader::with_cache(TotpFactorLoader(self.db.clone()), tokio::spawn, HashMapCache::default()))
    }

    pub fn recovery_codes_left(&self) -> &DataLoader<RecoveryCodesLeftLoader, HashMapCache> {
        self.recovery_codes_left
            .get_or_init(|| DataLoader::with_cache(RecoveryCodesLeftLoader(self.db.clone()), tokio::spawn, HashMapCache::default()))
    }

    pub fn passkeys(&self) -> &DataLoader<PasskeysLoader, HashMapCache> {
        self.passkeys.get_or_init(|| DataLoader::with_cache(PasskeysLoader(self.db.clone()), tokio::spawn, HashMapCache::default()))
    }

    pub fn identities(&self) -> &DataLoader<IdentitiesLoader, HashMapCache> {
        self.identities.get_or_init(|| DataLoader::with_cache(IdentitiesLoader(self.db.clone()), tokio::spawn, HashMapCache::default()))
    }

    /// Users by id with their profiles, fetched now in one statement (users
    /// LEFT JOIN profiles, no batching delay). With `feed_profiles` (the query
    /// reads them again through the users) the profiles are also fed to the
    /// profile loader, for the rest of the request.
    pub async fn users_with_profiles_now(&self, ids: &[String], feed_profiles: bool) -> Result<UsersWithProfiles, AppError> {
        if let Some((id, found)) = self.looked_up.get() {
            if !ids.is_empty() && ids.iter().all(|asked| asked == id) {
                let mut answer = UsersWithProfiles::default();
                if let Some((user, profile)) = found {
                    answer.users.insert(id.clone(), user.clone());
                    answer.profiles.extend(profile.clone().map(|profile| (id.clone(), profile)));
                }
                return Ok(answer);
            }
        }
        let mut distinct: Vec<&String> = ids.iter().collect();
        distinct.sort_unstable();
        distinct.dedup();
        let ids_json = serde_json::to_string(&distinct).map_err(|e| AppError::Internal(e.into()))?;
        let backend = self.db.get_database_backend();
        let statement = Statement::from_sql_and_values(backend, users_with_profiles_sql(backend), [ids_json.into()]);
        let mut found = UsersWithProfiles::default();
        for row in self.db.query_all_raw(statement).await? {
            let (user, profile) = rows::user_with_profile_at(&row)?;
            if let Some(profile) = profile {
                found.profiles.insert(user.id.clone(), profile);
            }
            found.users.insert(user.id.clone(), user);
        }
        if feed_profiles {
            self.profiles().feed_many(found.profiles.iter().map(|(id, profile)| (id.clone(), profile.clone()))).await;
        }
        Ok(found)
    }

    /// Takes a user (None: no user has that id) and profile read by id with
    /// the session check: the user and profile loaders are fed, and
    /// `users_with_profiles_now` answers that id from it.
    pub async fn feed_looked_up(&self, id: String, found: Option<rows::UserWithProfile>) {
        if let Some((user, profile)) = &found {
            self.users().feed_one(id.clone(), user.clone()).await;
            if let Some(profile) = profile {
                self.profiles().feed_one(id.clone(), profile.clone()).await;
            }
        }
        let _ = self.looked_up.set((id, found));
    }

    /// Loads the Instagram accounts and image counts of a list of users in
    /// one statement each, at once (see `prime_users`).
    pub async fn prime_instagram(&self, user_ids: &[String]) -> Result<(), AppError> {
        let accounts = self.instagram_accounts().loader().load(user_ids).await.map_err(load_error)?;
        self.instagram_accounts().feed_many(accounts).await;
        let counts = self.instagram_image_counts().loader().load(user_ids).await.map_err(load_error)?;
        self.instagram_image_counts().feed_many(counts).await;
        Ok(())
    }

    /// Loads the second factors of a list of users (User.mfa) in one
    /// statement per kind, at once (see `prime_users`).
    pub async fn prime_mfa(&self, user_ids: &[String]) -> Result<(), AppError> {
        let factors = self.totp_factors().loader().load(user_ids).await.map_err(load_error)?;
        self.totp_factors().feed_many(factors).await;
        let codes = self.recovery_codes_left().loader().load(user_ids).await.map_err(load_error)?;
        self.recovery_codes_left().feed_many(codes).await;
        let passkeys = self.passkeys().loader().load(user_ids).await.map_err(load_error)?;
        self.passkeys().feed_many(passkeys).await;
        Ok(())
    }

    /// Feeds the profiles read with a list of users and, when the query asks
    /// for plans, loads them in one statement, before the list's items ask
    /// for them one by one. The per-item loads then hit the cache, so the
    /// statement count cannot depend on how the executor happens to split
    /// the items into batches, and no item waits for a batch window.
    pub async fn prime_users(
        &self,
        users: &[&user::Model],
        profiles: Vec<(String, profile::Model)>,
        with_plans: bool,
    ) -> Result<(), AppError> {
        self.profiles().feed_many(profiles).await;
        if with_plans {
            self.prime_plans(users).await?;
        }
        Ok(())
    }

    /// Loads the subscription plans of a list of users in one statement.
    pub async fn prime_plans(&self, users: &[&user::Model]) -> Result<(), AppError> {
        let mut plan_ids: Vec<String> = users.iter().filter_map(|u| u.subscription_plan_id.clone()).collect();
        plan_ids.sort();
        plan_ids.dedup();
        if !plan_ids.is_empty() {
            let plans = self.plans().loader().load(&plan_ids).await.map_err(load_error)?;
            self.plans().feed_many(plans).await;
        }
        Ok(())
    }
}

/// Every user column, then every profile column (read by position, see
/// entities::rows), for the users whose ids are in one bound JSON array,
/// built once per backend. The ids drive the join, each found through the
/// primary key: with `IN (?, ?, ...)` SQLite first builds a temporary index
/// of the list (a page-cache allocation per statement), and the SQL would
/// change with the count.
fn users_with_profiles_sql(backend: DbBackend) -> String {
    static SQLITE: OnceLock<String> = OnceLock::new();
    static POSTGRES: OnceLock<String> = OnceLock::new();
    let build = |ids: &str| {
        format!(
            "SELECT {}, {} FROM {ids} JOIN users u ON u.id = j.value LEFT JOIN profiles p ON p.user_id = u.id",
            rows::select_list::<user::Column>("u"),
            rows::select_list::<profile::Column>("p"),
        )
    };
    match backend {
        DbBackend::Postgres => POSTGRES.get_or_init(|| build("json_array_elements_text($1::json) AS j(value)")).clone(),
        _ => SQLITE.get_or_init(|| build("json_each(?) AS j")).clone(),
    }
}

/// Turns a loader failure back into the one error type.
pub fn load_error(error: LoadError) -> AppError {
    match Arc::try_unwrap(error) {
        Ok(error) => error,
        Err(shared) if matches!(*shared, AppError::Unavailable) => AppError::Unavailable,
        Err(shared) => AppError::Internal(anyhow::anyhow!("{:?}", shared)),
    }
}
