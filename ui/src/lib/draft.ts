// The composer's structure, both ways: a DOM (the contenteditable, or a parsed message body)
// to a `DraftDto`, and a `DraftDto` back to DOM nodes built with createElement/textContent
// (never HTML strings). Pure apart from the DOM it is given.
import type { BlockDto, DraftDto, InlineDto } from "./bindings";

type TextInline = Extract<InlineDto, { type: "text" }>;
interface Marks {
  bold: boolean;
  italic: boolean;
  strike: boolean;
  code: boolean;
}
const NO_MARKS: Marks = { bold: false, italic: false, strike: false, code: false };

export interface ParseOptions {
  /** Collapse runs of HTML whitespace (message bodies); the composer keeps spaces as typed. */
  collapseWhitespace: boolean;
}

/** The class of a mention chip in the composer; chips carry `data-user-id` and `data-name`. */
export const MENTION_CHIP_CLASS = "mention-chip";

const BLOCK_TAGS = new Set(["DIV", "P", "UL", "OL", "LI", "BLOCKQUOTE", "PRE", "H1", "H2", "H3", "H4", "H5", "H6", "TABLE", "TR", "SECTION", "ARTICLE", "HR"]);

function isElement(node: Node): node is Element {
  return node.nodeType === 1;
}

function isBlock(node: Node): boolean {
  return isElement(node) && BLOCK_TAGS.has(node.tagName.toUpperCase());
}

/** The attribute an image (or its stand-in) in the composer carries its hosted content id in. */
export const HOSTED_ID_ATTR = "data-hosted-id";

/** The hosted content id in a local media URL (`…/{account}/hosted/{team}/{channel}/{message}/{reply or -}/{hosted}`
 *  on the `perch-media:` scheme), or null for any other address. */
