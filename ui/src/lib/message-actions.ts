// What the message actions do (shared by the hover toolbar, the "…" menu and the keyboard).
import type { MessageDto } from "./bindings";
import { deleteMessage, openExternal, react, undeleteMessage, unreact } from "./ipc";
import { messages } from "./messages";
import { toggleAction } from "./reactions";
import { attempt, confirmAction, notify, reportError } from "./ui.svelte";

export async function requestDelete(message: MessageDto): Promise<void> {
  if (!message.mine || message.deletedAt) return;
  const ok = await confirmAction(messages.confirmDelete, messages.confirmDeleteBody, messages.delete);
  if (ok) await attempt(() => deleteMessage(message.key.channelId, message.key.id));
}

export async function undelete(message: MessageDto): Promise<void> {
  await attempt(() => undeleteMessage(message.key.channelId, message.key.id));
}

export async function toggleReaction(message: MessageDto, reaction: string): Promise<void> {
  const { channelId, id } = message.key;
  if (toggleAction(message.reactions, reaction) === "unreact") await attempt(() => unreact(channelId, id, reaction));
  else await attempt(() => react(channelId, id, reaction));
}

export async function copyLink(message: MessageDto): Promise<void> {
  if (!message.webUrl) return;
  try {
    await navigator.clipboard.writeText(message.webUrl);
    notify(messages.linkCopied);
  } catch (error) {
    reportError(error);
  }
}

export async function openInTeams(message: MessageDto): Promise<void> {
  if (message.webUrl) await attempt(() => openExternal(message.webUrl as string));
}

/** A DOM id fragment for a message (ids may hold any characters). */
export function domId(prefix: string, message: MessageDto): string {
  return `${prefix}-${message.key.id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}
