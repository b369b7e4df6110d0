// The chat client protocol (docs/protocol.md), generated from the crate chat-protocol
// by `make protocol`. Do not edit by hand.

export type RoomId = string;

export type UserId = string;

export type MessageId = string;

export type FileId = string;

export type Position = { 
/**
 * When the room's sequence began (milliseconds since 1970); 0 for a room without
 * any entry yet.
 */
epoch: number, 
/**
 * The entry's number within its epoch, from 1; 0 before the first entry.
 */
position: number, };

export type Timestamp = string;

export type ErrorCode = "unauthenticated" | "invalid_token" | "token_expired" | "invalid_credentials" | "invalid_refresh_token" | "refresh_token_reused" | "session_revoked" | "invalid_link" | "wrong_password" | "already_authenticated" | "malformed_json" | "malformed_frame" | "unknown_type" | "invalid_frame" | "invalid_body" | "invalid_query" | "validation_failed" | "empty_content" | "content_too_long" | "frame_too_large" | "payload_too_large" | "unsupported_media_type" | "file_too_large" | "image_too_large" | "invalid_image" | "not_an_image" | "range_not_satisfiable" | "push_disabled" | "not_found" | "method_not_allowed" | "room_not_found" | "user_not_found" | "member_not_found" | "message_not_found" | "file_not_found" | "not_a_member" | "forbidden" | "not_author" | "edit_window_closed" | "banned" | "user_banned" | "origin_not_allowed" | "username_taken" | "email_taken" | "direct_room" | "owner_must_transfer" | "too_many_reactions" | "message_deleted" | "conflict" | "rate_limited" | "too_many_attempts" | "unavailable" | "internal";

export type ErrorDetail = { code: ErrorCode, 
/**
 * Human-readable explanation; may change between versions.
 */
message: string, 
/**
 * Which input fields are wrong and why.
 */
fields?: { [key in string]: string }, 
/**
 * How long to wait before retrying (`rate_limited`).
 */
retry_after_ms?: number, };

export type ErrorBody = { error: ErrorDetail, };

export type MessageKind = "text" | "file" | "image";

export type ReactionView = { emoji: string, count: number, 
/**
 * The reader is among them (always false in live `message.created`: nobody has
 * reacted yet).
 */
me: boolean, };

export type ReplyPreview = { id: MessageId, sender_id: UserId, 
/**
 * The start of its content (100 characters at most); empty when deleted.
 */
excerpt: string, deleted: boolean, };

export type ThreadSummary = { 
/**
 * Replies not deleted.
 */
reply_count: number, last_reply_at: Timestamp | null, 
/**
 * Who replied, the first repliers first (at most 5).
 */
participants: Array<UserId>, };

export type MessageView = { id: MessageId, room_id: RoomId, sender_id: UserId, client_msg_id: string, 
/**
 * Empty when deleted.
 */
content: string, reply_to: MessageId | null, 
/**
 * What the message replied to says (with `reply_to`): as it was when this one was
 * sent in `message.created`, as it is now in pages and REST.
 */
reply_preview: ReplyPreview | null, kind: MessageKind, sent_at: Timestamp | null, edited_at: Timestamp | null, deleted_at: Timestamp | null, 
/**
 * Reactions by emoji, in the order first given (none on a deleted message).
 */
reactions: Array<ReactionView>, 
/**
 * The members it mentions by `@username`.
 */
mentions: Array<UserId>, 
/**
 * It mentions everyone in the room (`@room`).
 */
mentions_room: boolean, 
/**
 * The root message of the thread it replies in.
 */
thread_root: MessageId | null, 
/**
 * A thread's root: its replies so far (null when it has none).
 */
thread: ThreadSummary | null, 
/**
 * The files it carries (`kind` `file` or `image`), as they were when sent; none on
 * a deleted message. `url` and `thumbnail.url` are fetched with the access token.
 */
attachments?: Array<FileView>, 
/**
 * When the room's sequence began (milliseconds since 1970); 0 for a room without
 * any entry yet.
 */
epoch: number, 
/**
 * The entry's number within its epoch, from 1; 0 before the first entry.
 */
position: number, };

