//! GraphQL face of the mail-driven flows: confirmEmail,
//! resendConfirmationEmail, requestPasswordReset, passwordResetTokenValid,
//! resetPassword, changePassword.
use async_graphql::{Context, InputObject, Object, SimpleObject};

use crate::accounts::recovery;
use crate::accounts::resolver::User;
use crate::error::{into_payload, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;

#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    pub new_password: String,
}

#[derive(SimpleObject)]
pub struct ChangePasswordPayload {
    /// Every other session of the user has been ended.
    pub success: bool,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct RequestPasswordResetPayload {
    /// Always true, whether or not the email belongs to an account.
    pub success: bool,
}

#[derive(InputObject)]
pub struct ResetPasswordInput {
    pub token: String,
    pub new_password: String,
}

#[derive(SimpleObject)]
pub struct ResetPasswordPayload {
    /// Every session of the user has been ended.
    pub success: bool,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct ConfirmEmailPayload {
    pub user: Option<User>,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct ResendConfirmationEmailPayload {
    /// Always true, whether or not the email belongs to an unconfirmed account.
    pub success: bool,
}

#[derive(Default)]
pub struct EmailQuery;

#[Object]
impl EmailQuery {
    /// Whether a password-reset token from an email is still good. Needs no sign-in.
    async fn password_reset_token_valid(&self, ctx: &Context<'_>, token: String) -> async_graphql::Result<bool> {
        recovery::reset_token_valid(ctx.state(), &token).await.gql()
    }
}

#[derive(Default)]
pub struct EmailMutation;

#[Object]
impl EmailMutation {
    async fn change_password(&self, ctx: &Context<'_>, input: ChangePasswordInput) -> async_graphql::Result<ChangePasswordPayload> {
        crate::ratelimit::credential_attempt(ctx).await.gql()?;
        let viewer = ctx.viewer().gql()?;
        into_payload(
            recovery::change_password(ctx.state(), viewer, &input.current_password, &input.new_password).await,
            |()| ChangePasswordPayload { success: true, user_errors: vec![] },
            |user_errors| ChangePasswordPayload { success: false, user_errors },
        )
    }

    /// Emails a single-use password-reset link if the email belongs to an account.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> RequestPasswordResetPayload {
        recovery::request_password_reset(ctx.state(), &email);
        RequestPasswordResetPayload { success: true }
    }

    /// Sets a new password with a token from a reset email; the token then stops working.
    async fn reset_password(&self, ctx: &Context<'_>, input: ResetPasswordInput) -> async_graphql::Result<ResetPasswordPayload> {
        crate::ratelimit::credential_attempt(ctx).await.gql()?;
        into_payload(
            recovery::reset_password(ctx.state(), &input.token, &input.new_password).await,
            |()| ResetPasswordPayload { success: true, user_errors: vec![] },
            |user_errors| ResetPasswordPayload { success: false, user_errors },
        )
    }

    /// Confirms an email address with the token from a confirmation email.
    async fn confirm_email(&self, ctx: &Context<'_>, token: String) -> async_graphql::Result<ConfirmEmailPayload> {
        crate::ratelimit::credential_attempt(ctx).await.gql()?;
        into_payload(
            recovery::confirm_email(ctx.state(), &token).await,
            |user| ConfirmEmailPayload { user: Some(User::for_owner(user)), user_errors: vec![] },
            |user_errors| ConfirmEmailPayload { user: None, user_errors },
        )
    }

    async fn resend_confirmation_email(&self, ctx: &Context<'_>, email: String) -> ResendConfirmationEmailPayload {
        recovery::resend_confirmation(ctx.state(), &email);
        ResendConfirmationEmailPayload { success: true }
    }
}
