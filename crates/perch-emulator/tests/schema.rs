//! Every message endpoint's answers validated against `/work/shared/graph/chatmessage-openapi.yaml`
//! with a small OpenAPI 3.0 subset validator (`$ref`, `allOf`, `type`, `nullable`, `enum`,
//! `pattern` (the date-time one the file uses), `format: date-time`, `properties`, `items`,
//! `required`, `additionalProperties: false`), plus the rule that every chatMessage property
//! is present (nulls included). Polymorphic values carrying `@odata.type` are also checked
//! against the derived schema when the file has it. Errors are checked as ODataError.
//! Directory endpoints (me, teams, channels, members) are not in the file: their fields are
//! checked explicitly.

mod graph_common;

use std::path::PathBuf;

use graph_common::{start, Bed};
use perch_emulator::graph::fixture::Spec;
use serde_json::{json, Value};

const DATE_TIME_PATTERN: &str = "^[0-9]{4,}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,12})?(Z|[+-][0-9][0-9]:[0-9][0-9])$";

fn spec() -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/graph");
    let path = dir.join("chatmessage-openapi.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the Graph OpenAPI subset is missing at {} ({e}); it lives in /work/shared/graph",
            path.display()
        )
    });
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    serde_json::to_value(yaml).expect("YAML as JSON")
}

/// The date-time pattern of the file, by hand (no regex crate here).
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let Some(t) = s.find('T') else { return false };
    let year_len = t.saturating_sub(6);
    if year_len < 4 || !digits(0..year_len) || b[year_len] != b'-' || b[year_len + 3] != b'-' {
        return false;
    }
    let num = |i: usize| -> Option<u32> { s.get(i..i + 2)?.parse().ok() };
    let (Some(month), Some(day)) = (num(year_len + 1), num(year_len + 4)) else {
        return false;
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || !digits(year_len + 1..year_len + 3)
        || !digits(year_len + 4..year_len + 6)
    {
        return false;
    }
    let rest = &s[t + 1..];
    let rb = rest.as_bytes();
    if rb.len() < 9 || rb[2] != b':' || rb[5] != b':' {
        return false;
    }
    let (Ok(h), Ok(m), Ok(sec)) = (
        rest[0..2].parse::<u32>(),
        rest[3..5].parse::<u32>(),
        rest[6..8].parse::<u32>(),
    ) else {
        return false;
    };
    if h > 23
        || m > 59
        || sec > 59
        || !rest[0..8]
            .bytes()
            .enumerate()
            .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit())
    {
        return false;
    }
    let mut tail = &rest[8..];
    if let Some(frac) = tail.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=12).contains(&n) {
            return false;
        }
        tail = &frac[n..];
    }
    tail == "Z"
        || (tail.len() == 6
            && (tail.starts_with('+') || tail.starts_with('-'))
            && tail.as_bytes()[3] == b':'
            && tail[1..3]
                .bytes()
                .chain(tail[4..6].bytes())
                .all(|c| c.is_ascii_digit()))
}

struct Validator {
    spec: Value,
}