export function hostedIdOfMediaUrl(src: string): string | null {
  const m = /^(?:perch-media:\/\/localhost|http:\/\/perch-media\.localhost)\/[^/?#]+\/hosted\/[^/?#]+\/[^/?#]+\/[^/?#]+\/[^/?#]+\/([^/?#]+)$/.exec(src);
  if (!m) return null;
  try {
    const id = decodeURIComponent(m[1] as string);
    return id && id !== "." && id !== ".." ? id : null;
  } catch {
    return null;
  }
}

function hostedIdOf(el: Element): string | null {
  return el.getAttribute(HOSTED_ID_ATTR) || hostedIdOfMediaUrl(el.getAttribute("src") ?? "");
}

/** A message's inline images, by hosted content id: where the composer shows them from while
 *  the message is edited. */
export function hostedImageSources(html: string): Map<string, string> {
  const doc = new DOMParser().parseFromString(`<!doctype html><body>${html}</body>`, "text/html");
  const out = new Map<string, string>();
  for (const img of Array.from(doc.body.querySelectorAll("img"))) {
    const src = img.getAttribute("src") ?? "";
    const id = hostedIdOfMediaUrl(src);
    if (id && !out.has(id)) out.set(id, src);
  }
  return out;
}

function mentionOf(el: Element): InlineDto | null {
  const userId = el.getAttribute("data-user-id") ?? el.getAttribute("data-mention-id");
  if (userId === null) return null;
  const isChip = el.classList.contains(MENTION_CHIP_CLASS) || el.classList.contains("mention") || el.tagName === "AT";
  if (!isChip) return null;
  const name = (el.getAttribute("data-name") ?? el.textContent ?? "").replace(/^@/, "").trim();
  return { type: "mention", user_id: userId, name };
}

/** Collects inline content of `node` (which must not contain blocks) into `out`. */
function collectInlines(node: Node, marks: Marks, out: InlineDto[], opts: ParseOptions): void {
  if (node.nodeType === 3) {
    let text = (node.nodeValue ?? "").replace(/\u00a0/g, " ").replace(/\u200b/g, "");
    if (opts.collapseWhitespace) text = text.replace(/[\t\n\r ]+/g, " ");
    if (text) out.push({ type: "text", text, ...marks });
    return;
  }
  if (!isElement(node)) return;
  const tag = node.tagName.toUpperCase();
  const mention = mentionOf(node);
  if (mention) {
    out.push(mention);
    return;
  }
  if (tag !== "IMG" && node.hasAttribute(HOSTED_ID_ATTR)) {
    const hostedId = node.getAttribute(HOSTED_ID_ATTR);
    if (hostedId) out.push({ type: "image", hosted_id: hostedId, alt: node.getAttribute("data-alt") ?? "" });
    return;
  }
  switch (tag) {
    case "BR":
      out.push({ type: "break" });
      return;
    case "A": {
      const href = node.getAttribute("href");
      const text = (node.textContent ?? "").replace(/\u00a0/g, " ");
      if (href && /^(https?:|mailto:)/i.test(href)) {
        out.push({ type: "link", href, text: text.trim() || href });
      } else if (text) {
        out.push({ type: "text", text, ...marks });
      }
      return;
    }
    case "IMG": {
      // Only a message's own inline image survives (kept when it is edited); any other image
      // is dropped.
      const hostedId = hostedIdOf(node);
      if (hostedId) out.push({ type: "image", hosted_id: hostedId, alt: node.getAttribute("alt") ?? "" });
      return;
    }
    case "SCRIPT":
    case "STYLE":
    case "TEMPLATE":
      return;
  }
  const next: Marks = {
    bold: marks.bold || tag === "B" || tag === "STRONG",
    italic: marks.italic || tag === "I" || tag === "EM",
    strike: marks.strike || tag === "S" || tag === "STRIKE" || tag === "DEL",
    code: marks.code || tag === "CODE",
  };
  for (const child of Array.from(node.childNodes)) collectInlines(child, next, out, opts);
}

/** Merges neighbouring text runs with the same marks and trims each line's ends. */
export function normaliseInlines(inlines: readonly InlineDto[]): InlineDto[] {
  const merged: InlineDto[] = [];
  for (const inline of inlines) {
    const last = merged[merged.length - 1];
    if (
      inline.type === "text" &&
      last?.type === "text" &&
      last.bold === inline.bold &&
      last.italic === inline.italic &&
      last.strike === inline.strike &&
      last.code === inline.code
    ) {
      merged[merged.length - 1] = { ...last, text: last.text + inline.text };
    } else if (inline.type !== "text" || inline.text !== "") {
      merged.push(inline);
    }
  }
  // Trim: no leading/trailing breaks, no leading/trailing whitespace.
  while (merged[0]?.type === "break") merged.shift();
  while (merged[merged.length - 1]?.type === "break") merged.pop();
  const first = merged[0];
  if (first?.type === "text" && !first.code) {
    const text = first.text.replace(/^\s+/, "");
    if (text) merged[0] = { ...first, text };
    else merged.shift();
  }
  const last = merged[merged.length - 1];
  if (last?.type === "text" && !last.code) {
    const text = last.text.replace(/\s+$/, "");
    if (text) merged[merged.length - 1] = { ...last, text };
    else merged.pop();
  }
  // A trimmed end may uncover a break.
  const ends = [merged[0], merged[merged.length - 1]] as Array<InlineDto | undefined>;
  if (ends.some((i) => i?.type === "break")) return normaliseInlines(merged);
  return merged;
}

class Builder {
  blocks: BlockDto[] = [];
  private run: InlineDto[] = [];
  constructor(private opts: ParseOptions) {}

  inline(node: Node, marks: Marks): void {
    collectInlines(node, marks, this.run, this.opts);
  }

  flush(): void {
    const inlines = normaliseInlines(this.run);
    this.run = [];
    if (inlines.length > 0) this.blocks.push({ type: "paragraph", inlines });
  }

  listItems(list: Element): InlineDto[][] {
    const items: InlineDto[][] = [];
    for (const child of Array.from(list.childNodes)) {
      if (isElement(child) && child.tagName.toUpperCase() === "LI") {
        // Flatten nested lists into the outer one (Teams' lists are one level deep here).
        const own: InlineDto[] = [];
        const nested: InlineDto[][] = [];
        for (const part of Array.from(child.childNodes)) {
          if (isElement(part) && (part.tagName.toUpperCase() === "UL" || part.tagName.toUpperCase() === "OL")) {
            nested.push(...this.listItems(part));
          } else if (isBlock(part)) {
            if (own.length) own.push({ type: "break" });
            collectInlines(part, NO_MARKS, own, this.opts);
          } else {
            collectInlines(part, NO_MARKS, own, this.opts);
          }
        }
        const inlines = normaliseInlines(own);
        if (inlines.length) items.push(inlines);
        items.push(...nested);
      } else if (isElement(child) && (child.tagName.toUpperCase() === "UL" || child.tagName.toUpperCase() === "OL")) {
        items.push(...this.listItems(child));
      } else {
        const inlines: InlineDto[] = [];
        collectInlines(child, NO_MARKS, inlines, this.opts);
        const trimmed = normaliseInlines(inlines);
        if (trimmed.length) items.push(trimmed);
      }
    }
    return items;
  }

  walk(parent: Node): void {
    for (const child of Array.from(parent.childNodes)) {
      if (!isBlock(child)) {
        this.inline(child, NO_MARKS);
        continue;
      }
      const el = child as Element;
      const tag = el.tagName.toUpperCase();
      this.flush();
      if (tag === "UL" || tag === "OL") {
        const items = this.listItems(el);
        if (items.length) this.blocks.push({ type: tag === "UL" ? "bullets" : "numbered", items });
      } else if (tag === "PRE") {
        const text = (el.textContent ?? "").replace(/\u00a0/g, " ").replace(/^\n+|\s+$/g, "");
        if (text) this.blocks.push({ type: "code", text });
      } else if (tag === "BLOCKQUOTE") {
        const inner = new Builder(this.opts);
        inner.walk(el);
        inner.flush();
        const inlines: InlineDto[] = [];
        for (const block of inner.blocks) {
          if (inlines.length) inlines.push({ type: "break" });
          inlines.push(...blockInlines(block));
        }
        const norm = normaliseInlines(inlines);
        if (norm.length) this.blocks.push({ type: "quote", inlines: norm });
      } else if (tag === "HR") {
        // nothing to carry over
      } else {
        this.walk(el);
        this.flush();
      }
    }
  }
}

function blockInlines(block: BlockDto): InlineDto[] {
  switch (block.type) {
    case "paragraph":
    case "quote":
      return block.inlines;
    case "code":
      return [{ type: "text", text: block.text, bold: false, italic: false, strike: false, code: true }];
    case "bullets":
    case "numbered":
      return block.items.flatMap((item, i) => (i ? [{ type: "break" } as InlineDto, ...item] : item));
  }
}

/** Converts a DOM subtree (the composer's contenteditable or a parsed body) to a draft. */
export function domToDraft(root: Node, opts: ParseOptions = { collapseWhitespace: false }): DraftDto {
  const builder = new Builder(opts);
  builder.walk(root);
  builder.flush();
  return { blocks: builder.blocks };
}

/** Parses a message's sanitised HTML in an inert document (nothing runs, nothing loads). */
export function htmlToDraft(html: string): DraftDto {
  const doc = new DOMParser().parseFromString(`<!doctype html><body>${html}</body>`, "text/html");
  return domToDraft(doc.body, { collapseWhitespace: true });
}

export function isDraftEmpty(draft: DraftDto): boolean {
  return draft.blocks.length === 0;
}

/** A draft from plain text (one paragraph per line group, line breaks kept). */
export function textToDraft(text: string): DraftDto {
  const blocks: BlockDto[] = [];
  for (const para of text.replace(/\r\n?/g, "\n").split(/\n{2,}/)) {
    const inlines: InlineDto[] = [];
    para.split("\n").forEach((line, i) => {
      if (i) inlines.push({ type: "break" });
      inlines.push({ type: "text", text: line, ...NO_MARKS });
    });
    const norm = normaliseInlines(inlines);
    if (norm.length) blocks.push({ type: "paragraph", inlines: norm });
  }
  return { blocks };
}

/** Builds a mention chip for the composer. */
export function mentionChip(doc: Document, userId: string, name: string): HTMLElement {
  const chip = doc.createElement("span");
  chip.className = MENTION_CHIP_CLASS;
  chip.contentEditable = "false";
  chip.setAttribute("data-user-id", userId);
  chip.setAttribute("data-name", name);
  chip.textContent = `@${name}`;
  return chip;
}

/** Where the composer shows each image from (hosted content id → local media URL). */
export type ImageSources = ReadonlyMap<string, string>;

/** A message's own inline image in the composer: the image itself when its local address is
 *  known, else a stand-in naming it. Atomic, like a mention chip. */
function imageNode(doc: Document, hostedId: string, alt: string, images: ImageSources): HTMLElement {
  const src = images.get(hostedId);
  if (src) {
    const img = doc.createElement("img");
    img.setAttribute("src", src);
    img.setAttribute("alt", alt);
    img.setAttribute(HOSTED_ID_ATTR, hostedId);
    img.className = "composer-image";
    return img;
  }
  const stand = doc.createElement("span");
  stand.className = "composer-image missing";
  stand.contentEditable = "false";
  stand.setAttribute(HOSTED_ID_ATTR, hostedId);
  stand.setAttribute("data-alt", alt);
  stand.textContent = `[${alt || "image"}]`;
  return stand;
}

function inlineNode(doc: Document, inline: InlineDto, images: ImageSources): Node {
  switch (inline.type) {
    case "image":
      return imageNode(doc, inline.hosted_id, inline.alt, images);
    case "break":
      return doc.createElement("br");
    case "mention":
      return mentionChip(doc, inline.user_id, inline.name);
    case "link": {
      const a = doc.createElement("a");
      a.setAttribute("href", inline.href);
      a.textContent = inline.text;
      return a;
    }
    case "text": {
      let node: Node = doc.createTextNode(inline.text);
      const wrap = (tag: string) => {
        const el = doc.createElement(tag);
        el.appendChild(node);
        node = el;
      };
      if (inline.code) wrap("code");
      if (inline.strike) wrap("s");
      if (inline.italic) wrap("i");
      if (inline.bold) wrap("b");
      return node;
    }
  }
}

function appendInlines(doc: Document, parent: Node, inlines: readonly InlineDto[], images: ImageSources): void {
  for (const inline of inlines) parent.appendChild(inlineNode(doc, inline, images));
}

/** Rebuilds composer DOM from a draft, with createElement/textContent only. `images` gives the
 *  local address of each inline image (a message being edited); an image without one shows as
 *  a stand-in and is still kept. */
export function draftToDom(doc: Document, draft: DraftDto, images: ImageSources = new Map()): DocumentFragment {
  const frag = doc.createDocumentFragment();
  for (const block of draft.blocks) {
    switch (block.type) {
      case "paragraph": {
        const div = doc.createElement("div");
        appendInlines(doc, div, block.inlines, images);
        frag.appendChild(div);
        break;
      }
      case "quote": {
        const q = doc.createElement("blockquote");
        appendInlines(doc, q, block.inlines, images);
        frag.appendChild(q);
        break;
      }
      case "code": {
        const pre = doc.createElement("pre");
        pre.textContent = block.text;
        frag.appendChild(pre);
        break;
      }
      case "bullets":
      case "numbered": {
        const list = doc.createElement(block.type === "bullets" ? "ul" : "ol");
        for (const item of block.items) {
          const li = doc.createElement("li");
          appendInlines(doc, li, item, images);
          list.appendChild(li);
        }
        frag.appendChild(list);
        break;
      }
    }
  }
  return frag;
}

/** Plain text of a draft (for previews and tests). */
export function draftText(draft: DraftDto): string {
  return draft.blocks
    .map((b) =>
      blockInlines(b)
        .map((i) =>
          i.type === "text" || i.type === "link" ? i.text : i.type === "mention" ? `@${i.name}` : i.type === "image" ? "" : "\n",
        )
        .join(""),
    )
    .join("\n");
}

export type { TextInline };
