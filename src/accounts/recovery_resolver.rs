//! GraphQL face of the mail-driven flows: confirmEmail,
//! resendConfirmationEmail, requestPasswordReset, passwordResetTokenValid,
//! resetPassword, changePassword, setPassword.
use async_graphql::{Context, InputObject, Object, SimpleObject};

use crate::accounts::recovery;
use crate::error::{into_payload, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;
use crate::nodes::User;

/// Input of changePassword.
#[derive(InputObject)]
pub struct ChangePasswordInput {
    /// The password the account has now.
    pub current_password: String,
    /// 8 to 128 characters, at least 4 of them different; not a common password, and not close to the account's email or username.
    pub new_password: String,
}

/// The result of changePassword.
#[derive(SimpleObject)]
pub struct ChangePasswordPayload {
    /// Every other session of the user has been ended.
    pub success: bool,
    /// Empty on success. currentPassword: INVALID_CREDENTIALS, or NOT_ALLOWED when the account has no password (see setPassword); newPassword: REQUIRED, TOO_SHORT, TOO_LONG, TOO_WEAK.
    pub user_errors: Vec<UserError>,
}

/// The result of setPassword.
#[derive(SimpleObject)]
pub struct SetPasswordPayload {
    /// The user, with hasPassword true; null when userErrors is not empty.
    pub user: Option<User>,
    /// Empty on success. password: NOT_ALLOWED when the account has a password (use changePassword), REQUIRED, TOO_SHORT, TOO_LONG, TOO_WEAK; NOT_ALLOWED with field null when the signin is older than 10 minutes (sign in again).
    pub user_errors: Vec<UserError>,
}

/// The result of requestPasswordReset: the same whether or not the email belongs to an account.
#[derive(SimpleObject)]
pub struct RequestPasswordResetPayload {
    /// Always true, whether or not the email belongs to an account.
    pub success: bool,
}

/// Input of resetPassword.
#[derive(InputObject)]
pub struct ResetPasswordInput {
    /// The token from the password-reset link.
    pub token: String,
    /// 8 to 128 characters, at least 4 of them different; not a common password, and not close to the account's email or username.
    pub new_password: String,
}

/// The result of resetPassword.
#[derive(SimpleObject)]
pub struct ResetPasswordPayload {
    /// Every session of the user has been ended.
    pub success: bool,
    /// Empty on success. token: INVALID_TOKEN when the link is unknown, used, expired or replaced by a newer one, or the account's email or status changed since; newPassword: REQUIRED, TOO_SHORT, TOO_LONG, TOO_WEAK.
    pub user_errors: Vec<UserError>,
}

/// The result of confirmEmail.
#[derive(SimpleObject)]
pub struct ConfirmEmailPayload {
    /// The account, now with emailConfirmed true and private fields included; null when userErrors is not empty.
    pub user: Option<User>,
    /// Empty on success. token: INVALID_TOKEN when the link is unknown, used or expired, a newer one was sent, or the account's email changed since; ALREADY_DONE when the address is already confirmed.
    pub user_errors: Vec<UserError>,
}

/// The result of resendConfirmationEmail: the same whether or not the email belongs to an unconfirmed account.
#[derive(SimpleObject)]
pub struct ResendConfirmationEmailPayload {
    /// Always true, whether or not the email belongs to an unconfirmed account.
    pub success: bool,
}

#[derive(Default)]
pub struct RecoveryQuery;

#[Object]
impl RecoveryQuery {
    /// Whether a password-reset token from an email is still good. Needs no sign-in.
    async fn password_reset_token_valid(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token from the password-reset link.")] token: String,
    ) -> async_graphql::Result<bool> {
        recovery::reset_token_valid(ctx.state(), &token).await.gql()
    }
}

#[derive(Default)]
pub struct RecoveryMutation;

#[Object]
impl RecoveryMutation {
    /// Changes the signed-in user's password after checking the current one. Every other session ends (this one stays), pending password-reset links stop working, and a notice is emailed.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The current and the new password.")] input: ChangePasswordInput,
    ) -> async_graphql::Result<ChangePasswordPayload> {
        let viewer = ctx.viewer().gql()?;
        into_payload(
            recovery::change_password(ctx.state(), viewer, &input.current_password, &input.new_password, &ctx.request_meta()).await,
            |()| ChangePasswordPayload { success: true, user_errors: vec![] },
            |user_errors| ChangePasswordPayload { success: false, user_errors },
        )
    }

    /// Signed in, for an account without a password (made through a provider): sets one. NOT_ALLOWED when it has one (use changePassword).
    async fn set_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new password: the same rules as a signup's. Allowed within 10 minutes of a signin.")] password: String,
    ) -> async_graphql::Result<SetPasswordPayload> {
        let viewer = ctx.viewer().gql()?;
        into_payload(
            recovery::set_password(ctx.state(), viewer, &password, &ctx.request_meta()).await,
            |user| SetPasswordPayload { user: Some(User::new(user)), user_errors: vec![] },
            |user_errors| SetPasswordPayload { user: None, user_errors },
        )
    }

    /// Emails a single-use password-reset link if the email belongs to an account.
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's email address, compared ignoring case.")] email: String,
    ) -> RequestPasswordResetPayload {
        recovery::request_password_reset(ctx.state(), &email, ctx.request_meta());
        RequestPasswordResetPayload { success: true }
    }

    /// Sets a new password with a token from a reset email; the token then stops working.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token from the email and the new password.")] input: ResetPasswordInput,
    ) -> async_graphql::Result<ResetPasswordPayload> {
        into_payload(
            recovery::reset_password(ctx.state(), &input.token, &input.new_password, &ctx.request_meta()).await,
            |()| ResetPasswordPayload { success: true, user_errors: vec![] },
            |user_errors| ResetPasswordPayload { success: false, user_errors },
        )
    }

    /// Confirms an email address with the token from a confirmation email.
    async fn confirm_email(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token from the confirmation link.")] token: String,
    ) -> async_graphql::Result<ConfirmEmailPayload> {
        into_payload(
            recovery::confirm_email(ctx.state(), &token, &ctx.request_meta()).await,
            |user| ConfirmEmailPayload { user: Some(User::for_owner(user)), user_errors: vec![] },
            |user_errors| ConfirmEmailPayload { user: None, user_errors },
        )
    }

    /// Emails a new confirmation link, and earlier links stop working, if the email belongs to an ACTIVE account whose address is not confirmed yet. Needs no sign-in.
    async fn resend_confirmation_email(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's email address, compared ignoring case.")] email: String,
    ) -> ResendConfirmationEmailPayload {
        recovery::resend_confirmation(ctx.state(), &email);
        ResendConfirmationEmailPayload { success: true }
    }
}
