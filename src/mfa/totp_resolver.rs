//! GraphQL face of TOTP: startTotpEnrollment, confirmTotp, disableTotp,
//! regenerateRecoveryCodes.
use async_graphql::{Context, InputObject, Object, SimpleObject};

use crate::error::{into_payload, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;
use crate::mfa::totp::{self, Enrollment};
use crate::nodes::User;

/// A new TOTP secret, not active until confirmTotp.
#[derive(SimpleObject)]
pub struct TotpEnrollment {
    /// Base32 secret, for typing into an authenticator app.
    pub secret: String,
    /// otpauth://totp/... URI (Key Uri Format: issuer, account, SHA1, 6 digits, 30 s).
    pub otpauth_uri: String,
    /// The otpauthUri as an SVG QR code.
    pub qr_code_svg: String,
}

impl From<Enrollment> for TotpEnrollment {
    fn from(e: Enrollment) -> Self {
        TotpEnrollment { secret: e.secret, otpauth_uri: e.otpauth_uri, qr_code_svg: e.qr_code_svg }
    }
}

/// The result of startTotpEnrollment.
#[derive(SimpleObject)]
pub struct StartTotpEnrollmentPayload {
    /// The new secret, shown this once; null when userErrors is not empty.
    pub enrollment: Option<TotpEnrollment>,
    /// Empty on success; ALREADY_DONE when TOTP is already on (disableTotp first).
    pub user_errors: Vec<UserError>,
}

/// Input of confirmTotp.
#[derive(InputObject)]
pub struct ConfirmTotpInput {
    /// A current code from the authenticator app, proving the secret was saved.
    pub code: String,
}

/// The result of confirmTotp.
#[derive(SimpleObject)]
pub struct ConfirmTotpPayload {
    /// Ten single-use recovery codes, shown this once.
    pub recovery_codes: Option<Vec<String>>,
    /// The user, with mfa.totpEnabled true; null when userErrors is not empty.
    pub user: Option<User>,
    /// Empty on success. code: INVALID_CODE when it is not a current code; NOT_FOUND when no enrollment was started; ALREADY_DONE when TOTP is already on.
    pub user_errors: Vec<UserError>,
}

/// Input of disableTotp.
#[derive(InputObject)]
pub struct DisableTotpInput {
    /// The account's password.
    pub password: String,
}

/// The result of disableTotp.
#[derive(SimpleObject)]
pub struct DisableTotpPayload {
    /// The user, with mfa.totpEnabled false; null when userErrors is not empty.
    pub user: Option<User>,
    /// Empty on success. password: INVALID_CREDENTIALS; ALREADY_DONE when TOTP is off.
    pub user_errors: Vec<UserError>,
}

/// Input of regenerateRecoveryCodes.
#[derive(InputObject)]
pub struct RegenerateRecoveryCodesInput {
    /// The account's password.
    pub password: String,
}

/// The result of regenerateRecoveryCodes.
#[derive(SimpleObject)]
pub struct RegenerateRecoveryCodesPayload {
    /// Ten new single-use recovery codes; the old ones stop working.
    pub recovery_codes: Option<Vec<String>>,
    /// Empty on success. password: INVALID_CREDENTIALS; NOT_ALLOWED when TOTP is off.
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct TotpMutation;

#[Object]
impl TotpMutation {
    /// Signed in: a new TOTP secret, not active until confirmTotp.
    async fn start_totp_enrollment(&self, ctx: &Context<'_>) -> async_graphql::Result<StartTotpEnrollmentPayload> {
        let viewer = ctx.viewer().gql()?;
        into_payload(
            totp::start_enrollment(ctx.state(), viewer).await,
            |enrollment| StartTotpEnrollmentPayload { enrollment: Some(enrollment.into()), user_errors: vec![] },
            |user_errors| StartTotpEnrollmentPayload { enrollment: None, user_errors },
        )
    }

    /// Signed in: turns TOTP on with a current code. Every other session of the user ends, this one becomes AAL2, and ten recovery codes are returned once. A notice is emailed.
    async fn confirm_totp(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The code from the authenticator app.")] input: ConfirmTotpInput,
    ) -> async_graphql::Result<ConfirmTotpPayload> {
        let viewer = ctx.viewer().gql()?;
        into_payload(
            totp::confirm(ctx.state(), viewer, &input.code, &ctx.request_meta()).await,
            |(user, codes)| ConfirmTotpPayload { recovery_codes: Some(codes), user: Some(User::new(user)), user_errors: vec![] },
            |user_errors| ConfirmTotpPayload { recovery_codes: None, user: None, user_errors },
        )
    }

    /// Turns TOTP off and drops the recovery codes.
    async fn disable_totp(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's password.")] input: DisableTotpInput,
    ) -> async_graphql::Result<DisableTotpPayload> {
        let viewer = ctx.viewer().gql()?;
        into_payload(
            totp::disable(ctx.state(), viewer, &input.password, &ctx.request_meta()).await,
            |user| DisableTotpPayload { user: Some(User::new(user)), user_errors: vec![] },
            |user_errors| DisableTotpPayload { user: None, user_errors },
        )
    }

    /// Signed in, with TOTP on: ten new recovery codes; the old ones stop working.
    async fn regenerate_recovery_codes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's password.")] input: RegenerateRecoveryCodesInput,
    ) -> async_graphql::Result<RegenerateRecoveryCodesPayload> {
        let viewer = ctx.viewer().gql()?;
        into_payload(
            totp::regenerate_recovery_codes(ctx.state(), viewer, &input.password).await,
            |codes| RegenerateRecoveryCodesPayload { recovery_codes: Some(codes), user_errors: vec![] },
            |user_errors| RegenerateRecoveryCodesPayload { recovery_codes: None, user_errors },
        )
    }
}
