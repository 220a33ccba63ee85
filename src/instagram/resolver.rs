//! GraphQL face of Instagram: the InstagramAccount type (User.instagram),
//! linkInstagram, unlinkInstagram, instagramSync.
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use crate::entities::{instagram_account, instagram_image};
use crate::error::{into_payload, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::{load_error, Loaders};
use crate::graphql::pagination::{page_size, PageInfo};
use crate::graphql::scalars::DateTime;
use crate::instagram::service::{self, ItemResult, NewImage};

/// A user's linked Instagram account.
pub struct InstagramAccount(pub instagram_account::Model);

impl InstagramAccount {
    /// The account linked by this user, if any, through the batch loader.
    pub async fn of_user(ctx: &Context<'_>, user_id: &str) -> async_graphql::Result<Option<InstagramAccount>> {
        let found = ctx.data_unchecked::<Loaders>().instagram_accounts.load_one(user_id.to_owned()).await.map_err(load_error).gql()?;
        Ok(found.map(InstagramAccount))
    }
}

#[Object]
impl InstagramAccount {
    async fn username(&self) -> &str {
        &self.0.username
    }
    async fn linked_at(&self) -> DateTime {
        self.0.linked_at.into()
    }
    async fn image_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let count = ctx
            .data_unchecked::<Loaders>()
            .instagram_image_counts
            .load_one(self.0.user_id.clone())
            .await
            .map_err(load_error)
            .gql()?
            .unwrap_or(0);
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }
    /// Newest first. `first` is at most 100.
    async fn images(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<InstagramImageConnection> {
        let first = page_size(first, 20).gql()?;
        let page = service::images(&ctx.state().db, &self.0.user_id, first, after.as_deref()).await.gql()?;
        let edges: Vec<InstagramImageEdge> = page
            .images
            .into_iter()
            .map(|image| InstagramImageEdge { cursor: service::image_cursor(&image), node: InstagramImage(image) })
            .collect();
        Ok(InstagramImageConnection {
            page_info: PageInfo { has_next_page: page.has_next_page, end_cursor: edges.last().map(|e| e.cursor.clone()) },
            edges,
            total_count: i32::try_from(page.total_count).unwrap_or(i32::MAX),
        })
    }
}

pub struct InstagramImage(pub instagram_image::Model);

#[Object]
impl InstagramImage {
    /// Instagram's own media id.
    async fn id(&self) -> ID {
        ID(self.0.image_id.clone())
    }
    async fn instagram_url(&self) -> &str {
        &self.0.instagram_url
    }
    async fn raw_image_url(&self) -> &str {
        &self.0.raw_image_url
    }
    async fn orig_width(&self) -> i32 {
        self.0.orig_width
    }
    async fn orig_height(&self) -> i32 {
        self.0.orig_height
    }
    async fn added_at(&self) -> DateTime {
        self.0.added_at.into()
    }
}

#[derive(SimpleObject)]
pub struct InstagramImageEdge {
    pub cursor: String,
    pub node: InstagramImage,
}

#[derive(SimpleObject)]
pub struct InstagramImageConnection {
    pub edges: Vec<InstagramImageEdge>,
    pub page_info: PageInfo,
    pub total_count: i32,
}

#[derive(SimpleObject)]
pub struct LinkInstagramPayload {
    pub instagram: Option<InstagramAccount>,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct UnlinkInstagramPayload {
    pub success: bool,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct InstagramImageInput {
    /// Instagram's media id: 1 to 64 characters without spaces.
    pub id: ID,
    /// An http(s) URL.
    pub instagram_url: String,
    /// An http(s) URL.
    pub raw_image_url: String,
    /// Positive.
    pub orig_width: i32,
    /// Positive.
    pub orig_height: i32,
}

/// At most 500 additions and 500 deletions in one call.
#[derive(InputObject)]
pub struct InstagramSyncInput {
    #[graphql(default_with = "Some(vec![])")]
    pub additions: Option<Vec<InstagramImageInput>>,
    /// Instagram media ids.
    #[graphql(default_with = "Some(vec![])")]
    pub deletions: Option<Vec<ID>>,
}

#[derive(SimpleObject)]
pub struct InstagramItemResult {
    pub image_id: ID,
    pub ok: bool,
    /// Why not, when ok is false: e.g. "Image already added" or "There is no image of the user with the image_id".
    pub message: Option<String>,
    /// The added image, or the deleted one.
    pub image: Option<InstagramImage>,
}

impl From<ItemResult> for InstagramItemResult {
    fn from(item: ItemResult) -> Self {
        let (ok, message, image) = match item.outcome {
            Ok(image) => (true, None, Some(InstagramImage(image))),
            Err(message) => (false, Some(message), None),
        };
        InstagramItemResult { image_id: ID(item.image_id), ok, message, image }
    }
}

#[derive(SimpleObject)]
pub struct InstagramSyncPayload {
    /// One result per addition, in the order sent.
    pub additions: Vec<InstagramItemResult>,
    /// One result per deletion, in the order sent.
    pub deletions: Vec<InstagramItemResult>,
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct InstagramMutation;

#[Object]
impl InstagramMutation {
    /// Records the signed-in user's Instagram account; ALREADY_DONE when one is already linked.
    async fn link_instagram(&self, ctx: &Context<'_>, username: String) -> async_graphql::Result<LinkInstagramPayload> {
        let viewer = ctx.viewer().gql()?;
        into_payload(
            service::link(ctx.state(), &viewer.user_id, &username).await,
            |account| LinkInstagramPayload { instagram: Some(InstagramAccount(account)), user_errors: vec![] },
            |user_errors| LinkInstagramPayload { instagram: None, user_errors },
        )
    }

    /// Removes the linked Instagram account and all its images.
    async fn unlink_instagram(&self, ctx: &Context<'_>) -> async_graphql::Result<UnlinkInstagramPayload> {
        let viewer = ctx.viewer().gql()?;
        into_payload(
            service::unlink(ctx.state(), &viewer.user_id).await,
            |()| UnlinkInstagramPayload { success: true, user_errors: vec![] },
            |user_errors| UnlinkInstagramPayload { success: false, user_errors },
        )
    }

    /// Adds and deletes images of the signed-in user's linked Instagram account, reporting on each item.
    /// Deletions apply before additions (deleting and adding one id replaces that image); an invalid
    /// item gets `ok: false` with a message while the others still apply; the batch is one transaction.
    async fn instagram_sync(&self, ctx: &Context<'_>, input: InstagramSyncInput) -> async_graphql::Result<InstagramSyncPayload> {
        let viewer = ctx.viewer().gql()?;
        let additions = input
            .additions
            .unwrap_or_default()
            .into_iter()
            .map(|a| NewImage {
                id: a.id.0,
                instagram_url: a.instagram_url,
                raw_image_url: a.raw_image_url,
                orig_width: a.orig_width,
                orig_height: a.orig_height,
            })
            .collect();
        let deletions = input.deletions.unwrap_or_default().into_iter().map(|id| id.0).collect();
        into_payload(
            service::sync(ctx.state(), &viewer.user_id, additions, deletions).await,
            |report| InstagramSyncPayload {
                additions: report.additions.into_iter().map(Into::into).collect(),
                deletions: report.deletions.into_iter().map(Into::into).collect(),
                user_errors: vec![],
            },
            |user_errors| InstagramSyncPayload { additions: vec![], deletions: vec![], user_errors },
        )
    }
}
