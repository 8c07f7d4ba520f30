//! Account ids. An account is one user in one tenant: Entra's tenant id (`tid`) and the user's
//! object id (`oid`), both GUIDs that never change for the life of the account. The same person
//! in two tenants is two accounts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One signed-in user in one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccountId {
    /// The tenant id (`tid` claim).
    pub tenant_id: Uuid,
    /// The user's object id in that tenant (`oid` claim).
    pub user_id: Uuid,
}

impl AccountId {
    /// An account id.
    pub fn new(tenant_id: Uuid, user_id: Uuid) -> AccountId {
        AccountId { tenant_id, user_id }
    }

    /// `{tid}.{oid}`: the keyring entry's user name and the account's text form.
    pub fn key(&self) -> String {
        format!("{}.{}", self.tenant_id, self.user_id)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.tenant_id, self.user_id)
    }
}

/// A string that is not `{tid}.{oid}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an account id (`{{tenant id}}.{{user id}}`)")]
pub struct ParseAccountIdError(pub String);

impl FromStr for AccountId {
    type Err = ParseAccountIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseAccountIdError(s.to_owned());
        let (t, u) = s.split_once('.').ok_or_else(err)?;
        Ok(AccountId {
            tenant_id: Uuid::parse_str(t).map_err(|_| err())?,
            user_id: Uuid::parse_str(u).map_err(|_| err())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let id = AccountId::new(Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(id.key().parse::<AccountId>().unwrap(), id);
        assert!("x.y".parse::<AccountId>().is_err());
        assert!("nodot".parse::<AccountId>().is_err());
    }
}
