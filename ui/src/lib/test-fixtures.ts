// Builders for tests (not used by the app).
import type { ChannelDto, MessageDto, TeamDto } from "./bindings";

export function msg(id: string, createdAt: string, over: Partial<MessageDto> = {}): MessageDto {
  const rootId = over.key?.rootId ?? id;
  return {
    key: { channelId: "c1", rootId, id },
    kind: "message",
    createdAt,
    editedAt: null,
    deletedAt: null,
    subject: null,
    importance: "normal",
    fromId: "u1",
    fromName: "Ada Lovelace",
    mine: false,
    html: `<p>${id}</p>`,
    text: id,
    webUrl: null,
    mentionsMe: false,
    reactions: [],
    attachments: [],
    replyCount: 0,
    lastReplyAt: null,
    unread: false,
    pending: [],
    local: false,
    ...over,
  };
}

export function chan(id: string, teamId: string, over: Partial<ChannelDto> = {}): ChannelDto {
  return {
    id,
    teamId,
    name: id,
    description: null,
    membershipType: "standard",
    webUrl: null,
    followed: false,
    unread: 0,
    mentions: 0,
    lastActivity: null,
    notify: "all",
    ...over,
  };
}

export function team(id: string, channels: ChannelDto[]): TeamDto {
  return { id, name: id, description: null, channels };
}
