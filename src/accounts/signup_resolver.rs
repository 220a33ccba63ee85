//! GraphQL face of signup.
use async_graphql::{Context, InputObject, Object, SimpleObject};

use crate::accounts::signup::{self, SignupData};
use crate::entities::enums::AccountType;
use crate::error::{into_payload, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;
use crate::nodes::User;

/// Input of signup.
#[derive(InputObject)]
pub struct SignupInput {
    /// Compared ignoring case; stored as given.
    pub email: String,
    /// 8 to 128 characters, at least 4 of them different; not a common password, and not close to the account's email or username.
    pub password: String,
    /// When given it must equal password.
    pub password_confirmation: Option<String>,
    /// The kind of account; FAN when omitted.
    #[graphql(default_with = "Some(AccountType::Fan)")]
    pub account_type: Option<AccountType>,
    /// 3 to 50 of letters, digits, '.', '_' and '-'; unique ignoring case.
    pub username: Option<String>,
    /// The display name, at most 100 characters; when omitted it is firstName and lastName joined by a space.
    pub full_name: Option<String>,
    /// At most 100 characters.
    pub first_name: Option<String>,
    /// At most 100 characters.
    pub last_name: Option<String>,
    /// Any common format; stored as E.164; unique.
    pub phone_number: Option<String>,
    /// JPEG or PNG, at most 2 MiB.
    pub display_pic: Option<async_graphql::Upload>,
}

/// The result of signup.
#[derive(SimpleObject)]
pub struct SignupPayload {
    /// A confirmation email has been sent to the new user.
    pub user: Option<User>,
    /// Empty on success. email: REQUIRED, INVALID, TOO_LONG, TAKEN; username: TOO_SHORT, TOO_LONG, INVALID, TAKEN; phoneNumber: INVALID, TAKEN; fullName, firstName, lastName: TOO_LONG, INVALID; password: REQUIRED, TOO_SHORT, TOO_LONG, TOO_WEAK; passwordConfirmation: MISMATCH; displayPic: FILE_TOO_LARGE, UNSUPPORTED_FILE_TYPE.
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct SignupMutation;

#[Object]
impl SignupMutation {
    /// Creates an ACTIVE account with an unconfirmed email and sends the confirmation email.
    async fn signup(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new account.")] input: SignupInput,
    ) -> async_graphql::Result<SignupPayload> {
        let state = ctx.state();
        let data = SignupData {
            email: input.email,
            password: input.password,
            password_confirmation: input.password_confirmation,
            account_type: input.account_type.unwrap_or(AccountType::Fan),
            username: input.username,
            full_name: input.full_name,
            first_name: input.first_name,
            last_name: input.last_name,
            phone_number: input.phone_number,
            display_pic: match &input.display_pic {
                Some(upload) => Some(ctx.upload(upload).gql()?),
                None => None,
            },
        };
        into_payload(
            signup::signup(state, data, &ctx.request_meta()).await,
            |user| SignupPayload { user: Some(User::for_owner(user)), user_errors: vec![] },
            |user_errors| SignupPayload { user: None, user_errors },
        )
    }
}