export type Ack = { client_msg_id: string, 
/**
 * The message id.
 */
id: MessageId, room: RoomId, sent_at: Timestamp, 
/**
 * True when this answers a retry of a send already accepted.
 */
duplicate: boolean, 
/**
 * When the room's sequence began (milliseconds since 1970); 0 for a room without
 * any entry yet.
 */
epoch: number, 
/**
 * The entry's number within its epoch, from 1; 0 before the first entry.
 */
position: number, };

export type SendMessage = { room_id: RoomId, 
/**
 * 1 to 4,000 characters (configurable), not only whitespace; may be empty (or left
 * out) when the message carries attachments.
 */
content: string, 
/**
 * Chosen by the client for each message: 1 to 64 of `A-Z a-z 0-9 _ -`. A retry
 * with the same id returns the original ack and stores nothing new.
 */
client_msg_id: string, reply_to?: MessageId, 
/**
 * Reply in the thread of this message (of the same room, not itself in a thread).
 */
thread_root?: MessageId, 
/**
 * Up to 10 of the sender's uploads (`POST /api/uploads`) not yet sent.
 */
attachments?: Array<FileId>, };

export type MessagesPage = { messages: Array<MessageView>, 
/**
 * Older messages exist before the first one.
 */
has_older: boolean, 
/**
 * Newer messages exist after the last one.
 */
has_newer: boolean, };

export type EditMessage = { 
/**
 * The same rules as a send's content.
 */
content: string, };

export type NewReaction = { 
/**
 * One Unicode emoji (a sequence, with skin tone or joiners, counts as one).
 */
emoji: string, };

export type Revision = { content: string, 
/**
 * When it was sent or edited.
 */
at: Timestamp | null, 
/**
 * When the room's sequence began (milliseconds since 1970); 0 for a room without
 * any entry yet.
 */
epoch: number, 
/**
 * The entry's number within its epoch, from 1; 0 before the first entry.
 */
position: number, };

export type RevisionList = { revisions: Array<Revision>, };

export type RoomKind = "public" | "private" | "direct";

export type Role = "member" | "admin" | "owner";

export type RoomDetails = { id: RoomId, kind: RoomKind | null, name: string, description: string | null, topic: string | null, owner_id: UserId | null, member_count: number, created_at: Timestamp | null, 
/**
 * Direct rooms only: the two users.
 */
direct_user_ids?: Array<UserId>, };

export type Registration = { 
/**
 * 3 to 32 characters of `a-z 0-9 _ . -`; uppercase `A-Z` is folded to lowercase
 * (`Alice` registers as `alice`, taken if `alice` is). Without a `display_name`, a
 * username typed with capitals becomes the display name as typed.
 */
username: string, email: string, 
/**
 * 8 to 128 characters.
 */
password: string, display_name?: string, 
/**
 * Keep the refresh token in a cookie instead of the body: see `Credentials`.
 */
refresh_cookie?: boolean, };

export type Credentials = { 
/**
 * Username or email.
 */
login: string, password: string, 
/**
 * For browsers: the refresh token is set as an `HttpOnly`, `SameSite=Strict` cookie
 * (`chat_refresh`, path `/api/auth`) instead of being returned in the body, so no
 * script can read it. `POST /api/auth/refresh` then reads it from the cookie.
 */
refresh_cookie?: boolean, };

export type RefreshGrant = { 
/**
 * Absent for a cookie session: the `chat_refresh` cookie is used instead (`{}`).
 */
refresh_token?: string, };

export type ProfileChanges = { display_name?: string, avatar_url?: string, bio?: string, 
/**
 * `false` hides the user's presence from everyone.
 */
show_presence?: boolean, 
/**
 * `false` stops showing the user's read positions to others (read receipts).
 */
send_read_receipts?: boolean, 
/**
 * The account's notification level: what rooms without their own level tell the
 * user while away (`mentions` at first). Direct rooms notify every message unless
 * this is `none`.
 */
notification_level?: NotificationLevel, };

export type User = { id: UserId, username: string, display_name: string | null, avatar_url: string | null, bio: string | null, created_at: Timestamp, 
/**
 * `GET /api/users/{id}` only: where the user is now.
 */
presence?: PresenceView, };

