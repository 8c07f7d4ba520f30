//! Scope strings: which Graph delegated permissions exist, how a requested `scope` parameter
//! (fully qualified `https://graph.microsoft.com/X`, short `X`, `.default`, and the OpenID
//! Connect scopes) becomes a canonical grant, and how a grant is written back on the wire.
//! Pure functions; no state.

/// The Graph resource URI scopes are qualified with.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
/// Graph's application id, also accepted as a scope prefix.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// The OpenID Connect scopes, which are not Graph permissions.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "offline_access", "email"];

/// Graph delegated permissions the emulator knows: canonical name, what the consent page
/// says, and whether it needs admin consent.
pub const GRAPH_SCOPES: &[(&str, &str, bool)] = &[
    ("User.Read", "Sign you in and read your profile", false),
    (
        "User.ReadBasic.All",
        "Read all users' basic profiles",
        false,
    ),
    ("User.Read.All", "Read all users' full profiles", true),
    (
        "Team.ReadBasic.All",
        "Read the names and descriptions of teams",
        false,
    ),
    ("TeamMember.Read.All", "Read the members of teams", true),
    (
        "Channel.ReadBasic.All",
        "Read the names and descriptions of channels",
        false,
    ),
    (
        "ChannelMember.Read.All",
        "Read the members of channels",
        true,
    ),
    (
        "ChannelMessage.Read.All",
        "Read user channel messages",
        true,
    ),
    ("ChannelMessage.Send", "Send channel messages", false),
    (
        "ChannelMessage.ReadWrite",
        "Read and write user channel messages",
        true,
    ),
    ("Chat.Read", "Read your chat messages", false),
    ("Chat.ReadWrite", "Read and write your chat messages", false),
    ("Group.Read.All", "Read all groups", true),
    (
        "Presence.Read.All",
        "Read presence information of all users",
        false,
    ),
    (
        "Files.Read.All",
        "Read all files that you can access",
        false,
    ),
    (
        "Sites.Read.All",
        "Read items in all site collections",
        false,
    ),
];

/// What `.default` stands for: the permissions the demo registration has been granted.
pub const DEFAULT_GRANT: [&str; 7] = [
    "User.Read",
    "Team.ReadBasic.All",
    "Channel.ReadBasic.All",
    "ChannelMessage.Read.All",
    "ChannelMessage.Send",
    "ChannelMessage.ReadWrite",
    "ChannelMember.Read.All",
];

/// Why a `scope` parameter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// No scope at all.
    #[error("The request body must contain the following parameter: 'scope'.")]
    Missing,
    /// A scope Graph does not have, or one for another resource.
    #[error("The provided value for the input parameter 'scope' is not valid. The scope '{0}' does not exist on the resource '{GRAPH_APP_ID}'.")]
    Unknown(String),
}

/// Parses a space-separated `scope` parameter into canonical names: OIDC scopes in lower
/// case, Graph permissions by their short canonical name, duplicates dropped, request order
/// kept.
pub fn parse(raw: &str) -> Result<Vec<String>, ScopeError> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |name: &str| {
        if !out.iter().any(|s| s == name) {
            out.push(name.to_owned());
        }
    };
    let mut any = false;
    for item in raw.split_whitespace() {
        any = true;
        if let Some(oidc) = OIDC_SCOPES.iter().find(|s| s.eq_ignore_ascii_case(item)) {
            push(oidc);
            continue;
        }
        let short = strip_resource(item).ok_or_else(|| ScopeError::Unknown(item.to_owned()))?;
        if short.eq_ignore_ascii_case(".default") {
            DEFAULT_GRANT.iter().for_each(|s| push(s));
            continue;
        }
        let canonical = GRAPH_SCOPES
            .iter()
            .find(|(name, _, _)| name.eq_ignore_ascii_case(short))
            .ok_or_else(|| ScopeError::Unknown(item.to_owned()))?;
        push(canonical.0);
    }
    if !any {
        return Err(ScopeError::Missing);
    }
    Ok(out)
}

/// A sign-in that asks for no Graph permission gets `User.Read`, as Entra grants it with
/// `openid`.
pub fn with_default_resource(mut scopes: Vec<String>) -> Vec<String> {
    if !scopes.iter().any(|s| is_graph(s)) {
        scopes.push("User.Read".to_owned());
    }
    scopes
}

/// `X` from `https://graph.microsoft.com/X`, `00000003-…/X` or plain `X`; `None` for another
/// resource.
fn strip_resource(item: &str) -> Option<&str> {
    for prefix in [GRAPH_RESOURCE, GRAPH_APP_ID] {
        if let (Some(head), Some(rest)) = (item.get(..prefix.len()), item.get(prefix.len()..)) {
            if head.eq_ignore_ascii_case(prefix) {
                return rest.strip_prefix('/');
            }
        }
    }
    if item.contains('/') || item.contains(':') {
        None
    } else {
        Some(item)
    }
}

/// Whether a canonical name is a Graph permission (not an OIDC scope).
pub fn is_graph(name: &str) -> bool {
    !OIDC_SCOPES.contains(&name)
}

/// The token response's `scope`: Graph permissions fully qualified, then the OIDC scopes.
pub fn to_wire(granted: &[String]) -> String {
    let graph = granted
        .iter()
        .filter(|s| is_graph(s))
        .map(|s| format!("{GRAPH_RESOURCE}/{s}"));
    let oidc = OIDC_SCOPES
        .iter()
        .filter(|o| granted.iter().any(|s| s == *o))
        .map(|s| (*s).to_owned());
    graph.chain(oidc).collect::<Vec<_>>().join(" ")
}

/// The access token's `scp`: Graph permissions and the OIDC scopes that Graph tokens carry
/// (`openid`, `profile`, `email`; never `offline_access`).
pub fn access_token_scopes(granted: &[String]) -> Vec<String> {
    granted
        .iter()
        .filter(|s| s.as_str() != "offline_access")
        .cloned()
        .collect()
}

/// What the consent page says a permission allows.
pub fn describe(name: &str) -> &'static str {
    match name {
        "openid" => "Sign you in",
        "profile" => "View your basic profile",
        "email" => "View your email address",
        "offline_access" => "Maintain access to data you have given it access to",
        _ => GRAPH_SCOPES
            .iter()
            .find(|(n, _, _)| *n == name)
            .map_or("", |(_, d, _)| d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_and_short_names_become_one_canonical_grant() {
        let got = parse("openid https://graph.microsoft.com/channelmessage.read.all ChannelMessage.Read.All offline_access").unwrap_or_default();
        assert_eq!(got, ["openid", "ChannelMessage.Read.All", "offline_access"]);
        assert_eq!(
            to_wire(&got),
            "https://graph.microsoft.com/ChannelMessage.Read.All openid offline_access"
        );
        assert_eq!(
            with_default_resource(parse("openid profile").unwrap_or_default()),
            ["openid", "profile", "User.Read"]
        );
        assert!(matches!(parse("Bogus.Scope"), Err(ScopeError::Unknown(_))));
        assert!(matches!(
            parse("api://other/x"),
            Err(ScopeError::Unknown(_))
        ));
        assert_eq!(parse("  "), Err(ScopeError::Missing));
    }
}
