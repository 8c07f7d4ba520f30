//! Lists and paging: messages newest first with `$top` and `$skiptoken`, `$expand=replies`,
//! replies, single items, hosted contents and photos, and the directory endpoints (me, teams,
//! channels with `$filter`/`$select`, members) with their visibility rules.

mod graph_common;

use graph_common::{error_code, start};
use perch_emulator::graph::fixture::Spec;
use serde_json::Value;

#[tokio::test]
async fn message_pages_are_newest_first_and_cover_every_root_once() {
    let bed = start(Spec::default()).await;
    let first = bed.get(&bed.general_messages()).await;
    assert_eq!(first.status, 200);
    assert!(first.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json;odata.metadata=minimal"));
    assert_eq!(
        first.json["value"].as_array().unwrap().len(),
        20,
        "default page size"
    );
    assert!(first.json["@odata.context"]
        .as_str()
        .unwrap()
        .contains("/$metadata#teams("));

    let mut url = format!("{}?$top=7", bed.general_messages());
    let mut seen: Vec<String> = Vec::new();
    let mut created: Vec<String> = Vec::new();
    let mut pages = 0;
    loop {
        let page = bed.get(&url).await;
        assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.bytes));
        for m in page.json["value"].as_array().unwrap() {
            seen.push(m["id"].as_str().unwrap().to_owned());
            created.push(m["createdDateTime"].as_str().unwrap().to_owned());
            assert!(m.get("replies").is_none());
        }
        pages += 1;
        match page.json["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(bed.emulator.base_url()));
                url = next.to_owned();
            }
            None => break,
        }
        if pages == 1 {
            // A new post while paging shows on a new first page, never inside this sequence.
            bed.post(
                &bed.general_messages(),
                serde_json::json!({"body": {"content": "<p>late</p>"}}),
            )
            .await;
        }
    }
    assert_eq!(pages, 7); // 45 posts / 7
    assert_eq!(seen.len(), 45);
    let mut sorted = created.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(created, sorted, "newest first");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 45);
}