export type Me = { email: string, 
/**
 * Whether others see the user's presence; hidden, they look offline with no
 * last-seen time.
 */
show_presence: boolean, 
/**
 * Whether the other members of direct and small rooms see how far the user has read.
 */
send_read_receipts: boolean, 
/**
 * Whether `email` was confirmed by a mailed link (`POST /api/auth/email/verify`).
 */
email_verified: boolean, 
/**
 * The account's notification level (`PATCH /api/auth/me`); absent where not asked
 * (sign-in answers) or when the notifier cannot be reached.
 */
notification_level?: NotificationLevel, id: UserId, username: string, display_name: string | null, avatar_url: string | null, bio: string | null, created_at: Timestamp, 
/**
 * `GET /api/users/{id}` only: where the user is now.
 */
presence?: PresenceView, };

export type Session = { user: Me, 
/**
 * Short-lived JWT for `Authorization: Bearer`.
 */
access_token: string, 
/**
 * Single-use token for `POST /api/auth/refresh`; keep it secret. Absent for a cookie
 * session (`refresh_cookie`), where it travels as the `chat_refresh` cookie.
 */
refresh_token?: string, token_type: string, 
/**
 * Seconds until the access token expires.
 */
expires_in: number, };

export type UserList = { users: Array<User>, };

export type ForgotPassword = { 
/**
 * Username or email.
 */
login: string, };

export type PasswordReset = { 
/**
 * From the link in the mail (`#/reset-password/<token>`).
 */
token: string, 
/**
 * 8 to 128 characters.
 */
password: string, };

export type EmailChange = { email: string, password: string, };

export type EmailVerification = { 
/**
 * From the link in the mail (`#/verify-email/<token>`).
 */
token: string, };

export type EmailVerified = { email: string, email_verified: boolean, };

export type SessionView = { id: string, 
/**
 * The browser or client that signed in, as it named itself.
 */
user_agent: string, 
/**
 * The address it signed in from.
 */
ip_address: string, created_at: Timestamp | null, last_used_at: Timestamp | null, 
/**
 * This is the session of the request.
 */
current: boolean, };

export type SessionList = { sessions: Array<SessionView>, };

export type ReadState = { 
/**
 * The room's last stored entry.
 */
last_position: Position | null, 
/**
 * How far the caller has read (null: never).
 */
read_position: Position | null, 
/**
 * Messages of others after the read position, not deleted (at most 100).
 */
unread: number, 
/**
 * Of those, the ones mentioning the caller (at most 100).
 */
mentions: number, };

export type Room = { id: RoomId, kind: RoomKind, 
/**
 * Empty for direct rooms.
 */
name: string, description: string | null, topic: string | null, 
/**
 * Null for direct rooms, which have no owner.
 */
owner_id: UserId | null, member_count: number, created_at: Timestamp, 
/**
 * The caller's role; null when the caller is not a member (of a public room).
 */
my_role: Role | null, 
/**
 * Direct rooms only: the two users.
 */
direct_user_ids?: Array<UserId>, 
/**
 * `GET /api/rooms/mine` only: the room's newest message, when it has one.
 */
last_message?: MessageView, 
/**
 * `GET /api/rooms/mine` only: when the room last changed (its newest message, else
 * its creation), for ordering a room list.
 */
last_activity_at?: Timestamp, 
/**
 * `GET /api/rooms/mine` only: how far the caller has read, and what is left.
 */
read_state?: ReadState, };

export type RoomList = { rooms: Array<Room>, 
/**
 * Pass as `cursor` for the next page; null on the last page.
 */
next_cursor: string | null, };

export type MarkRead = { epoch: number, position: number, };

export type NewRoomKind = "public" | "private";

export type NewRoom = { 
/**
 * 1 to 80 characters, no control characters.
 */
name: string, 
/**
 * Up to 500 characters; line breaks allowed.
 */
description?: string, 
/**
 * Up to 500 characters; line breaks allowed.
 */
topic?: string, 
/**
 * Also accepted as `type`, its name before it matched the events' `kind`.
 */
kind: NewRoomKind, };

export type RoomChanges = { name?: string, description?: string, topic?: string, };

export type DirectRoomRequest = { user_id: UserId, };

export type Member = { user_id: UserId, role: Role, joined_at: Timestamp, 
/**
 * `GET /api/rooms/{id}/members` only: where the member is now.
 */
presence?: PresenceView, };

