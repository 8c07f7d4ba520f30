//! The `perch-media:` scheme's content: inline images of messages (Graph `hostedContents`),
//! fetched with the account's token by the Graph client, cached on disk under the data folder
//! with a size cap (least recently used evicted), and served to the web view as bytes. The token
//! never reaches the web view: it only ever sees `perch-media://localhost/…` URLs, which
//! perch-html wrote when it sanitised the message.
//!
//! A request is served only when every part checks out: the path has exactly the shape
//! perch-html writes, the account is the active one, the message is cached and its body
//! references that hosted content (so one message cannot show another's images), and the bytes
//! are a raster image (PNG, JPEG, GIF, WebP, BMP; never SVG, which can carry script).

use std::path::PathBuf;

use percent_encoding::percent_decode_str;
use perch_graph::HostedContentRef;
use perch_store::MessageKey;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::error::AppError;

/// The media cache's size cap.
pub const CACHE_CAP_BYTES: i64 = 256 * 1024 * 1024;
/// The largest single image served.
pub const MAX_IMAGE_BYTES: usize = 32 * 1024 * 1024;

/// A served image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its MIME type (sniffed, never taken from the server).
    pub content_type: &'static str,
}

/// A parsed media path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPath {
    /// The account key (`{tid}.{oid}`).
    pub account: String,
    /// The cache key: the path after the account.
    pub key: String,
    /// What to ask Graph for.
    pub hosted: HostedContentRef,
}

/// Parses `/{account}/hosted/{team}/{channel}/{message}/{reply or -}/{hosted}` (each part
/// percent-encoded). Anything else is refused.
pub fn parse_path(path: &str) -> Option<MediaPath> {
    let path = path.strip_prefix('/')?;
    let parts: Vec<&str> = path.split('/').collect();
    let [account, "hosted", team, channel, message, reply, hosted] = parts.as_slice() else {
        return None;
    };
    let decode = |s: &str| -> Option<String> {
        let d = percent_decode_str(s).decode_utf8().ok()?.into_owned();
        (!d.is_empty() && !d.contains(['/', '\\']) && !d.chars().any(char::is_control)).then_some(d)
    };
    let reply_id = match *reply {
        "-" => None,
        r => Some(decode(r)?),
    };
    Some(MediaPath {
        account: decode(account)?,
        key: path.split_once('/')?.1.to_owned(),
        hosted: HostedContentRef {
            team_id: decode(team)?,
            channel_id: decode(channel)?,
            message_id: decode(message)?,
            reply_id,
            hosted_content_id: decode(hosted)?,
        },
    })
}

/// The MIME type of a raster image, from its first bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"BM") {
        Some("image/bmp")
    } else {
        None
    }
}

fn not_found(why: &str) -> AppError {
    AppError::new("media_not_found", why.to_owned())
}

impl App {
    /// Serves one `perch-media:` request path.
    pub async fn media(&self, path: &str) -> Result<Media, AppError> {
        let parsed = parse_path(path).ok_or_else(|| not_found("not a media address"))?;
        let (account, engine, data_dir) = self.media_parts()?;
        if parsed.account != account.key() {
            return Err(not_found("the image belongs to another account"));
        }
        let h = &parsed.hosted;
        let key = MessageKey {
            channel_id: h.channel_id.clone(),
            root_id: h.message_id.clone(),
            id: h.reply_id.clone().unwrap_or_else(|| h.message_id.clone()),
        };
        let row = engine
            .message(key)
            .await?
            .ok_or_else(|| not_found("the message is not cached"))?;
        if row.team_id != h.team_id || !row.hosted.contains(&h.hosted_content_id) {
            return Err(not_found("the message does not show this image"));
        }
        // The disk cache first.
        let cached = self.store().lock().hosted(&account, &parsed.key)?;
        if let Some(entry) = cached {
            match tokio::fs::read(&entry.path).await {
                Ok(bytes) => {
                    if let Some(content_type) = sniff(&bytes) {
                        return Ok(Media {
                            bytes,
                            content_type,
                        });
                    }
                }
                Err(error) => tracing::debug!(%error, "cached image gone; fetching again"),
            }
        }
        let bytes = engine.graph().hosted_content(h).await?;
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err(AppError::new(
                "media_too_large",
                "the image is too large to show",
            ));
        }
        let content_type = sniff(&bytes).ok_or_else(|| {
            AppError::new(
                "media_refused",
                "the inline content is not an image Perch shows",
            )
        })?;
        let dir = data_dir.path().join("media");
        let file: PathBuf = dir.join(hex(&Sha256::digest(
            format!("{}/{}", parsed.account, parsed.key).as_bytes(),
        )));
        // Written aside then renamed, so a concurrent reader never sees half a file.
        let tmp = file.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        let write = async {
            tokio::fs::create_dir_all(&dir).await?;
            tokio::fs::write(&tmp, &bytes).await?;
            tokio::fs::rename(&tmp, &file).await
        };
        match write.await {
            Ok(()) => {
                let evicted = {
                    let store = self.store().lock();
                    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
                    store
                        .put_hosted(&account, &parsed.key, &file.to_string_lossy(), size)
                        .and_then(|()| store.evict_hosted(CACHE_CAP_BYTES))
                };
                match evicted {
                    Ok(paths) => {
                        for path in paths {
                            let _ = tokio::fs::remove_file(path).await;
                        }
                    }
                    // The image is in hand: show it, just do not count it.
                    Err(error) => tracing::warn!(%error, "could not index a cached image"),
                }
            }
            // A full disk still shows the image; it is just not kept.
            Err(error) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                tracing::warn!(%error, "could not cache an image");
            }
        }
        Ok(Media {
            bytes: bytes.to_vec(),
            content_type,
        })
    }
}

/// Deletes cached image files that the index does not list (an account purged, a database
/// rebuilt, a crash between writing and indexing), so nothing of a signed-out account stays.
pub fn sweep_orphans(app: &App) {
    let dir = app.data_dir().path().join("media");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let known: std::collections::HashSet<String> = match app.store().lock().hosted_paths() {
        Ok(paths) => paths.into_iter().collect(),
        Err(error) => {
            tracing::warn!(%error, "media cache not swept");
            return;
        }
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if !known.contains(path.to_string_lossy().as_ref()) && std::fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed cached images no account owns");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly_what_perch_html_writes() {
        let p =
            parse_path("/t.u/hosted/team-1/19%3Aabc%40thread.tacv2/1700000000000/-/aWQ9eA%3D%3D")
                .unwrap();
        assert_eq!(p.account, "t.u");
        assert_eq!(p.hosted.channel_id, "19:abc@thread.tacv2");
        assert_eq!(p.hosted.reply_id, None);
        assert_eq!(p.hosted.hosted_content_id, "aWQ9eA==");
        assert_eq!(
            p.key,
            "hosted/team-1/19%3Aabc%40thread.tacv2/1700000000000/-/aWQ9eA%3D%3D"
        );
        let r = parse_path("/t.u/hosted/a/b/c/d/e").unwrap();
        assert_eq!(r.hosted.reply_id.as_deref(), Some("d"));
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "/",
            "/t.u/hosted/a/b/c/-",
            "/t.u/hosted/a/b/c/-/e/extra",
            "/t.u/other/a/b/c/-/e",
            "/t.u/hosted/a/%2F/c/-/e",
            "/t.u/hosted/a/b/c/-/%00",
            "/t.u/hosted//b/c/-/e",
            "t.u/hosted/a/b/c/-/e",
        ] {
            assert_eq!(parse_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn sniffs_rasters_and_refuses_svg_and_html() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b""), None);
    }
}