impl Validator {
    fn resolve<'a>(&'a self, reference: &str) -> &'a Value {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unsupported $ref {reference}"));
        let schema = &self.spec["components"]["schemas"][name];
        assert!(!schema.is_null(), "unknown schema {name}");
        schema
    }

    fn schema(&self, name: &str) -> &Value {
        self.resolve(&format!("#/components/schemas/{name}"))
    }

    /// Properties of a schema, following `allOf` and `$ref`.
    fn properties(&self, schema: &Value, out: &mut Vec<String>) {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            return self.properties(self.resolve(r), out);
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.properties(s, out);
            }
        }
        if let Some(p) = schema.get("properties").and_then(Value::as_object) {
            out.extend(p.keys().cloned());
        }
    }

    fn validate(&self, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            // Graph's metadata cannot mark a referenced complex type nullable, yet sends null
            // for absent ones (`from` of system events, `eventDetail`, `policyViolation`).
            if v.is_null() {
                let target = self.resolve(r);
                let is_enum = target.get("enum").is_some();
                if is_enum {
                    errors.push(format!("{at}: null for enum {r}"));
                }
                return;
            }
            return self.validate(self.resolve(r), v, at, errors);
        }
        if v.is_null() {
            let nullable = schema
                .get("nullable")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let typed = schema.get("type").is_some();
            if typed && !nullable {
                errors.push(format!("{at}: null but not nullable"));
            }
            return;
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.validate(s, v, at, errors);
            }
        }
        if let Some(kind) = schema.get("type").and_then(Value::as_str) {
            let ok = match kind {
                "object" => v.is_object(),
                "array" => v.is_array(),
                "string" => v.is_string(),
                "number" => v.is_number(),
                "integer" => v.is_i64() || v.is_u64(),
                "boolean" => v.is_boolean(),
                other => panic!("unsupported type {other}"),
            };
            if !ok {
                errors.push(format!("{at}: expected {kind}, got {v}"));
                return;
            }
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            if !values.contains(v) {
                errors.push(format!("{at}: {v} not in enum {values:?}"));
            }
        }
        if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
            assert_eq!(p, DATE_TIME_PATTERN, "unsupported pattern at {at}");
            if !v.as_str().is_some_and(is_date_time) {
                errors.push(format!("{at}: {v} does not match the date-time pattern"));
            }
        }
        if schema.get("format").and_then(Value::as_str) == Some("date-time")
            && !v.as_str().is_some_and(is_date_time)
        {
            errors.push(format!("{at}: {v} is not a date-time"));
        }
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for r in required.iter().filter_map(Value::as_str) {
                if v.get(r).is_none() {
                    errors.push(format!("{at}: missing required {r}"));
                }
            }
        }
        if let (Some(props), Some(obj)) = (
            schema.get("properties").and_then(Value::as_object),
            v.as_object(),
        ) {
            for (name, sub) in props {
                if let Some(value) = obj.get(name) {
                    self.validate(sub, value, &format!("{at}.{name}"), errors);
                }
            }
            if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                for k in obj.keys().filter(|k| !props.contains_key(*k)) {
                    errors.push(format!("{at}: unexpected property {k}"));
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
            for (i, item) in arr.iter().enumerate() {
                self.validate(items, item, &format!("{at}[{i}]"), errors);
            }
        }
        // Derived types named by @odata.type.
        if let Some(t) = v.get("@odata.type").and_then(Value::as_str) {
            let name = t.trim_start_matches('#');
            let derived = &self.spec["components"]["schemas"][name];
            if !derived.is_null() && !std::ptr::eq(derived, schema) {
                let mut inner = Vec::new();
                self.validate_props_only(derived, v, at, &mut inner);
                errors.extend(inner);
            }
        }
    }

    fn validate_props_only(&self, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
        let mut stripped = v.clone();
        if let Some(o) = stripped.as_object_mut() {
            o.remove("@odata.type");
        }
        self.validate(schema, &stripped, at, errors);
    }

    fn check(&self, name: &str, v: &Value, what: &str) {
        let mut errors = Vec::new();
        self.validate(self.schema(name), v, what, &mut errors);
        assert!(
            errors.is_empty(),
            "{what} against {name}:\n{}",
            errors.join("\n")
        );
    }

    /// Every chatMessage property but the navigation ones is present (nulls included).
    fn all_fields(&self, message: &Value, what: &str) {
        let mut props = Vec::new();
        self.properties(self.schema("microsoft.graph.chatMessage"), &mut props);
        for p in props
            .iter()
            .filter(|p| *p != "hostedContents" && *p != "replies")
        {
            assert!(
                message.get(p).is_some(),
                "{what}: chatMessage field {p} is absent"
            );
        }
        if let Some(replies) = message.get("replies").and_then(Value::as_array) {
            for r in replies {
                self.all_fields(r, what);
            }
        }
    }

    fn messages(&self, page: &Value, what: &str) {
        for m in page["value"].as_array().unwrap() {
            self.all_fields(m, what);
        }
    }
}

async fn ok(bed: &Bed, path: &str) -> Value {
    let a = bed.get(path).await;
    assert_eq!(
        a.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&a.bytes)
    );
    a.json
}

#[test]
fn date_time_check_follows_the_pattern() {
    assert!(is_date_time("2021-03-28T21:11:12.395Z"));
    assert!(is_date_time("2021-03-28T21:11:12Z"));
    assert!(is_date_time("12021-03-28T21:11:12+01:00"));
    assert!(!is_date_time("2021-13-28T21:11:12Z"));
    assert!(!is_date_time("2021-03-28 21:11:12Z"));
    assert!(!is_date_time("2021-03-28T21:11:12"));
    assert!(!is_date_time("2021-03-28T24:11:12Z"));
}

