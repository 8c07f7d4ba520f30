//! An organisation's sign-in configuration, validated: which tenant, which app registration
//! (client id), which cloud or which explicit login and Graph hosts, and which scopes. These
//! types are only ever built through validation ([`crate::settings`] or the `parse` functions
//! here), so the rest of Perch can trust them: a [`Tenant`] is `organizations`, a GUID or a
//! domain; a host is https, or http on loopback only.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A national cloud: decides the login and Graph hosts unless they are set explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    /// The global (public) cloud.
    #[default]
    Global,
    /// US Government L4.
    UsGov,
    /// US Government L5 (DoD).
    Dod,
    /// China, operated by 21Vianet.
    China,
}

impl Cloud {
    /// Every cloud, for messages that list the accepted values.
    pub const ALL: [Cloud; 4] = [Cloud::Global, Cloud::UsGov, Cloud::Dod, Cloud::China];

    /// The name used in settings (`global`, `usgov`, `dod`, `china`).
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGov => "usgov",
            Cloud::Dod => "dod",
            Cloud::China => "china",
        }
    }

    /// Parses a settings value (case-insensitive).
    pub fn parse(value: &str) -> Option<Cloud> {
        Cloud::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(value.trim()))
    }

    /// The cloud's login host, e.g. `https://login.microsoftonline.com`.
    pub fn login_host(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGov | Cloud::Dod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The cloud's Graph host, e.g. `https://graph.microsoft.com`.
    pub fn graph_host(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGov => "https://graph.microsoft.us",
            Cloud::Dod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may sign in: any work or school account (`organizations`), or one tenant by id or by
/// verified domain. Personal accounts (`consumers`, `common`) are refused: Teams APIs do not
/// work for them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Tenant {
    /// `organizations`: any work or school account.
    Organizations,
    /// A tenant GUID.
    Id(Uuid),
    /// A verified domain such as `contoso.onmicrosoft.com` (lower case).
    Domain(String),
}

impl Tenant {
    /// Parses `organizations`, a GUID or a domain name; the error says why.
    pub fn parse(value: &str) -> Result<Tenant, String> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("organizations") {
            return Ok(Tenant::Organizations);
        }
        if value.eq_ignore_ascii_case("common") || value.eq_ignore_ascii_case("consumers") {
            return Err(format!(
                "`{value}` would allow personal Microsoft accounts, which cannot use Teams; use `organizations`, a tenant id or a domain"
            ));
        }
        if let Ok(id) = Uuid::parse_str(value) {
            return Ok(Tenant::Id(id));
        }
        if is_domain(value) {
            return Ok(Tenant::Domain(value.to_ascii_lowercase()));
        }
        Err(format!(
            "`{value}` is not `organizations`, a tenant id (GUID) or a domain name"
        ))
    }

    /// The path segment used in Entra URLs.
    pub fn as_path(&self) -> String {
        match self {
            Tenant::Organizations => "organizations".to_owned(),
            Tenant::Id(id) => id.to_string(),
            Tenant::Domain(domain) => domain.clone(),
        }
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_path())
    }
}

impl From<Tenant> for String {
    fn from(tenant: Tenant) -> String {
        tenant.as_path()
    }
}

impl TryFrom<String> for Tenant {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Tenant::parse(&value)
    }
}

fn is_domain(value: &str) -> bool {
    if value.len() > 253 || !value.contains('.') {
        return false;
    }
    value.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    }) && value
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.chars().any(|c| c.is_ascii_alphabetic()))
}

/// The two origins Perch talks to: the Entra login host and the Graph host (Graph calls go
/// under `{graph}/v1.0`). Stored without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hosts {
    /// E.g. `https://login.microsoftonline.com`.
    pub login: String,
    /// E.g. `https://graph.microsoft.com`.
    pub graph: String,
}

impl Hosts {
    /// The hosts of a national cloud.
    pub fn of_cloud(cloud: Cloud) -> Hosts {
        Hosts {
            login: cloud.login_host().to_owned(),
            graph: cloud.graph_host().to_owned(),
        }
    }

