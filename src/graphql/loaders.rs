//! Per-request batch loaders: every user, profile and plan that one GraphQL
//! request touches is fetched in one statement per kind, whatever the count.
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};

use crate::entities::{instagram_account, instagram_image, profile, subscription_plan, user};
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
by_key_loader!(InstagramAccountLoader, instagram_account::Entity, instagram_account::Model, instagram_account::Column::UserId, user_id);

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
        Ok(rows.into_iter().collect())
    }
}

/// The loaders of one request. They cache for the request's lifetime only, so
/// a later request never sees stale rows.
pub struct Loaders {
    pub users: DataLoader<UserLoader>,
    pub profiles: DataLoader<ProfileLoader>,
    pub plans: DataLoader<PlanLoader>,
    pub instagram_accounts: DataLoader<InstagramAccountLoader>,
    pub instagram_image_counts: DataLoader<InstagramImageCountLoader>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection) -> Self {
        Loaders {
            users: DataLoader::new(UserLoader(db.clone()), tokio::spawn),
            profiles: DataLoader::new(ProfileLoader(db.clone()), tokio::spawn),
            plans: DataLoader::new(PlanLoader(db.clone()), tokio::spawn),
            instagram_accounts: DataLoader::new(InstagramAccountLoader(db.clone()), tokio::spawn),
            instagram_image_counts: DataLoader::new(InstagramImageCountLoader(db.clone()), tokio::spawn),
        }
    }
}

/// Turns a loader failure back into the one error type.
pub fn load_error(error: LoadError) -> AppError {
    match Arc::try_unwrap(error) {
        Ok(error) => error,
        Err(shared) => AppError::Internal(anyhow::anyhow!("{:?}", shared)),
    }
}