#[tokio::test]
async fn message_endpoints_match_the_openapi_subset() {
    let v = Validator { spec: spec() };
    let bed = start(Spec::default()).await;
    let msgs = bed.general_messages();

    // The example page from Microsoft passes the same validator (it validates the validator).
    let example_path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/graph/example-channel-messages-page.json");
    let example: Value =
        serde_json::from_str(&std::fs::read_to_string(example_path).expect("example page"))
            .expect("example JSON");
    v.check(
        "microsoft.graph.chatMessageCollectionResponse",
        &example,
        "example",
    );

    for q in ["", "?$top=50", "?$top=10&$expand=replies"] {
        let page = ok(&bed, &format!("{msgs}{q}")).await;
        v.check(
            "microsoft.graph.chatMessageCollectionResponse",
            &page,
            &format!("list{q}"),
        );
        v.messages(&page, &format!("list{q}"));
    }
    let all = ok(&bed, &format!("{msgs}?$top=50&$expand=replies")).await;
    let kinds: Vec<&str> = all["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["messageType"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"systemEventMessage") && kinds.contains(&"message"));
    assert!(all["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["deletedDateTime"].is_string()));
    assert!(all["value"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["from"]["application"].is_object()));
    let root = all["value"][0]["id"].as_str().unwrap().to_owned();
    let reply = all["value"][0]["replies"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let replies = ok(&bed, &format!("{msgs}/{root}/replies?$top=2")).await;
    v.check(
        "microsoft.graph.chatMessageCollectionResponse",
        &replies,
        "replies",
    );
    v.messages(&replies, "replies");
    for path in [
        format!("{msgs}/{root}"),
        format!("{msgs}/{root}?$expand=replies"),
        format!("{msgs}/{root}/replies/{reply}"),
    ] {
        let one = ok(&bed, &path).await;
        v.check("microsoft.graph.chatMessage", &one, &path);
        v.all_fields(&one, &path);
    }

    let mut url = format!("{msgs}/delta?$top=9&$expand=replies");
    loop {
        let page = ok(&bed, &url).await;
        v.check("microsoft.graph.chatMessageDeltaResponse", &page, "delta");
        v.messages(&page, "delta");
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }

    let posted = bed
        .post(&msgs, json!({"body": {"contentType": "html", "content": "<p>schema</p>"}, "importance": "urgent"}))
        .await;
    assert_eq!(posted.status, 201);
    v.check("microsoft.graph.chatMessage", &posted.json, "POST message");
    v.all_fields(&posted.json, "POST message");
    let id = posted.json["id"].as_str().unwrap();
    let posted_reply = bed
        .post(
            &format!("{msgs}/{id}/replies"),
            json!({"body": {"content": "r"}}),
        )
        .await;
    assert_eq!(posted_reply.status, 201);
    v.check(
        "microsoft.graph.chatMessage",
        &posted_reply.json,
        "POST reply",
    );
    v.all_fields(&posted_reply.json, "POST reply");

    let hosted = ok(
        &bed,
        &format!(
            "{msgs}/{}/hostedContents",
            all["value"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["body"]["content"]
                    .as_str()
                    .unwrap()
                    .contains("hostedContents"))
                .unwrap()["id"]
                .as_str()
                .unwrap()
        ),
    )
    .await;
    for h in hosted["value"].as_array().unwrap() {
        v.check(
            "microsoft.graph.chatMessageHostedContent",
            h,
            "hostedContent",
        );
    }

    // Errors are ODataError.
    let weak = bed.token_for(bed.fx.users[0], &["User.Read"]);
    let errors = [
        bed.get(&format!("{msgs}?$filter=x")).await,
        bed.request(reqwest::Method::GET, &msgs, None, None).await,
        bed.get_as(&weak, &msgs).await,
        bed.get(&format!("{msgs}/42")).await,
        bed.get(&format!("{msgs}/delta?$deltatoken=nope")).await,
        bed.post(&msgs, json!({"body": {"content": ""}})).await,
    ];
    for (i, e) in errors.iter().enumerate() {
        assert!(e.status >= 400, "error {i}");
        v.check(
            "microsoft.graph.ODataErrors.ODataError",
            &e.json,
            &format!("error {i}"),
        );
    }
}

#[tokio::test]
async fn directory_endpoints_have_their_graph_fields() {
    let bed = start(Spec::default()).await;
    let team = bed.team();
    let strings = |v: &Value, fields: &[&str], what: &str| {
        for f in fields {
            assert!(v[*f].is_string(), "{what}: {f} should be a string in {v}");
        }
    };
    let me = ok(&bed, "/me").await;
    strings(
        &me,
        &[
            "@odata.context",
            "id",
            "displayName",
            "mail",
            "userPrincipalName",
        ],
        "me",
    );
    assert!(me["businessPhones"].is_array());
    let teams = ok(&bed, "/me/joinedTeams").await;
    strings(&teams, &["@odata.context"], "joinedTeams");
    for t in teams["value"].as_array().unwrap() {
        strings(
            t,
            &["id", "displayName", "description", "tenantId", "webUrl"],
            "team",
        );
        assert!(t["isArchived"].is_boolean());
    }
    for path in [
        format!("/teams/{team}/channels"),
        format!("/teams/{team}/allChannels"),
    ] {
        let channels = ok(&bed, &path).await;
        strings(&channels, &["@odata.context"], &path);
        for c in channels["value"].as_array().unwrap() {
            strings(
                c,
                &[
                    "id",
                    "displayName",
                    "createdDateTime",
                    "membershipType",
                    "webUrl",
                    "tenantId",
                ],
                &path,
            );
            assert!(c["id"].as_str().unwrap().starts_with("19:"));
            assert!(is_date_time(c["createdDateTime"].as_str().unwrap()));
            assert!(
                ["standard", "private", "shared"].contains(&c["membershipType"].as_str().unwrap())
            );
        }
    }
    let members = ok(
        &bed,
        &format!("/teams/{team}/channels/{}/members", bed.fx.general),
    )
    .await;
    for m in members["value"].as_array().unwrap() {
        strings(
            m,
            &[
                "@odata.type",
                "id",
                "displayName",
                "userId",
                "email",
                "tenantId",
                "visibleHistoryStartDateTime",
            ],
            "member",
        );
        assert!(m["roles"].is_array());
    }
}