export type MemberList = { members: Array<Member>, 
/**
 * Pass as `cursor` for the next page; null on the last page.
 */
next_cursor: string | null, };

export type RoleChange = { 
/**
 * `owner` hands ownership over: the caller becomes an admin.
 */
role: Role, };

export type TargetUser = { user_id: UserId, };

export type NewBan = { user_id: UserId, 
/**
 * Absent: until unbanned. A ban whose end has passed keeps nobody out.
 */
until?: Timestamp, 
/**
 * Up to 500 characters.
 */
reason?: string, };

export type JsonWebKey = { 
/**
 * The `kid` header of the tokens this key verifies.
 */
kid: string, kty: string, alg: string, crv: string, 
/**
 * Base64url public key (the x coordinate for EC keys).
 */
x: string, 
/**
 * EC keys only.
 */
y?: string, use: string, };

export type JwkSet = { keys: Array<JsonWebKey>, };

export type HistoryCursor = string | number;

export type AuthFrame = { token?: string, 
/**
 * The last position the client saw, per room.
 */
resume?: { [key in RoomId]: Position }, };

export type SendFrame = { room: RoomId, 
/**
 * Chosen by the client; a retry with the same id is answered with the first `ack`.
 */
client_msg_id: string, 
/**
 * May be empty (or left out) when the message carries attachments.
 */
content: string, reply_to?: MessageId, 
/**
 * Reply in the thread of this message (of the same room, not itself in a thread).
 */
thread_root?: MessageId, 
/**
 * Up to 10 of the sender's uploads (`POST /api/uploads`) not yet sent.
 */
attachments?: Array<FileId>, };

export type HistoryFrame = { id: string, room: RoomId, 
/**
 * Messages before this position (exclusive).
 */
before?: HistoryCursor, 
/**
 * Messages after this position (exclusive).
 */
after?: HistoryCursor, 
/**
 * 1 to 100; 50 when absent.
 */
limit?: number, };

export type RoomRequest = { id: string, room: RoomId, };

export type PingFrame = { id?: string, };

export type TypingState = "start" | "stop";

export type TypingFrame = { room: RoomId, state: TypingState, };

export type ClientActivity = "active" | "idle";

export type PresenceFrame = { status: ClientActivity, };

export type PresenceSubscribeFrame = { user_ids: Array<UserId>, };

export type EditFrame = { id: string, message_id: MessageId, 
/**
 * The same rules as a send's content.
 */
content: string, };

export type DeleteFrame = { id: string, message_id: MessageId, };

export type ReactFrame = { id: string, message_id: MessageId, emoji: string, };

export type ReadFrame = { room: RoomId, 
/**
 * When the room's sequence began (milliseconds since 1970); 0 for a room without
 * any entry yet.
 */
epoch: number, 
/**
 * The entry's number within its epoch, from 1; 0 before the first entry.
 */
position: number, };

export type FocusFrame = { room?: RoomId, };

export type ClientFrame = { "type": "auth" } & AuthFrame | { "type": "send" } & SendFrame | { "type": "history" } & HistoryFrame | { "type": "join" } & RoomRequest | { "type": "leave" } & RoomRequest | { "type": "ping" } & PingFrame | { "type": "typing" } & TypingFrame | { "type": "presence" } & PresenceFrame | { "type": "presence.subscribe" } & PresenceSubscribeFrame | { "type": "edit" } & EditFrame | { "type": "delete" } & DeleteFrame | { "type": "react" } & ReactFrame | { "type": "unreact" } & ReactFrame | { "type": "read" } & ReadFrame | { "type": "search" } & SearchFrame | { "type": "focus" } & FocusFrame;

export type PresenceStatus = "online" | "away" | "offline";

export type PresenceView = { user_id: UserId, status: PresenceStatus, 
/**
 * When the user was last online; null while online or never seen.
 */
last_seen: Timestamp | null, };

export type PresenceQuery = { 
/**
 * Up to 500 user ids.
 */
user_ids: Array<UserId>, };

export type PresenceList = { users: Array<PresenceView>, };

export type UserRef = { id: UserId, };

export type Limits = { max_content_chars: number, max_frame_bytes: number, sends_per_second: number, };

