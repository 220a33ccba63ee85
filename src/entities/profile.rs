use sea_orm::entity::prelude::*;

use super::enums::{Gender, Interest};

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
pub enum Relation {
    #[sea_orm(belongs_to = "super::user::Entity", from = "Column::UserId", to = "super::user::Column::Id")]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The stored interests, in the user's order.
    pub fn interests(&self) -> Vec<Interest> {
        serde_json::from_str(&self.interests).unwrap_or_default()
    }
}

/// How a list of interests is stored in `profiles.interests`.
pub fn encode_interests(interests: &[Interest]) -> String {
    serde_json::to_string(interests).expect("a list of enum names always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interests_round_trip_as_json() {
        let json = encode_interests(&[Interest::NightWalks, Interest::Coffee]);
        assert_eq!(json, r#"["NIGHT_WALKS","COFFEE"]"#);
        let model = Model {
            user_id: "u".into(),
            bio: None,
            gender: None,
            birth_date: None,
            state: None,
            city: None,
            interests: json,
            monthly_sub_keys: None,
            display_pic_key: None,
            updated_at: chrono::Utc::now(),
        };
        assert_eq!(model.interests(), vec![Interest::NightWalks, Interest::Coffee]);
    }
}
