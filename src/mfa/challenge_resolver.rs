//! GraphQL face of the signin challenge: the MfaChallenge that signin (and
//! every other first-factor signin) answers while a second factor is owed.
//! verifyMfa itself is a signin and lives with them (accounts).
use async_graphql::SimpleObject;

use crate::graphql::scalars::DateTime;
use crate::mfa::challenge::IssuedChallenge;
use crate::mfa::status::SecondFactor;

/// A signin waiting for its second factor.
#[derive(SimpleObject)]
pub struct MfaChallenge {
    /// Short-lived (5 minutes) and single-use: pass it to verifyMfa.
    pub challenge_token: String,
    /// The second factors this account can use.
    pub factors: Vec<SecondFactor>,
    /// When the challenge stops working; then sign in again.
    pub expires_at: DateTime,
}

impl From<IssuedChallenge> for MfaChallenge {
    fn from(issued: IssuedChallenge) -> Self {
        MfaChallenge { challenge_token: issued.token, factors: issued.factors, expires_at: issued.expires_at.into() }
    }
}
