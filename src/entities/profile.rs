use sea_orm::entity::prelude::*;

use super::enums::Gender;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "profiles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub bio: Option<String>,
    pub gender: Option<Gender>,
    pub birth_date: Option<Date>,
    pub state: Option<String>,
    pub city: Option<String>,
    /// JSON array of Interest names, in the order given.
    pub interests: String,
    pub monthly_sub_keys: Option<i32>,
    pub display_pic_key: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
