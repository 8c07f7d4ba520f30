//! Graph URLs: the configured base and its `/v1.0` root, percent-encoding of path segments and
//! query values, the check that every link from Graph (nextLink, deltaLink,
//! replies@odata.nextLink) points under the configured base before a token is sent to it, and
//! the classification of a request (method + path) into the budget scopes it takes, the way
//! Microsoft's limits table (and the emulator) classify it.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use reqwest::Method;
use url::Url;

use crate::budget::{cost, Scope};
use crate::error::GraphError;

/// What must be escaped in a path segment. `:` and `@` stay as they are (channel ids are
/// `19:…@thread.tacv2` in Graph's own links).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// What must be escaped in a query value (spaces as `%20`, never `+`).
const QUERY_VALUE: &AsciiSet = &SEGMENT.add(b'&').add(b'+').add(b'=').add(b'\'');

/// One path segment, escaped.
pub(crate) fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// One query value, escaped.
pub(crate) fn query_value(s: &str) -> String {
    utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// The configured Graph base (`https://graph.microsoft.com`, or the emulator's origin).
#[derive(Debug, Clone)]
pub(crate) struct Base {
    /// The base as configured, without a trailing `/`.
    base: String,
    origin: url::Origin,
    /// The base's own path (usually empty), which every link must start with.
    path: String,
}

impl Base {
    pub(crate) fn parse(graph_base: &str) -> Result<Base, GraphError> {
        let trimmed = graph_base.trim().trim_end_matches('/');
        let bad = |why: &str| GraphError::Config {
            detail: format!("{trimmed:?} {why}"),
        };
        let url = Url::parse(trimmed).map_err(|e| bad(&format!("is not a URL ({e})")))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(bad(
                "must start with https:// (or http:// for a local emulator)",
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("must not have a query or fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not carry a user name or password"));
        }
        if url.path().trim_end_matches('/').ends_with("/v1.0") {
            return Err(bad("must not include /v1.0 (the client adds it)"));
        }
        Ok(Base {
            base: trimmed.to_owned(),
            origin: url.origin(),
            path: url.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The base as configured.
    pub(crate) fn as_str(&self) -> &str {
        &self.base
    }

    /// `{base}/v1.0{path}` (path starts with `/`, already escaped).
    pub(crate) fn api(&self, path_and_query: &str) -> Result<Url, GraphError> {
        let text = format!("{}/v1.0{path_and_query}", self.base);
        Url::parse(&text).map_err(|e| GraphError::Config {
            detail: format!("could not build a Graph URL ({e})"),
        })
    }

    /// A link from Graph, if it points under the base; never another host (the token would go
    /// with it).
    pub(crate) fn check_link(&self, link: &str) -> Result<Url, GraphError> {
        let url = Url::parse(link.trim()).map_err(|e| GraphError::Malformed {
            detail: format!("a link from Graph is not a URL ({e})"),
        })?;
        let under = url.origin() == self.origin
            && url.username().is_empty()
            && url.password().is_none()
            && (self.path.is_empty()
                || url.path() == self.path
                || url.path().starts_with(&format!("{}/", self.path)));
        if !under {
            return Err(GraphError::Malformed {
                detail: format!(
                    "a link from Graph points at {} instead of {}; it was not followed",
                    url.origin().ascii_serialization(),
                    self.origin.ascii_serialization()
                ),
            });
        }
        Ok(url)
    }

    /// The path segments after `/v1.0`, percent-decoded.
    fn api_segments(&self, url: &Url) -> Vec<String> {
        let path = url.path();
        let path = path.strip_prefix(self.path.as_str()).unwrap_or(path);
        let path = path.strip_prefix("/v1.0").unwrap_or(path);
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect()
    }

    /// The budget scopes (with their costs) a request takes, from its method and path; see
    /// `budget`'s module docs.
    pub(crate) fn needs(&self, method: &Method, url: &Url) -> Vec<(Scope, f64)> {
        let segs = self.api_segments(url);
        let is = |i: usize, name: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(name));
        let read = *method == Method::GET || *method == Method::HEAD;
        if !read {
            return match (
                segs.len() >= 4 && is(0, "teams") && is(2, "channels"),
                segs.get(1),
                segs.get(3),
            ) {
                (true, Some(team), Some(channel)) => {
                    vec![(Scope::UserPost, 1.0), (Scope::channel(team, channel), 1.0)]
                }
                _ => vec![(Scope::UserPost, 1.0)],
            };
        }
        if is(0, "me") && segs.len() == 1 {
            return vec![(Scope::Other, 1.0)];
        }
        if is(0, "me") && is(1, "joinedTeams") {
            return vec![(Scope::TenantGet, cost::OTHER_GET)];
        }
        if is(0, "teams") && segs.len() == 3 && (is(2, "allChannels") || is(2, "channels")) {
            return vec![
                (Scope::team_channels(&segs[1]), 1.0),
                (Scope::TenantGet, cost::CHANNELS),
            ];
        }
        if is(0, "teams") && is(2, "channels") && is(4, "messages") && segs.len() >= 5 {
            let (team, channel) = (&segs[1], &segs[3]);
            let rest = &segs[5..];
            let name = |i: usize, n: &str| rest.get(i).is_some_and(|s| s.eq_ignore_ascii_case(n));
            let list = rest.is_empty()
                || (rest.len() == 1 && (name(0, "delta") || name(0, "microsoft.graph.delta()")))
                || (rest.len() == 2 && name(1, "replies"))
                || (rest.len() == 3 && name(1, "replies") && name(2, "delta"));
            if list {
                return vec![
                    (Scope::channel(team, channel), 1.0),
                    (Scope::TenantGet, cost::MESSAGES_READ),
                ];
            }
        }
        vec![(Scope::Other, 1.0), (Scope::TenantGet, cost::OTHER_GET)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "6F1C0E3A-0000-4000-8000-000000000001";
    const C: &str = "19:abc@thread.tacv2";

    fn names(needs: Vec<(Scope, f64)>) -> Vec<String> {
        needs
            .into_iter()
            .map(|(s, c)| format!("{s}={:.2}", c))
            .collect()
    }

    #[test]
    fn links_must_stay_under_the_base() {
        let base = Base::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(base.as_str(), "http://127.0.0.1:8080");
        let ok = "http://127.0.0.1:8080/v1.0/teams/t/channels/19:a@thread.tacv2/messages/delta?$deltatoken=abc";
        assert_eq!(base.check_link(ok).unwrap().as_str(), ok);
        for bad in [
            "http://127.0.0.1:8081/v1.0/me",
            "https://127.0.0.1:8080/v1.0/me",
            "http://evil.example/v1.0/me",
            "http://user:pw@127.0.0.1:8080/v1.0/me",
            "/v1.0/me",
            "not a url",
        ] {
            let e = base.check_link(bad).unwrap_err();
            assert_eq!(e.code(), "malformed_response", "{bad}");
        }
        let graph = Base::parse("https://graph.microsoft.com").unwrap();
        assert!(graph
            .check_link("https://GRAPH.microsoft.com:443/v1.0/me/joinedTeams")
            .is_ok());
        assert!(graph
            .check_link("https://graph.microsoft.com.evil.example/v1.0/me")
            .is_err());
        let prefixed = Base::parse("https://proxy.example/graph").unwrap();
        assert!(prefixed
            .check_link("https://proxy.example/graph/v1.0/me")
            .is_ok());
        assert!(prefixed
            .check_link("https://proxy.example/other/v1.0/me")
            .is_err());
        assert!(prefixed
            .check_link("https://proxy.example/graphx/v1.0/me")
            .is_err());
    }

    #[test]
    fn bad_bases_are_refused() {
        for bad in [
            "graph.microsoft.com",
            "ftp://graph.microsoft.com",
            "https://graph.microsoft.com/v1.0",
            "https://graph.microsoft.com?x=1",
            "https://u:p@graph.microsoft.com",
        ] {
            assert_eq!(
                Base::parse(bad).unwrap_err().code(),
                "graph_config",
                "{bad}"
            );
        }
    }

    #[test]
    fn requests_take_the_scopes_of_microsofts_table() {
        let base = Base::parse("https://graph.microsoft.com").unwrap();
        let needs =
            |method: Method, path: &str| names(base.needs(&method, &base.api(path).unwrap()));
        let t = T.to_ascii_lowercase();
        let channel = format!("channel:{t}/{C}=1.00");
        let m = format!("/teams/{T}/channels/{C}/messages");
        assert_eq!(needs(Method::GET, "/me"), ["other=1.00"]);
        assert_eq!(needs(Method::GET, "/me/joinedTeams"), ["tenant-get=0.67"]);
        assert_eq!(
            needs(Method::GET, &format!("/teams/{T}/allChannels")),
            [format!("team-channels:{t}=1.00"), "tenant-get=0.33".into()]
        );
        for read in [
            m.clone(),
            format!("{m}?$top=50&$expand=replies"),
            format!("{m}/delta?$deltatoken=x"),
            format!("{m}/123/replies?$skiptoken=x"),
        ] {
            assert_eq!(
                needs(Method::GET, &read),
                [channel.clone(), "tenant-get=1.00".into()],
                "{read}"
            );
        }
        // Graph's own links write the channel id escaped: the same scope.
        assert_eq!(
            needs(
                Method::GET,
                &format!("/teams/{T}/channels/19%3Aabc%40thread.tacv2/messages")
            ),
            [channel.clone(), "tenant-get=1.00".into()]
        );
        assert_eq!(
            needs(Method::GET, &format!("{m}/1/hostedContents/h/$value")),
            ["other=1.00", "tenant-get=0.67"]
        );
        assert_eq!(
            needs(Method::GET, &format!("/teams/{T}/channels/{C}/members")),
            ["other=1.00", "tenant-get=0.67"]
        );
        for (method, path) in [
            (Method::POST, m.clone()),
            (Method::POST, format!("{m}/1/replies")),
            (Method::PATCH, format!("{m}/1")),
            (Method::POST, format!("{m}/1/replies/2/setReaction")),
        ] {
            assert_eq!(
                needs(method, &path),
                ["user-post=1.00".to_owned(), channel.clone()],
                "{path}"
            );
        }
    }

    #[test]
    fn encoding() {
        assert_eq!(seg("19:a@thread.tacv2"), "19:a@thread.tacv2");
        assert_eq!(seg("a/b?c#d e%"), "a%2Fb%3Fc%23d%20e%25");
        assert_eq!(
            query_value("lastModifiedDateTime gt 2024-01-01T00:00:00.000Z"),
            "lastModifiedDateTime%20gt%202024-01-01T00:00:00.000Z"
        );
        assert_eq!(query_value("a+b&c=d"), "a%2Bb%26c%3Dd");
    }
}