#[tokio::test]
async fn expand_replies_inlines_chains_and_replies_page() {
    let bed = start(Spec::default()).await;
    let page = bed
        .get(&format!(
            "{}?$top=5&$expand=replies",
            bed.general_messages()
        ))
        .await;
    assert_eq!(page.status, 200);
    let roots = page.json["value"].as_array().unwrap();
    assert_eq!(roots.len(), 5);
    for r in roots {
        let replies = r["replies"].as_array().unwrap();
        assert_eq!(replies.len(), 3);
        for reply in replies {
            assert_eq!(reply["replyToId"], r["id"]);
        }
    }
    // The nextLink keeps the expansion.
    let next = page.json["@odata.nextLink"].as_str().unwrap().to_owned();
    let page2 = bed.get(&next).await;
    assert!(page2.json["value"][0]["replies"].is_array());

    let root_id = roots[0]["id"].as_str().unwrap();
    let replies_url = format!("{}/{root_id}/replies?$top=2", bed.general_messages());
    let p1 = bed.get(&replies_url).await;
    assert_eq!(p1.status, 200);
    assert_eq!(p1.json["value"].as_array().unwrap().len(), 2);
    let p2 = bed.get(p1.json["@odata.nextLink"].as_str().unwrap()).await;
    assert_eq!(p2.json["value"].as_array().unwrap().len(), 1);
    assert!(p2.json.get("@odata.nextLink").is_none());

    let one = bed
        .get(&format!("{}/{root_id}", bed.general_messages()))
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json["id"], roots[0]["id"]);
    assert!(one.json["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("/messages/$entity"));
    let reply_id = roots[0]["replies"][0]["id"].as_str().unwrap();
    let reply = bed
        .get(&format!(
            "{}/{root_id}/replies/{reply_id}",
            bed.general_messages()
        ))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["replyToId"], roots[0]["id"]);
    let expanded = bed
        .get(&format!(
            "{}/{root_id}?$expand=replies",
            bed.general_messages()
        ))
        .await;
    assert_eq!(expanded.json["replies"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn unsupported_list_options_are_refused() {
    let bed = start(Spec::default()).await;
    for q in [
        "$top=0",
        "$top=51",
        "$top=abc",
        "$filter=id eq '1'",
        "$orderby=createdDateTime",
        "$search=hello",
        "$select=id",
        "$count=true",
        "$expand=hostedContents",
        "$skiptoken=garbage",
    ] {
        let a = bed.get(&format!("{}?{q}", bed.general_messages())).await;
        assert_eq!(a.status, 400, "{q}");
        assert_eq!(error_code(&a), "BadRequest", "{q}");
    }
    let a = bed
        .get(&format!("{}?$top=50", bed.general_messages()))
        .await;
    assert_eq!(a.json["value"].as_array().unwrap().len(), 45);
    assert!(a.json.get("@odata.nextLink").is_none());
}

#[tokio::test]
async fn hosted_content_and_photos_are_png_from_the_emulator() {
    let bed = start(Spec::default()).await;
    let all = bed
        .get(&format!("{}?$top=50", bed.general_messages()))
        .await;
    let with_image = all.json["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| {
            m["body"]["content"]
                .as_str()
                .unwrap()
                .contains("hostedContents")
        })
        .expect("the fixture has an inline image")
        .clone();
    let content = with_image["body"]["content"].as_str().unwrap();
    assert!(
        !content.contains("graph.microsoft.com"),
        "rewritten to the emulator"
    );
    let start_at = content.find("src=\"").unwrap() + 5;
    let src = &content[start_at..start_at + content[start_at..].find('"').unwrap()];
    assert!(src.starts_with(&bed.url("/teams/")));
    let image = bed.get(src).await;
    assert_eq!(image.status, 200);
    assert_eq!(image.headers["content-type"], "image/png");
    assert_eq!(&image.bytes[..8], b"\x89PNG\r\n\x1a\n");

    let id = with_image["id"].as_str().unwrap();
    let list = bed
        .get(&format!("{}/{id}/hostedContents", bed.general_messages()))
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json["value"].as_array().unwrap().len(), 1);

    for path in [
        "/me/photo/$value".to_owned(),
        format!("/users/{}/photo/$value", bed.fx.users[1]),
    ] {
        let photo = bed.get(&path).await;
        assert_eq!(photo.status, 200, "{path}");
        assert_eq!(photo.headers["content-type"], "image/png");
        assert_eq!(&photo.bytes[..4], b"\x89PNG");
    }
}

#[tokio::test]
async fn directory_endpoints_have_graph_fields_and_visibility() {
    let bed = start(Spec::default()).await;
    let me = bed.get("/me").await;
    assert_eq!(me.status, 200);
    for f in [
        "id",
        "displayName",
        "mail",
        "userPrincipalName",
        "@odata.context",
    ] {
        assert!(me.json[f].is_string(), "{f}");
    }
    assert_eq!(me.json["id"], bed.fx.users[0].to_string());
    let by_upn = bed
        .get(&format!(
            "/users/{}",
            me.json["userPrincipalName"].as_str().unwrap()
        ))
        .await;
    assert_eq!(by_upn.json["id"], me.json["id"]);

    let teams = bed.get("/me/joinedTeams").await;
    assert_eq!(teams.status, 200);
    assert_eq!(teams.json["value"].as_array().unwrap().len(), 2);
    for t in teams.json["value"].as_array().unwrap() {
        assert!(t["id"].is_string() && t["displayName"].is_string());
        assert!(t.get("description").is_some());
    }
    let refused = bed.get("/me/joinedTeams?$top=1").await;
    assert_eq!(refused.status, 400);

    let team = bed.get(&format!("/teams/{}", bed.team())).await;
    assert_eq!(team.status, 200);
    assert_eq!(team.json["id"], bed.team().to_string());

    let names = |v: &Value| -> Vec<String> {
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["membershipType"].as_str().unwrap_or("-").to_owned())
            .collect()
    };
    let channels = bed.get(&format!("/teams/{}/channels", bed.team())).await;
    assert_eq!(names(&channels.json), ["standard", "standard", "private"]);
    let all = bed.get(&format!("/teams/{}/allChannels", bed.team())).await;
    assert_eq!(
        names(&all.json),
        ["standard", "standard", "private", "shared"]
    );
    let private = bed
        .get(&format!(
            "/teams/{}/allChannels?$filter=membershipType eq 'private'",
            bed.team()
        ))
        .await;
    assert_eq!(names(&private.json), ["private"]);
    let selected = bed
        .get(&format!(
            "/teams/{}/channels?$select=id,displayName",
            bed.team()
        ))
        .await;
    let first = selected.json["value"][0].as_object().unwrap();
    assert_eq!(first.len(), 2);
    assert!(first.contains_key("id") && first.contains_key("displayName"));
    for bad in ["$filter=displayName eq 'x'", "$select=nope", "$top=2"] {
        let a = bed
            .get(&format!("/teams/{}/channels?{bad}", bed.team()))
            .await;
        assert_eq!(a.status, 400, "{bad}");
    }

    // Colleague (users[2]) is not in the private or shared channel.
    let other = bed.token_for(bed.fx.users[2], perch_emulator::graph::fixture::ALL_SCOPES);
    let theirs = bed
        .get_as(&other, &format!("/teams/{}/allChannels", bed.team()))
        .await;
    assert_eq!(names(&theirs.json), ["standard", "standard"]);
    let denied = bed
        .get_as(
            &other,
            &format!("/teams/{}/channels/{}/messages", bed.team(), bed.fx.private),
        )
        .await;
    assert_eq!(denied.status, 403);

    let channel = bed
        .get(&format!(
            "/teams/{}/channels/{}",
            bed.team(),
            bed.fx.general
        ))
        .await;
    assert_eq!(channel.json["displayName"], "General");
    assert_eq!(channel.json["membershipType"], "standard");

    let members = bed
        .get(&format!(
            "/teams/{}/channels/{}/members",
            bed.team(),
            bed.fx.private
        ))
        .await;
    assert_eq!(members.status, 200);
    let list = members.json["value"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    for m in list {
        assert_eq!(
            m["@odata.type"],
            "#microsoft.graph.aadUserConversationMember"
        );
        assert!(m["roles"].is_array());
        assert!(m["displayName"].is_string());
        assert!(m["userId"].is_string());
        assert!(m["email"].is_string());
    }
}