export type RoomPosition = { id: RoomId, 
/**
 * How far the user has read (absent: never, or unknown right now).
 */
read_position?: Position, 
/**
 * Messages of others after the read position (at most 100: show "99+").
 */
unread: number, 
/**
 * Of those, the ones mentioning the user (`@username` or `@room`).
 */
mentions: number, 
/**
 * When the room's sequence began (milliseconds since 1970); 0 for a room without
 * any entry yet.
 */
epoch: number, 
/**
 * The entry's number within its epoch, from 1; 0 before the first entry.
 */
position: number, };

export type Ready = { protocol: number, connection_id: string, user: UserRef, heartbeat_interval_ms: number, 
/**
 * While the user writes, repeat `typing` `start` this often.
 */
typing_renew_ms: number, 
/**
 * A `typing` `start` not renewed within this long ends: the room is told `stop`.
 */
typing_timeout_ms: number, 
/**
 * `presence` frames come at most this often.
 */
presence_interval_ms: number, limits: Limits, rooms: Array<RoomPosition>, };

export type HistoryPage = { ref: string, room: RoomId, messages: Array<MessageView>, has_older: boolean, has_newer: boolean, };

export type Answer = { ref: string, room: RoomId, };

export type Done = { ref: string, message: MessageView, };

export type ReadMark = { room: RoomId, 
/**
 * When the room's sequence began (milliseconds since 1970); 0 for a room without
 * any entry yet.
 */
epoch: number, 
/**
 * The entry's number within its epoch, from 1; 0 before the first entry.
 */
position: number, };

export type MemberRead = { user_id: UserId, 
/**
 * When the room's sequence began (milliseconds since 1970); 0 for a room without
 * any entry yet.
 */
epoch: number, 
/**
 * The entry's number within its epoch, from 1; 0 before the first entry.
 */
position: number, };

export type RoomReads = { 
/**
 * Whether the room has read receipts at all (direct rooms and rooms up to the
 * configured size); when false, `reads` is empty and no `receipts` frames come.
 */
receipts: boolean, 
/**
 * Furthest first; members who turned receipts off are left out.
 */
reads: Array<MemberRead>, };

export type Receipts = { room: RoomId, reads: Array<MemberRead>, };

export type FileKind = "file" | "image";

export type ThumbnailView = { 
/**
 * `GET` it with the access token.
 */
url: string, width: number, height: number, };

export type FileView = { id: FileId, 
/**
 * The name it was uploaded with, without any directory.
 */
name: string, 
/**
 * Bytes (an image's as stored, without its metadata).
 */
size: number, 
/**
 * Detected from the bytes, not taken from the client.
 */
content_type: string, kind: FileKind, width?: number, height?: number, 
/**
 * `GET` it with the access token.
 */
url: string, thumbnail?: ThumbnailView, };

export type SearchQuery = { 
/**
 * 1 to 200 characters.
 */
q: string, 
/**
 * Only this room (the caller must be a member).
 */
room?: RoomId, 
/**
 * Only messages of this user.
 */
sender?: UserId, 
/**
 * Only messages sent before this time (RFC 3339).
 */
before?: Timestamp, 
/**
 * Only messages sent after this time (RFC 3339).
 */
after?: Timestamp, 
/**
 * `next_cursor` of the previous page.
 */
cursor?: string, 
/**
 * 1 to 50, default 20.
 */
limit?: number, };

export type SnippetPart = { text: string, matched: boolean, };

export type SearchHit = { message: MessageView, snippet: Array<SnippetPart>, };

export type SearchResults = { results: Array<SearchHit>, 
/**
 * The cursor of the next (older) page; null on the last.
 */
next_cursor: string | null, };

export type SearchFrame = { id: string, 
/**
 * 1 to 200 characters.
 */
q: string, 
/**
 * Only this room (the caller must be a member).
 */
room?: RoomId, 
/**
 * Only messages of this user.
 */
sender?: UserId, 
/**
 * Only messages sent before this time (RFC 3339).
 */
before?: Timestamp, 
/**
 * Only messages sent after this time (RFC 3339).
 */
after?: Timestamp, 
/**
 * `next_cursor` of the previous page.
 */
cursor?: string, 
/**
 * 1 to 50, default 20.
 */
limit?: number, };

