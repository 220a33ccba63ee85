use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "instagram_images")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub user_id: String,
    /// Instagram's own media id.
    pub image_id: String,
    pub instagram_url: String,
    pub raw_image_url: String,
    pub orig_width: i32,
    pub orig_height: i32,
    pub added_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
