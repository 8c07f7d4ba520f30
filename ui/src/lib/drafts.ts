// Draft persistence for one composer (a channel's, or a thread's reply box): restore on open,
// save debounced while typing, save at once on leaving, clear after sending.
import type { DraftDto, SavedDraftDto } from "./bindings";
import { loadDraft, saveDraft } from "./ipc";

export const DRAFT_SAVE_DELAY_MS = 500;

export class DraftKeeper {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pending: SavedDraftDto | null = null;
  /** What the shell has stored (to skip saving an unchanged draft). */
  private stored = "";

  constructor(
    readonly channelId: string,
    readonly rootId: string | null,
    private readonly delayMs = DRAFT_SAVE_DELAY_MS,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** The saved draft of this scope, or null. */
  async load(): Promise<SavedDraftDto | null> {
    try {
      const saved = await loadDraft(this.channelId, this.rootId);
      this.stored = saved ? JSON.stringify(this.entry(saved.draft, saved.subject, saved.importance)) : "";
      return saved;
    } catch (error) {
      this.onError(error);
      return null;
    }
  }

  private entry(draft: DraftDto, subject: string | null, importance: string | null): SavedDraftDto {
    return {
      channelId: this.channelId,
      rootId: this.rootId,
      draft,
      subject: subject?.trim() ? subject : null,
      importance: importance && importance !== "normal" ? importance : null,
    };
  }

  /** The composer changed: save after a pause in typing. */
  changed(draft: DraftDto, subject: string | null = null, importance: string | null = null): void {
    this.pending = this.entry(draft, subject, importance);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.delayMs);
  }

  /** Saves a pending change now (leaving the channel, closing the thread, quitting). */
  async flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const entry = this.pending;
    this.pending = null;
    if (!entry) return;
    const key = entry.draft.blocks.length || entry.subject ? JSON.stringify(entry) : "";
    if (key === this.stored) return;
    try {
      await saveDraft(entry);
      this.stored = key;
    } catch (error) {
      this.onError(error);
    }
  }

  /** After sending: forget any pending save and clear the stored draft. */
  async cleared(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.pending = null;
    if (this.stored === "") return;
    try {
      await saveDraft(this.entry({ blocks: [] }, null, null));
      this.stored = "";
    } catch (error) {
      this.onError(error);
    }
  }
}
