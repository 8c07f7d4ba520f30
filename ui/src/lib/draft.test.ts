// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { DraftDto } from "./bindings";
import { domToDraft, draftToDom, HOSTED_ID_ATTR, hostedIdOfMediaUrl, hostedImageSources, htmlToDraft, textToDraft } from "./draft";

const t = (text: string, marks: Partial<{ bold: boolean; italic: boolean; strike: boolean; code: boolean }> = {}) => ({
  type: "text" as const,
  text,
  bold: false,
  italic: false,
  strike: false,
  code: false,
  ...marks,
});

/** Builds an editor root from markup (test input only; the app never parses HTML this way). */
function editor(markup: string): HTMLElement {
  const doc = new DOMParser().parseFromString(`<body><div id="ed">${markup}</div></body>`, "text/html");
  return doc.getElementById("ed") as HTMLElement;
}

describe("domToDraft", () => {
  it("turns formatting into marked text runs and merges equal neighbours", () => {
    const d = domToDraft(editor("Hello <b>bold <i>both</i></b><strong>!</strong> <s>old</s> <code>x()</code>"));
    expect(d.blocks).toEqual([
      {
        type: "paragraph",
        inlines: [
          t("Hello "),
          t("bold ", { bold: true }),
          t("both", { bold: true, italic: true }),
          t("!", { bold: true }),
          t(" "),
          t("old", { strike: true }),
          t(" "),
          t("x()", { code: true }),
        ],
      },
    ]);
  });

  it("makes one paragraph per div line, collapses empty ones and trims", () => {
    const d = domToDraft(editor("  first line<div><br></div><div>second<br>line&nbsp;</div><div> </div><p>third</p>"));
    expect(d.blocks).toEqual([
      { type: "paragraph", inlines: [t("first line")] },
      { type: "paragraph", inlines: [t("second"), { type: "break" }, t("line")] },
      { type: "paragraph", inlines: [t("third")] },
    ]);
  });

  it("reads lists, links, quotes, code blocks and mention chips", () => {
    const d = domToDraft(
      editor(
        '<ul><li>one</li><li><a href="https://example.com/x">site</a></li></ul>' +
          "<ol><li>first</li><li></li><li>second</li></ol>" +
          "<blockquote>quoted</blockquote><pre>let x = 1;\n  y</pre>" +
          '<div>hi <span class="mention-chip" contenteditable="false" data-user-id="u7" data-name="Ada Lovelace">@Ada Lovelace</span> ok</div>' +
          '<div><a href="javascript:alert(1)">bad</a></div>',
      ),
    );
    expect(d.blocks).toEqual([
      { type: "bullets", items: [[t("one")], [{ type: "link", href: "https://example.com/x", text: "site" }]] },
      { type: "numbered", items: [[t("first")], [t("second")]] },
      { type: "quote", inlines: [t("quoted")] },
      { type: "code", text: "let x = 1;\n  y" },
      { type: "paragraph", inlines: [t("hi "), { type: "mention", user_id: "u7", name: "Ada Lovelace" }, t(" ok")] },
      { type: "paragraph", inlines: [t("bad")] },
    ]);
  });

  it("gives no blocks for an empty editor", () => {
    expect(domToDraft(editor("<div><br></div>  ")).blocks).toEqual([]);
  });
});

describe("draftToDom round trip", () => {
  const draft: DraftDto = {
    blocks: [
      { type: "paragraph", inlines: [t("a "), t("b", { bold: true, italic: true, strike: true, code: true }), { type: "break" }, t("c")] },
      { type: "bullets", items: [[t("x")], [{ type: "link", href: "https://e.test/", text: "link" }]] },
      { type: "numbered", items: [[{ type: "mention", user_id: "u1", name: "Grace" }, t(" hi")]] },
      { type: "quote", inlines: [t("q")] },
      { type: "code", text: "<b>not html</b>" },
    ],
  };

  it("rebuilds the same draft from the DOM it builds", () => {
    const root = document.createElement("div");
    root.appendChild(draftToDom(document, draft));
    expect(domToDraft(root)).toEqual(draft);
  });

  it("never interprets text as markup", () => {
    const root = document.createElement("div");
    root.appendChild(draftToDom(document, { blocks: [{ type: "paragraph", inlines: [t("<img src=x onerror=alert(1)>")] }] }));
    expect(root.querySelector("img")).toBeNull();
    expect(root.textContent).toBe("<img src=x onerror=alert(1)>");
  });

  it("makes mention chips atomic", () => {
    const root = document.createElement("div");
    root.appendChild(draftToDom(document, draft));
    const chip = root.querySelector("[data-user-id]") as HTMLElement;
    expect(chip.getAttribute("contenteditable")).toBe("false");
    expect(chip.textContent).toBe("@Grace");
  });
});