    /// Validates one host: an absolute `https` URL, or `http` on a loopback address
    /// (`127.0.0.0/8`, `::1`, `localhost`) for tests and the demo; no query, fragment or
    /// user info. Returns it normalised without a trailing slash.
    pub fn parse_host(value: &str) -> Result<String, String> {
        let value = value.trim();
        let url = url::Url::parse(value).map_err(|e| format!("`{value}` is not a URL ({e})"))?;
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            None => return Err(format!("`{value}` has no host")),
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(format!(
                    "`{value}` uses http; only https is allowed outside loopback (127.0.0.1, localhost)"
                ))
            }
            other => return Err(format!("`{value}` uses `{other}`; use https")),
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("`{value}` must not have a query or fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("`{value}` must not contain user info"));
        }
        Ok(url.as_str().trim_end_matches('/').to_owned())
    }

    /// `{login}/{tenant}/oauth2/v2.0/authorize`.
    pub fn authorize_url(&self, tenant: &Tenant) -> String {
        format!("{}/{}/oauth2/v2.0/authorize", self.login, tenant.as_path())
    }

    /// `{login}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self, tenant: &Tenant) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.login, tenant.as_path())
    }

    /// `{login}/{tenant}/oauth2/v2.0/devicecode`.
    pub fn device_code_url(&self, tenant: &Tenant) -> String {
        format!("{}/{}/oauth2/v2.0/devicecode", self.login, tenant.as_path())
    }

    /// `{login}/{tenant}/adminconsent?client_id=…`: the page an administrator opens to grant
    /// the app's permissions for the whole tenant.
    pub fn admin_consent_url(&self, tenant: &Tenant, client_id: &Uuid) -> String {
        format!(
            "{}/{}/adminconsent?client_id={client_id}",
            self.login,
            tenant.as_path()
        )
    }
}

/// Delegated permissions Perch asks for. Short names (`User.Read`) are qualified with the Graph
/// resource on the wire; the OpenID scopes are sent as they are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scopes(Vec<String>);

/// Scopes that are never qualified with a resource.
const OIDC_SCOPES: [&str; 4] = ["offline_access", "openid", "profile", "email"];

impl Scopes {
    /// The scopes from FACTS: sign-in, reading teams, channels, messages and members, sending.
    pub const DEFAULT: [&'static str; 10] = [
        "offline_access",
        "openid",
        "profile",
        "User.Read",
        "Team.ReadBasic.All",
        "Channel.ReadBasic.All",
        "ChannelMessage.Read.All",
        "ChannelMessage.Send",
        "ChannelMessage.ReadWrite",
        "ChannelMember.Read.All",
    ];

    /// Builds a scope list; `offline_access` and `openid` are always added (without them there
    /// is no refresh token and no id token, and sign-in cannot work).
    pub fn new<I, S>(scopes: I) -> Scopes
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut list: Vec<String> = Vec::new();
        for required in ["offline_access", "openid"] {
            list.push(required.to_owned());
        }
        for scope in scopes {
            let scope: String = scope.into();
            let scope = scope.trim().to_owned();
            if !scope.is_empty() && !list.iter().any(|s| s.eq_ignore_ascii_case(&scope)) {
                list.push(scope);
            }
        }
        Scopes(list)
    }

    /// Parses a space or comma separated list; refuses characters that cannot be in a scope.
    pub fn parse(value: &str) -> Result<Scopes, String> {
        let items: Vec<&str> = value
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .collect();
        if items.is_empty() {
            return Err("the scope list is empty".to_owned());
        }
        for item in &items {
            if item
                .chars()
                .any(|c| c == '"' || c == '\\' || c.is_control())
            {
                return Err(format!("`{item}` is not a valid scope"));
            }
        }
        Ok(Scopes::new(items))
    }

    /// The scopes as configured (short names).
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The scopes as sent to Entra: short Graph names qualified with `graph_resource`
    /// (`https://graph.microsoft.com/User.Read`), OpenID scopes and already qualified ones as
    /// they are.
    pub fn wire(&self, graph_resource: &str) -> Vec<String> {
        self.0
            .iter()
            .map(|s| {
                if OIDC_SCOPES.iter().any(|o| o.eq_ignore_ascii_case(s)) || s.contains("://") {
                    s.clone()
                } else {
                    format!("{}/{s}", graph_resource.trim_end_matches('/'))
                }
            })
            .collect()
    }
}

