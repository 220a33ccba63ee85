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
        let found = ctx.data_unchecked::<Loaders>().instagram_accounts().load_one(user_id.to_owned()).await.map_err(load_error).gql()?;
        Ok(found.flatten().map(InstagramAccount))
    }
}

/// A user's linked Instagram account and the images synced from it.
#[Object]
impl InstagramAccount {
    /// The Instagram username, lower-cased and without '@'.
    async fn username(&self) -> &str {
        &self.0.username
    }
    /// When linkInstagram linked it.
    async fn linked_at(&self) -> DateTime {
        self.0.linked_at.into()
    }
    /// How many images it has (the same as images.totalCount).
    async fn image_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let count = ctx
            .data_unchecked::<Loaders>()
            .instagram_image_counts()
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
        #[graphql(default = 20, desc = "How many images to return: 0 to 100.")] first: Option<i32>,
        #[graphql(
            desc = "Return the images after this cursor (an endCursor or edge cursor from this list); an invalid one is a BAD_USER_INPUT error."
        )]
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

/// An image of a linked Instagram account, as instagramSync added it.
#[Object]
impl InstagramImage {
    /// Instagram's own media id.
    async fn id(&self) -> ID {
        ID(self.0.image_id.clone())
    }
    /// The image's Instagram URL (http or https), as sent to instagramSync.
    async fn instagram_url(&self) -> &str {
        &self.0.instagram_url
    }
    /// The URL of the image file itself (http or https), as sent to instagramSync.
    async fn raw_image_url(&self) -> &str {
        &self.0.raw_image_url
    }
    /// The original width in pixels, as sent to instagramSync.
    async fn orig_width(&self) -> i32 {
        self.0.orig_width
    }
    /// The original height in pixels, as sent to instagramSync.
    async fn orig_height(&self) -> i32 {
        self.0.orig_height
    }
    /// When instagramSync added it.
    async fn added_at(&self) -> DateTime {
        self.0.added_at.into()
    }
}

/// An image in a page of InstagramAccount.images.
#[derive(SimpleObject)]
pub struct InstagramImageEdge {
    /// Pass it as `after` to get the images after this one.
    pub cursor: String,
    /// The image.
    pub node: InstagramImage,
}

/// One page of an Instagram account's images, newest first.
#[derive(SimpleObject)]
pub struct InstagramImageConnection {
    /// The images of this page, newest first.
    pub edges: Vec<InstagramImageEdge>,
    /// Where this page ends and whether more follow.
    pub page_info: PageInfo,
    /// Every image of the account, on every page.
    pub total_count: i32,
}

/// The result of linkInstagram.
#[derive(SimpleObject)]
pub struct LinkInstagramPayload {
    /// The newly linked account; null when userErrors is not empty.
    pub instagram: Option<InstagramAccount>,
    /// Empty on success. username: REQUIRED, TOO_LONG, INVALID; ALREADY_DONE when an Instagram account is already linked.
    pub user_errors: Vec<UserError>,
}

/// The result of unlinkInstagram.
#[derive(SimpleObject)]
pub struct UnlinkInstagramPayload {
    /// True when the account and its images were removed; false when userErrors is not empty.
    pub success: bool,
    /// Empty on success; NOT_FOUND when no Instagram account is linked.
    pub user_errors: Vec<UserError>,
}

/// One image to add with instagramSync.
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
    /// Images to add; applied after the deletions.
    #[graphql(default_with = "Some(vec![])")]
    pub additions: Option<Vec<InstagramImageInput>>,
    /// Instagram media ids.
    #[graphql(default_with = "Some(vec![])")]
    pub deletions: Option<Vec<ID>>,
}

/// What became of one item of an instagramSync.
#[derive(SimpleObject)]
pub struct InstagramItemResult {
    /// The item's Instagram media id, as sent.
    pub image_id: ID,
    /// Whether the item was applied.
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

/// The result of instagramSync.
#[derive(SimpleObject)]
pub struct InstagramSyncPayload {
    /// One result per addition, in the order sent.
    pub additions: Vec<InstagramItemResult>,
    /// One result per deletion, in the order sent.
    pub deletions: Vec<InstagramItemResult>,
    /// Empty when the batch ran, even if some items have ok false. INVALID on additions or deletions holding more than 500 items, or NOT_FOUND when no Instagram account is linked: then nothing was changed.
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct InstagramMutation;

#[Object]
impl InstagramMutation {
    /// Records the signed-in user's Instagram account; ALREADY_DONE when one is already linked.
    async fn link_instagram(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "1 to 30 of letters, digits, '.' and '_', not starting or ending with '.' nor holding \"..\"; a leading '@' is dropped."
        )]
        username: String,
    ) -> async_graphql::Result<LinkInstagramPayload> {
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
    async fn instagram_sync(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The images to add and the ids to delete.")] input: InstagramSyncInput,
    ) -> async_graphql::Result<InstagramSyncPayload> {
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
