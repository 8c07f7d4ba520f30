//! [`TokenSource`]: where the client gets bearer tokens, and [`AccountTokens`], the
//! implementation over `perch_auth::TokenManager` for one account. Tokens travel only as
//! [`Secret`]s; this module never logs or formats one.

use perch_auth::{AuthError, Secret, TokenManager};
use perch_core::AccountId;

/// Where the client gets access tokens. Implemented for [`AccountTokens`]; tests implement
/// it over tokens they mint themselves. Object safe (`Arc<dyn TokenSource>`).
#[async_trait::async_trait]
pub trait TokenSource: Send + Sync + 'static {
    /// A valid access token (refreshed by the source when close to expiry).
    async fn token(&self) -> Result<Secret, AuthError>;
    /// Graph answered 401 `InvalidAuthenticationToken` to `rejected`; give the token to retry
    /// with (once).
    async fn rejected(&self, rejected: &Secret) -> Result<Secret, AuthError>;
}

/// The tokens of one signed-in account.
#[derive(Debug, Clone)]
pub struct AccountTokens {
    /// The account manager.
    pub manager: TokenManager,
    /// Which account.
    pub account: AccountId,
}

#[async_trait::async_trait]
impl TokenSource for AccountTokens {
    async fn token(&self) -> Result<Secret, AuthError> {
        Ok(self.manager.access_token(&self.account).await?.secret)
    }

    async fn rejected(&self, rejected: &Secret) -> Result<Secret, AuthError> {
        Ok(self
            .manager
            .force_refresh(&self.account, rejected)
            .await?
            .secret)
    }
}