export type SearchAnswer = { ref: string, results: Array<SearchHit>, 
/**
 * The cursor of the next (older) page; null on the last.
 */
next_cursor: string | null, };

export type NotificationLevel = "all" | "mentions" | "none";

export type RoomNotificationsUpdate = { 
/**
 * Absent or `null`: the default (the account's level; `all` in direct rooms unless
 * that is `none`).
 */
level?: NotificationLevel, 
/**
 * Nothing of this room until then (a time in the future); absent or `null`: not
 * muted.
 */
muted_until?: Timestamp, };

export type RoomNotifications = { room_id: RoomId, 
/**
 * The room's own level; absent when the default applies.
 */
level?: NotificationLevel, 
/**
 * Muted until then; absent when not muted (or the time has passed).
 */
muted_until?: Timestamp, 
/**
 * The level that applies now (the room's, else the default; `none` while muted).
 */
effective: NotificationLevel, };

export type PushConfig = { 
/**
 * Whether this server sends Web Push notifications at all.
 */
enabled: boolean, 
/**
 * The VAPID public key (RFC 8292): an uncompressed P-256 point, base64url without
 * padding, to pass as `applicationServerKey` to `PushManager.subscribe`.
 */
vapid_public_key?: string, };

export type PushKeys = { 
/**
 * The browser's P-256 public key, base64url (65 bytes decoded).
 */
p256dh: string, 
/**
 * The authentication secret, base64url (16 bytes decoded).
 */
auth: string, };

export type NewPushSubscription = { 
/**
 * The push service's URL for this browser (https).
 */
endpoint: string, keys: PushKeys, 
/**
 * When the browser says it expires (ms since 1970); kept for information.
 */
expirationTime?: number | null, };

export type PushEndpoint = { endpoint: string, };

export type PushSubscriptionView = { id: string, endpoint: string, created_at: Timestamp, };

export type PushNotification = { 
/**
 * Always `message`.
 */
type: string, room_id: RoomId, 
/**
 * The room's name (the other person's name for a direct room).
 */
room_name: string, 
/**
 * The newest message's id.
 */
message_id: MessageId, 
/**
 * Who wrote it (display name).
 */
sender_name: string, 
/**
 * The start of its text (or what it carries, `📎 file`).
 */
excerpt: string, 
/**
 * How many messages of the room this notification stands for (1 or more).
 */
count: number, 
/**
 * Whether one of them mentions the person.
 */
mention: boolean, sent_at: Timestamp, 
/**
 * Where clicking it leads, relative to the web client (`/#/rooms/<id>`).
 */
url: string, };

export type Resumed = { room: RoomId, 
/**
 * Entries sent in the catch-up.
 */
replayed: number, 
/**
 * When the room's sequence began (milliseconds since 1970); 0 for a room without
 * any entry yet.
 */
epoch: number, 
/**
 * The entry's number within its epoch, from 1; 0 before the first entry.
 */
position: number, };

export type ResyncReason = "epoch_changed" | "gap_unrecoverable";

export type Resync = { room: RoomId, reason: ResyncReason, 
/**
 * When the room's sequence began (milliseconds since 1970); 0 for a room without
 * any entry yet.
 */
epoch: number, 
/**
 * The entry's number within its epoch, from 1; 0 before the first entry.
 */
position: number, };

export type RoomAdded = { room: RoomId, kind?: RoomKind, 
/**
 * When the room's sequence began (milliseconds since 1970); 0 for a room without
 * any entry yet.
 */
epoch: number, 
/**
 * The entry's number within its epoch, from 1; 0 before the first entry.
 */
position: number, };

export type RemovalReason = "left" | "kicked" | "banned" | "deleted" | "not_a_member";

export type RoomRemoved = { room: RoomId, reason: RemovalReason, };

export type ReconnectReason = "shutdown";

export type Reconnect = { reason: ReconnectReason, retry_after_ms: number, };

export type ErrorFrame = { code: ErrorCode, message: string, 
/**
 * The request it answers (`client_msg_id` of a `send`, `id` of others).
 */
ref?: string, fields?: { [key in string]: string }, retry_after_ms?: number, };

export type Typing = { room: RoomId, user_id: UserId, state: TypingState, };

export type MessageCreated = { message: MessageView, };

