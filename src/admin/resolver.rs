//! GraphQL face of the staff and admin tools: users, setUserRole,
//! setUserStatus, deleteUser, createSubscriptionPlan.
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use crate::admin::service::{self, UserQuery};
use crate::entities::enums::{AccountStatus, AccountType, Role};
use crate::error::{into_payload, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;
use crate::graphql::pagination::{page_size, PageInfo};
use crate::nodes::User;

/// Narrows Query.users: every field given must match; omitted or null fields do not filter.
#[derive(InputObject, Default)]
pub struct UserFilter {
    /// Matches the start of email, username or fullName, ignoring case.
    pub search: Option<String>,
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only users with this status.
    pub status: Option<AccountStatus>,
    /// Only users of this account type.
    pub account_type: Option<AccountType>,
    /// Only users whose email is confirmed (true) or not (false).
    pub email_confirmed: Option<bool>,
}

/// A user in a page of Query.users.
#[derive(SimpleObject)]
pub struct UserEdge {
    /// Pass it as `after` to get the users after this one.
    pub cursor: String,
    /// The user.
    pub node: User,
}

/// One page of users, newest first.
#[derive(SimpleObject)]
pub struct UserConnection {
    /// The users of this page, newest first.
    pub edges: Vec<UserEdge>,
    /// Where this page ends and whether more follow.
    pub page_info: PageInfo,
    /// Every user matching the filter, on every page.
    pub total_count: i32,
}

/// The result of setUserRole and setUserStatus.
#[derive(SimpleObject)]
pub struct AdminUserPayload {
    /// The user as changed; null when userErrors is not empty.
    pub user: Option<User>,
    /// Empty on success. userId: NOT_FOUND when there is no such user, NOT_ALLOWED when staff change an admin's status; role or status: NOT_ALLOWED when the change would leave no active admin.
    pub user_errors: Vec<UserError>,
}

/// The result of deleteUser.
#[derive(SimpleObject)]
pub struct DeleteUserPayload {
    /// The id of the deleted user; null when userErrors is not empty.
    pub deleted_user_id: Option<ID>,
    /// Empty on success. userId: NOT_FOUND when there is no such user, NOT_ALLOWED when they are the only active admin.
    pub user_errors: Vec<UserError>,
}

fn user_payload(outcome: crate::error::ServiceResult<crate::entities::user::Model>) -> async_graphql::Result<AdminUserPayload> {
    into_payload(
        outcome,
        |user| AdminUserPayload { user: Some(User::new(user)), user_errors: vec![] },
        |user_errors| AdminUserPayload { user: None, user_errors },
    )
}

#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// Staff and admins only: every user, newest first. `first` is at most 100.
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many users to return: 0 to 100.")] first: Option<i32>,
        #[graphql(
            desc = "Return the users after this cursor (an endCursor or edge cursor from this list); an invalid one is a BAD_USER_INPUT error."
        )]
        after: Option<String>,
        #[graphql(desc = "Narrows the list; omitted, every user is listed.")] filter: Option<UserFilter>,
    ) -> async_graphql::Result<UserConnection> {
        ctx.staff().gql()?;
        let first = page_size(first, 20).gql()?;
        let filter = filter.unwrap_or_default();
        let query = UserQuery {
            search: filter.search,
            role: filter.role,
            status: filter.status,
            account_type: filter.account_type,
            email_confirmed: filter.email_confirmed,
        };
        let page = service::list_users(ctx.state(), &query, first, after.as_deref()).await.gql()?;
        // The page's profiles (read with it) and plans (one statement), before
        // the edges ask for them one by one.
        let listed: Vec<&crate::entities::user::Model> = page.users.iter().collect();
        let loaders = ctx.data_unchecked::<crate::graphql::loaders::Loaders>();
        let node = ctx.look_ahead().field("edges").field("node");
        loaders.prime_users(&listed, page.profiles, node.field("subscriptionPlan").exists()).await.gql()?;
        let ids: Vec<String> = listed.iter().map(|u| u.id.clone()).collect();
        if node.field("instagram").exists() {
            loaders.prime_instagram(&ids).await.gql()?;
        }
        if node.field("mfa").exists() {
            loaders.prime_mfa(&ids).await.gql()?;
        }
        let edges: Vec<UserEdge> =
            page.users.into_iter().map(|user| UserEdge { cursor: service::user_cursor(&user), node: User::new(user) }).collect();
        Ok(UserConnection {
            page_info: PageInfo { has_next_page: page.has_next_page, end_cursor: edges.last().map(|e| e.cursor.clone()) },
            edges,
            total_count: i32::try_from(page.total_count).unwrap_or(i32::MAX),
        })
    }
}

#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Admins only. The last active admin cannot be demoted.
    async fn set_user_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to change.")] user_id: ID,
        #[graphql(desc = "The new role.")] role: Role,
    ) -> async_graphql::Result<AdminUserPayload> {
        let actor = ctx.admin().gql()?;
        user_payload(service::set_role(ctx.state(), &user_id, role, &ctx.request_meta().acting(actor)).await)
    }

    /// Staff and admins. SUSPENDED or DEACTIVATED ends every session of that user; ACTIVE lets them sign in again.
    /// Only admins change an admin's status, and the last active admin keeps theirs.
    async fn set_user_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to change.")] user_id: ID,
        #[graphql(desc = "The new status.")] status: AccountStatus,
    ) -> async_graphql::Result<AdminUserPayload> {
        let actor = ctx.staff().gql()?;
        user_payload(service::set_status(ctx.state(), actor, &user_id, status, &ctx.request_meta().acting(actor)).await)
    }

    /// Admins only. Deletes the user and everything they own; the last active admin cannot be deleted.
    async fn delete_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to delete.")] user_id: ID,
    ) -> async_graphql::Result<DeleteUserPayload> {
        let actor = ctx.admin().gql()?;
        into_payload(
            service::delete_user(ctx.state(), &user_id, &ctx.request_meta().acting(actor)).await,
            |deleted| DeleteUserPayload { deleted_user_id: Some(ID(deleted.id)), user_errors: vec![] },
            |user_errors| DeleteUserPayload { deleted_user_id: None, user_errors },
        )
    }
}