describe("htmlToDraft (editing a sanitised message)", () => {
  it("parses paragraphs, marks, mentions and lists, collapsing HTML whitespace", () => {
    const d = htmlToDraft(
      '<p>Hi <span class="mention" data-mention-id="u2">Ada</span>,\n  see <a href="https://e.test/doc" target="_blank" rel="noopener">the doc</a></p>\n' +
        "<p><strong>Bold</strong> and <em>it</em></p><ul>\n<li>one</li>\n<li>two</li>\n</ul>" +
        '<p><img src="perch-media:abc"></p>',
    );
    expect(d.blocks).toEqual([
      {
        type: "paragraph",
        inlines: [t("Hi "), { type: "mention", user_id: "u2", name: "Ada" }, t(", see "), { type: "link", href: "https://e.test/doc", text: "the doc" }],
      },
      { type: "paragraph", inlines: [t("Bold", { bold: true }), t(" and "), t("it", { italic: true })] },
      { type: "bullets", items: [[t("one")], [t("two")]] },
    ]);
  });

  it("keeps the message's own inline images by hosted content id, and no other image", () => {
    const media = "perch-media://localhost/acct/hosted/team/19%3Achan%40thread.tacv2/1700/-/aWQ9eA%3D%3D";
    const html = `<p>Chart:</p><p><img src="${media}" alt="Q3 chart"> and <img src="https://evil.test/x.png" alt="no"></p>`;
    const d = htmlToDraft(html);
    expect(d.blocks).toEqual([
      { type: "paragraph", inlines: [t("Chart:")] },
      { type: "paragraph", inlines: [{ type: "image", hosted_id: "aWQ9eA==", alt: "Q3 chart" }, t(" and")] },
    ]);
    // Into the composer: the image itself, from where the timeline shows it, atomic in the text.
    const sources = hostedImageSources(html);
    expect([...sources.entries()]).toEqual([["aWQ9eA==", media]]);
    const root = document.createElement("div");
    root.appendChild(draftToDom(document, d, sources));
    const img = root.querySelector("img") as HTMLImageElement;
    expect(img.getAttribute("src")).toBe(media);
    expect(img.getAttribute(HOSTED_ID_ATTR)).toBe("aWQ9eA==");
    // Back out of the composer unchanged, so an edit sends it again.
    expect(domToDraft(root).blocks).toEqual(d.blocks);
    // Without a known address it shows as a stand-in, and is still kept.
    const bare = document.createElement("div");
    bare.appendChild(draftToDom(document, d));
    expect(bare.querySelector("img")).toBeNull();
    expect(bare.textContent).toContain("[Q3 chart]");
    expect(domToDraft(bare).blocks).toEqual(d.blocks);
  });

  it("reads hosted content ids only from local media addresses", () => {
    expect(hostedIdOfMediaUrl("http://perch-media.localhost/a/hosted/t/c/m/r/h%2Bx")).toBe("h+x");
    for (const src of [
      "https://graph.microsoft.com/v1.0/teams/t/channels/c/messages/m/hostedContents/h/$value",
      "perch-media://localhost/a/hosted/t/c/m/h",
      "perch-media://localhost/a/photo/t/c/m/r/h",
      "perch-media://localhost/a/hosted/t/c/m/r/h?x=1",
      "perch-media://localhost/a/hosted/t/c/m/r/%E0%A4%A",
      "perch-media://localhost/a/hosted/t/c/m/r/..",
    ]) {
      expect(hostedIdOfMediaUrl(src), src).toBeNull();
    }
  });

  it("does not run scripts or load anything (inert document)", () => {
    const d = htmlToDraft('<p>x<script>globalThis.pwned = 1</script><img src=x onerror="globalThis.pwned=2"></p>');
    expect((globalThis as { pwned?: number }).pwned).toBeUndefined();
    expect(d.blocks).toEqual([{ type: "paragraph", inlines: [t("x")] }]);
  });
});

describe("textToDraft", () => {
  it("splits paragraphs on blank lines and keeps single line breaks", () => {
    expect(textToDraft("a\nb\n\n\nc\n").blocks).toEqual([
      { type: "paragraph", inlines: [t("a"), { type: "break" }, t("b")] },
      { type: "paragraph", inlines: [t("c")] },
    ]);
  });
});