export type MessageEdited = { message_id: MessageId, content: string, edited_at: Timestamp | null, 
/**
 * Who the new content mentions.
 */
mentions: Array<UserId>, mentions_room: boolean, };

export type MessageDeleted = { message_id: MessageId, deleted_at: Timestamp | null, };

export type ReactionChange = { message_id: MessageId, emoji: string, 
/**
 * Who reacted.
 */
user_id: UserId, };

export type MemberChange = { user_id: UserId, actor_id: UserId, role?: Role, 
/**
 * The end of a ban.
 */
until?: Timestamp, };

export type RoomChange = { actor_id: UserId, 
/**
 * The room as it is now; absent for `room.deleted`.
 */
details?: RoomDetails, };

export type ServerFrame = { "type": "ready" } & Ready | { "type": "auth.renewed", expires_at: Timestamp, } | { "type": "ack" } & Ack | { "type": "history" } & HistoryPage | { "type": "joined" } & Answer | { "type": "left" } & Answer | { "type": "pong", ref?: string, } | { "type": "resumed" } & Resumed | { "type": "resync" } & Resync | { "type": "room.added" } & RoomAdded | { "type": "room.removed" } & RoomRemoved | { "type": "reconnect" } & Reconnect | { "type": "error" } & ErrorFrame | { "type": "typing" } & Typing | { "type": "presence" } & PresenceList | { "type": "read" } & ReadMark | { "type": "receipts" } & Receipts | { "type": "search.results" } & SearchAnswer | { "type": "done" } & Done | { "type": "message.created" } & Entry<MessageCreated> | { "type": "message.edited" } & Entry<MessageEdited> | { "type": "message.deleted" } & Entry<MessageDeleted> | { "type": "reaction.added" } & Entry<ReactionChange> | { "type": "reaction.removed" } & Entry<ReactionChange> | { "type": "member.joined" } & Entry<MemberChange> | { "type": "member.left" } & Entry<MemberChange> | { "type": "member.invited" } & Entry<MemberChange> | { "type": "member.kicked" } & Entry<MemberChange> | { "type": "member.banned" } & Entry<MemberChange> | { "type": "member.unbanned" } & Entry<MemberChange> | { "type": "member.role_changed" } & Entry<MemberChange> | { "type": "room.created" } & Entry<RoomChange> | { "type": "room.updated" } & Entry<RoomChange> | { "type": "room.deleted" } & Entry<RoomChange>;

export type Entry<B> = { room: RoomId, 
/**
 * The entry's id (the message id for `message.created`).
 */
id: string, at: Timestamp | null, 
/**
 * When the room's sequence began (milliseconds since 1970); 0 for a room without
 * any entry yet.
 */
epoch: number, 
/**
 * The entry's number within its epoch, from 1; 0 before the first entry.
 */
position: number, } & B;

/** Why the server closes a socket: each reason's close code and text (docs/protocol.md, "Close codes"). */
export const Disconnect = {
  Normal: { code: 1000, reason: "bye" },
  MessageTooBig: { code: 1009, reason: "message too big" },
  PositionsUnavailable: { code: 1011, reason: "positions unavailable; reconnect and resume" },
  RoomsUnavailable: { code: 1011, reason: "rooms unavailable; reconnect and resume" },
  Restart: { code: 1012, reason: "the gateway is shutting down" },
  Busy: { code: 1013, reason: "the gateway is busy; reconnect later and resume" },
  AuthTimeout: { code: 4001, reason: "no auth frame in time" },
  AuthFirst: { code: 4001, reason: "the first frame must be auth" },
  TokenMissing: { code: 4001, reason: "the auth frame needs a token" },
  NoUser: { code: 4001, reason: "the token names no valid user" },
  OtherUser: { code: 4001, reason: "the token is for another user" },
  TokenRefused: { code: 4001, reason: "the token was refused" },
  TokenExpired: { code: 4002, reason: "the access token expired" },
  SlowConsumer: { code: 4003, reason: "slow consumer; reconnect and resume" },
  TooManyConnections: { code: 4004, reason: "too many connections for this user" },
  HeartbeatTimeout: { code: 4005, reason: "no answer to heartbeats" },
  SessionEnded: { code: 4001, reason: "the session ended (logged out)" },
} as const;
