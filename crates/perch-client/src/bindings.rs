//! The TypeScript declarations of every DTO, written to `ui/src/lib/bindings.ts`. The UI
//! imports its types from there, and [`tests::bindings_are_current`] fails when the checked-in
//! file differs from what the Rust types declare, so Rust and TypeScript cannot drift. After
//! changing a DTO, regenerate with `PERCH_BLESS=1 cargo test -p perch-client bindings`.

use ts_rs::{Config, TS};

use crate::dto::*;

/// Where the file lives, relative to the workspace root.
pub const PATH: &str = "ui/src/lib/bindings.ts";

fn decl<T: TS>(cfg: &Config, out: &mut String) {
    if let Some(docs) = T::docs() {
        out.push_str(&docs);
    }
    out.push_str("export ");
    out.push_str(&T::decl(cfg));
    out.push_str("\n\n");
}

/// The file's whole text.
pub fn typescript() -> String {
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from the Rust DTOs (crates/perch-client/src/dto.rs) by perch-client's bindings\n\
         // test: do not edit. Regenerate with `PERCH_BLESS=1 cargo test -p perch-client bindings`.\n\
         // Timestamps are RFC 3339 strings in UTC; optional values are `null`, never absent.\n\n",
    );
    decl::<MessageKeyDto>(&cfg, &mut out);
    decl::<OutboxStateDto>(&cfg, &mut out);
    decl::<OutboxKindDto>(&cfg, &mut out);
    decl::<PendingDto>(&cfg, &mut out);
    decl::<ReactionDto>(&cfg, &mut out);
    decl::<AttachmentKindDto>(&cfg, &mut out);
    decl::<AttachmentDto>(&cfg, &mut out);
    decl::<MessageKindDto>(&cfg, &mut out);
    decl::<MessageDto>(&cfg, &mut out);
    decl::<TimelineDiffDto>(&cfg, &mut out);
    decl::<TimelineBatchDto>(&cfg, &mut out);
    decl::<NotifyLevelDto>(&cfg, &mut out);
    decl::<ChannelDto>(&cfg, &mut out);
    decl::<TeamDto>(&cfg, &mut out);
    decl::<SidebarDiffDto>(&cfg, &mut out);
    decl::<SyncStateDto>(&cfg, &mut out);
    decl::<OutboxCountsDto>(&cfg, &mut out);
    decl::<ChannelErrorDto>(&cfg, &mut out);
    decl::<StatusDto>(&cfg, &mut out);
    decl::<AccountStateDto>(&cfg, &mut out);
    decl::<AccountDto>(&cfg, &mut out);
    decl::<ThemeDto>(&cfg, &mut out);
    decl::<QuietHoursDto>(&cfg, &mut out);
    decl::<SettingsDto>(&cfg, &mut out);
    decl::<ModeDto>(&cfg, &mut out);
    decl::<PolicyProblemDto>(&cfg, &mut out);
    decl::<PolicyDto>(&cfg, &mut out);
    decl::<AppStateDto>(&cfg, &mut out);
    decl::<MemberDto>(&cfg, &mut out);
    decl::<SnippetPartDto>(&cfg, &mut out);
    decl::<SearchHitDto>(&cfg, &mut out);
    decl::<OutboxItemDto>(&cfg, &mut out);
    decl::<perch_core::compose::Inline>(&cfg, &mut out);
    decl::<perch_core::compose::Block>(&cfg, &mut out);
    decl::<perch_core::compose::Draft>(&cfg, &mut out);
    decl::<SavedDraftDto>(&cfg, &mut out);
    decl::<FindingStatusDto>(&cfg, &mut out);
    decl::<FindingDto>(&cfg, &mut out);
    decl::<DiagnosticsDto>(&cfg, &mut out);
    decl::<BundleDto>(&cfg, &mut out);
    decl::<UpdateStatusDto>(&cfg, &mut out);
    decl::<CommandErrorDto>(&cfg, &mut out);
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_are_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(PATH);
        let want = typescript();
        if std::env::var_os("PERCH_BLESS").is_some() {
            std::fs::write(&path, &want).expect("write bindings");
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{PATH} is out of date with the Rust DTOs: run `PERCH_BLESS=1 cargo test -p perch-client bindings` and commit the result"
        );
    }
}