impl Default for Scopes {
    fn default() -> Self {
        Scopes::new(Scopes::DEFAULT)
    }
}

/// One organisation's validated sign-in configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    /// Who may sign in.
    pub tenant: Tenant,
    /// The organisation's own app registration (a public client).
    pub client_id: Uuid,
    /// The cloud; decides the hosts unless they were set explicitly.
    pub cloud: Cloud,
    /// The login and Graph hosts actually used.
    pub hosts: Hosts,
    /// Delegated permissions requested.
    pub scopes: Scopes,
}

impl Organisation {
    /// The same organisation pinned to one tenant (after sign-in the account's own tenant id
    /// replaces `organizations` or a domain, so refreshes go to the home tenant).
    pub fn for_tenant(&self, tenant_id: Uuid) -> Organisation {
        Organisation {
            tenant: Tenant::Id(tenant_id),
            ..self.clone()
        }
    }

    /// The admin-consent URL for this organisation.
    pub fn admin_consent_url(&self) -> String {
        self.hosts.admin_consent_url(&self.tenant, &self.client_id)
    }

    /// The scopes as sent to Entra, qualified with the cloud's Graph resource. The resource is
    /// an identifier, not an address: explicit hosts (an emulator, a proxy) change where
    /// requests go, not which resource the permissions are for.
    pub fn wire_scopes(&self) -> Vec<String> {
        self.scopes.wire(self.cloud.graph_host())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants() {
        assert_eq!(Tenant::parse("organizations"), Ok(Tenant::Organizations));
        assert_eq!(
            Tenant::parse("Contoso.OnMicrosoft.com"),
            Ok(Tenant::Domain("contoso.onmicrosoft.com".into()))
        );
        let id = Uuid::new_v4();
        assert_eq!(Tenant::parse(&id.to_string()), Ok(Tenant::Id(id)));
        for bad in [
            "common",
            "consumers",
            "not a tenant",
            "",
            "foo",
            "a..b",
            "-a.com",
            "1.2.3.4",
        ] {
            assert!(Tenant::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(
            Hosts::parse_host("https://login.example.com/").unwrap(),
            "https://login.example.com"
        );
        assert_eq!(
            Hosts::parse_host("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(Hosts::parse_host("http://localhost:1").is_ok());
        assert!(Hosts::parse_host("http://[::1]:1").is_ok());
        assert!(Hosts::parse_host("http://example.com").is_err());
        assert!(Hosts::parse_host("http://10.0.0.1").is_err());
        assert!(Hosts::parse_host("ftp://example.com").is_err());
        assert!(Hosts::parse_host("https://a.com/?x=1").is_err());
        assert!(Hosts::parse_host("https://u:p@a.com").is_err());
        assert!(Hosts::parse_host("nope").is_err());
    }

    #[test]
    fn scopes_on_the_wire() {
        let scopes = Scopes::parse("User.Read, openid").unwrap();
        assert_eq!(
            scopes.wire("https://graph.microsoft.com"),
            vec![
                "offline_access",
                "openid",
                "https://graph.microsoft.com/User.Read"
            ]
        );
        assert!(Scopes::parse("  ").is_err());
        assert!(Scopes::default()
            .as_slice()
            .iter()
            .any(|s| s == "ChannelMessage.Read.All"));
    }

    #[test]
    fn cloud_hosts() {
        assert_eq!(Cloud::parse("USGov"), Some(Cloud::UsGov));
        assert_eq!(Cloud::parse("mars"), None);
        assert_eq!(
            Hosts::of_cloud(Cloud::Dod).graph,
            "https://dod-graph.microsoft.us"
        );
        let hosts = Hosts::of_cloud(Cloud::Global);
        let id = Uuid::nil();
        assert_eq!(
            hosts.admin_consent_url(&Tenant::Organizations, &id),
            format!("https://login.microsoftonline.com/organizations/adminconsent?client_id={id}")
        );
    }
}
