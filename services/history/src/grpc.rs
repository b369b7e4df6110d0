//! `chat.v1.HistoryService` over gRPC: stored room sequences and message pages.
//!
//! Limits follow one rule: 0 means "not given" (proto3 cannot tell them apart) and takes
//! the default. `ListEntriesAfter` caps larger limits at 1000, as its contract says;
//! `ListMessages` refuses a limit above 100 with `validation_failed`, since its contract
//! is a page of 1 to 100 and a silently shorter page would look like the end.

use chat_proto::v1::history_service_server::HistoryService;
use chat_proto::v1::{
    Attachments, EntryPage, FindSendRequest, FindSendResponse, GetMessagesRequest,
    GetMessagesResponse, LatestMessagesRequest, LatestMessagesResponse, LatestPositionRequest,
    LatestPositionResponse, ListEntriesAfterRequest, ListMessagesRequest, ListRevisionsRequest,
    ListRevisionsResponse, MarkReadRequest, MarkReadResponse, MemberRead, MessagePage,
    ReactionCount, ReadState, ReadStatesRequest, ReadStatesResponse, ReplyPreview, Revision,
    RoomItem, RoomReadsRequest, RoomReadsResponse, SearchHit, SearchMessagesRequest,
    SearchMessagesResponse, SnippetPart, StoredBeforeRequest, StoredBeforeResponse, StoredEntry,
    StoredMessage, ThreadSummary,
};
use prost::Message as _;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::entry::{Position, from_timestamp, to_timestamp};
use crate::error::{Error, FieldViolation};
use crate::search::{self, SearchQuery};
use crate::store::{MessageRow, PageBound, Scope, Store};

/// Most entries `ListEntriesAfter` returns at once (and its default).
pub const MAX_ENTRIES: u32 = 1000;
/// Most messages in one `ListMessages` page.
pub const MAX_MESSAGES: u32 = 100;
/// Messages in a `ListMessages` page when no limit is given.
pub const DEFAULT_MESSAGES: u32 = 50;

/// The gRPC service over the history store.
#[derive(Clone)]
pub struct History {
    store: Store,
}

impl History {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The messages as `viewer` sees them: with their reactions and what each reply
    /// answers, as it is now.
    async fn with_reactions(
        &self,
        rows: Vec<MessageRow>,
        viewer: Option<Uuid>,
    ) -> Result<Vec<StoredMessage>, Error> {
        let ids: Vec<Uuid> = rows
            .iter()
            .filter(|row| row.deleted_at.is_none())
            .map(|row| row.id)
            .collect();
        let mut reactions = self.store.reactions(&ids, viewer).await?;
        let targets: Vec<Uuid> = rows.iter().filter_map(|row| row.reply_to).collect();
        let previews = self.store.reply_previews(&targets).await?;
        let roots: Vec<Uuid> = rows
            .iter()
            .filter(|row| row.thread_root.is_none())
            .map(|row| row.id)
            .collect();
        let mut threads = self.store.threads(&roots).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let counts = reactions.remove(&row.id).unwrap_or_default();
                let preview = row.reply_to.map(|target| {
                    previews.get(&target).cloned().unwrap_or(ReplyPreview {
                        message_id: target.to_string(),
                        deleted: true,
                        ..ReplyPreview::default()
                    })
                });
                let thread = threads.remove(&row.id).map(|thread| ThreadSummary {
                    reply_count: thread.reply_count,
                    last_reply_at: Some(to_timestamp(thread.last_reply_at)),
                    participants: thread.participants.iter().map(Uuid::to_string).collect(),
                });
                let mut message = stored_message(row);
                message.reply_preview = preview;
                message.thread = thread;
                message.reactions = counts
                    .into_iter()
                    .map(|count| ReactionCount {
                        emoji: count.emoji,
                        count: count.count,
                        reacted: count.reacted,
                    })
                    .collect();
                message
            })
            .collect())
    }
}

/// An optional viewer id (empty: nobody).
fn viewer_id(value: &str) -> Result<Option<Uuid>, FieldViolation> {
    if value.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(value)
        .map(Some)
        .map_err(|_| ("viewer_id".to_owned(), "must be a UUID".to_owned()))
}

#[tonic::async_trait]
impl HistoryService for History {
    async fn list_entries_after(
        &self,
        request: Request<ListEntriesAfterRequest>,
    ) -> Result<Response<EntryPage>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let room_id = violations.check(room_id(&request.room_id));
        let after = violations.check(
            request
                .after
                .map_or(Ok(Position { epoch: 0, seq: 0 }), |after| {
                    position("after", after)
                }),
        );
        let (room_id, after) = violations.into_result(room_id.zip(after))?;
        let limit = match request.limit {
            0 => MAX_ENTRIES,
            limit => limit.min(MAX_ENTRIES),
        };
        let (rows, has_more) = self.store.entries_after(room_id, after, limit).await?;
        let entries = rows
            .into_iter()
            .map(|row| {
                let item = RoomItem::decode(row.item.as_slice()).map_err(|err| {
                    Error::Internal(anyhow::anyhow!(
                        "stored entry ({}, {}) of room {room_id} is unreadable: {err}",
                        row.epoch,
                        row.seq
                    ))
                })?;
                Ok(StoredEntry {
                    position: Some(
                        Position {
                            epoch: row.epoch,
                            seq: row.seq,
                        }
                        .to_wire(),
                    ),
                    item: Some(item),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Response::new(EntryPage { entries, has_more }))
    }

    async fn list_messages(
        &self,
        request: Request<ListMessagesRequest>,
    ) -> Result<Response<MessagePage>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let room_id = violations.check(room_id(&request.room_id));
        let bound = match (request.before, request.after) {
            (None, None) => Some(PageBound::Newest),
            (Some(before), None) => {
                violations.check(position("before", before).map(PageBound::Before))
            }
            (None, Some(after)) => violations.check(position("after", after).map(PageBound::After)),
            (Some(_), Some(_)) => violations.check(Err((
                "after".to_owned(),
                "give either before or after, not both".to_owned(),
            ))),
        };
        let limit = violations.check(match request.limit {
            0 => Ok(DEFAULT_MESSAGES),
            limit if limit > MAX_MESSAGES => Err((
                "limit".to_owned(),
                format!("must be between 1 and {MAX_MESSAGES}"),
            )),
            limit => Ok(limit),
        });
        let viewer = violations.check(viewer_id(&request.viewer_id));
        let scope = violations.check(match request.thread_root.as_deref() {
            Some(root) => Uuid::parse_str(root)
                .map(Scope::Thread)
                .map_err(|_| ("thread_root".to_owned(), "must be a UUID".to_owned())),
            None => Ok(Scope::Room {
                with_thread_replies: !request.without_thread_replies,
            }),
        });
        let ((((room_id, bound), limit), viewer), scope) =
            violations.into_result(room_id.zip(bound).zip(limit).zip(viewer).zip(scope))?;
        let page = self.store.messages(room_id, scope, bound, limit).await?;
        Ok(Response::new(MessagePage {
            messages: self.with_reactions(page.messages, viewer).await?,
            has_older: page.has_older,
            has_newer: page.has_newer,
        }))
    }

    async fn latest_messages(
        &self,
        request: Request<LatestMessagesRequest>,
    ) -> Result<Response<LatestMessagesResponse>, Status> {
        let request = request.into_inner();
        if request.room_ids.len() > MAX_LATEST_ROOMS {
            return Err(Error::invalid_field(
                "room_ids",
                format!("at most {MAX_LATEST_ROOMS} rooms"),
            )
            .into());
        }
        let rooms = request
            .room_ids
            .iter()
            .map(|id| room_id(id).map_err(|(_, why)| ("room_ids".to_owned(), why)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::from_violation)?;
        let messages = self.store.latest_messages(&rooms).await?;
        Ok(Response::new(LatestMessagesResponse {
            messages: messages.into_iter().map(stored_message).collect(),
        }))
    }

    async fn latest_position(
        &self,
        request: Request<LatestPositionRequest>,
    ) -> Result<Response<LatestPositionResponse>, Status> {
        let room_id = room_id(&request.into_inner().room_id).map_err(Error::from_violation)?;
        let position = self.store.latest_position(room_id).await?;
        Ok(Response::new(LatestPositionResponse {
            position: position.map(Position::to_wire),
        }))
    }

    async fn find_send(
        &self,
        request: Request<FindSendRequest>,
    ) -> Result<Response<FindSendResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let room_id = violations.check(room_id(&request.room_id));
        let sender_id = violations.check(
            Uuid::parse_str(&request.sender_id)
                .map_err(|_| ("sender_id".to_owned(), "must be a UUID".to_owned())),
        );
        let client_msg_id = violations.check(if request.client_msg_id.is_empty() {
            Err(("client_msg_id".to_owned(), "must not be empty".to_owned()))
        } else {
            Ok(request.client_msg_id)
        });
        let ((room_id, sender_id), client_msg_id) =
            violations.into_result(room_id.zip(sender_id).zip(client_msg_id))?;
        let row = self
            .store
            .find_send(room_id, sender_id, &client_msg_id)
            .await?;
        Ok(Response::new(FindSendResponse {
            message: row.map(stored_message),
        }))
    }

    async fn stored_before(
        &self,
        request: Request<StoredBeforeRequest>,
    ) -> Result<Response<StoredBeforeResponse>, Status> {
        let at = request
            .into_inner()
            .at
            .as_ref()
            .and_then(from_timestamp)
            .ok_or_else(|| {
                Error::from_violation(("at".to_owned(), "must be a valid time".to_owned()))
            })?;
        let any = self.store.stored_before(at).await?;
        Ok(Response::new(StoredBeforeResponse { any }))
    }

    async fn mark_read(
        &self,
        request: Request<MarkReadRequest>,
    ) -> Result<Response<MarkReadResponse>, Status> {
        let request = request.into_inner();
        let mut violations = Violations::default();
        let user = violations.check(
            Uuid::parse_str(&request.user_id)
                .map_err(|_| ("user_id".to_owned(), "must be a UUID".to_owned())),
        );
        let room = violations.check(room_id(&request.room_id));
        let at = violations.check(match request.position {
            Some(at) if at.epoch > 0 => position("position", at),
            _ => Err(("position".to_owned(), "must be a position".to_owned())),
        });
        let ((user, room), at) = violations.into_result(user.zip(room).zip(at))?;
        let (now, moved) = self.store.mark_read(user, room, at).await?;
        Ok(Response::new(MarkReadResponse {
            position: Some(now.to_wire()),
            moved,
        }))
    }

    async fn read_states(
        &self,
        request: Request<ReadStatesRequest>,
    ) -> Result<Response<ReadStatesResponse>, Status> {
        let request = request.into_inner();
        let user = Uuid::parse_str(&request.user_id).map_err(|_| {
            Error::from_violation(("user_id".to_owned(), "must be a UUID".to_owned()))
        })?;
        if request.room_ids.len() > MAX_READ_STATE_ROOMS {
            return Err(Error::invalid_field(
                "room_ids",
                format!("at most {MAX_READ_STATE_ROOMS} rooms"),
            )
            .into());
        }
        let rooms = request
            .room_ids
            .iter()
            .map(|id| room_id(id).map_err(|(_, why)| ("room_ids".to_owned(), why)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::from_violation)?;
        let rows = self.store.read_states(user, &rooms).await?;
        let wire = |epoch: Option<i64>, seq: Option<i64>| {
            Some(
                Position {
                    epoch: epoch?,
                    seq: seq?,
                }
                .to_wire(),
            )
        };
        Ok(Response::new(ReadStatesResponse {
            states: rows
                .into_iter()
                .map(|row| ReadState {
                    room_id: row.room_id.to_string(),
                    last: wire(row.last_epoch, row.last_seq),
                    read: wire(row.read_epoch, row.read_seq),
                    unread: u32::try_from(row.unread).unwrap_or(0),
                    mentions: u32::try_from(row.mentions).unwrap_or(0),
                })
                .collect(),
        }))
    }

    async fn room_reads(
        &self,
        request: Request<RoomReadsRequest>,
    ) -> Result<Response<RoomReadsResponse>, Status> {
        let request = request.into_inner();
        let room = room_id(&request.room_id).map_err(Error::from_violation)?;
        if request.user_ids.len() > MAX_READ_STATE_ROOMS {
            return Err(Error::invalid_field(
                "user_ids",
                format!("at most {MAX_READ_STATE_ROOMS} users"),
            )
            .into());
        }
        let users = request
            .user_ids
            .iter()
            .map(|id| {
                Uuid::parse_str(id).map_err(|_| ("user_ids".to_owned(), "must be UUIDs".to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::from_violation)?;
        let reads = self.store.room_reads(room, &users).await?;
        Ok(Response::new(RoomReadsResponse {
            reads: reads
                .into_iter()
                .map(|(user, at)| MemberRead {
                    user_id: user.to_string(),
                    position: Some(at.to_wire()),
                })
                .collect(),
        }))
    }

    async fn search_messages(
        &self,
        request: Request<SearchMessagesRequest>,
    ) -> Result<Response<SearchMessagesResponse>, Status> {
        let request = request.into_inner();
        let query = search_query(&request)?;
        let viewer = viewer_id(&request.viewer_id).map_err(Error::from_violation)?;
        let (hits, more) = self.store.search(&query).await?;
        let snippets: Vec<_> = hits.iter().map(|hit| hit.snippet.clone()).collect();
        let messages = self
            .with_reactions(hits.into_iter().map(|hit| hit.message).collect(), viewer)
            .await?;
        Ok(Response::new(SearchMessagesResponse {
            hits: messages
                .into_iter()
                .zip(snippets)
                .map(|(message, snippet)| SearchHit {
                    message: Some(message),
                    snippet: snippet
                        .into_iter()
                        .map(|(text, matched)| SnippetPart { text, matched })
                        .collect(),
                })
                .collect(),
            more,
        }))
    }

    async fn get_messages(
        &self,
        request: Request<GetMessagesRequest>,
    ) -> Result<Response<GetMessagesResponse>, Status> {
        let request = request.into_inner();
        if request.ids.len() > MAX_MESSAGES as usize {
            return Err(
                Error::invalid_field("ids", format!("at most {MAX_MESSAGES} messages")).into(),
            );
        }
        let ids = request
            .ids
            .iter()
            .map(|id| {
                Uuid::parse_str(id).map_err(|_| ("ids".to_owned(), "must be UUIDs".to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::from_violation)?;
        let viewer = viewer_id(&request.viewer_id).map_err(Error::from_violation)?;
        let messages = self.store.messages_by_id(&ids).await?;
        Ok(Response::new(GetMessagesResponse {
            messages: self.with_reactions(messages, viewer).await?,
        }))
    }

    async fn list_revisions(
        &self,
        request: Request<ListRevisionsRequest>,
    ) -> Result<Response<ListRevisionsResponse>, Status> {
        let id = Uuid::parse_str(&request.into_inner().message_id).map_err(|_| {
            Error::from_violation(("message_id".to_owned(), "must be a UUID".to_owned()))
        })?;
        let revisions = self.store.revisions(id).await?;
        Ok(Response::new(ListRevisionsResponse {
            revisions: revisions
                .into_iter()
                .map(|revision| Revision {
                    position: Some(revision.position.to_wire()),
                    content: revision.content,
                    at: revision.at,
                })
                .collect(),
        }))
    }
}

/// A search request, validated.
fn search_query(request: &SearchMessagesRequest) -> Result<SearchQuery, Error> {
    let mut violations = Violations::default();
    let text = request.query.trim();
    if text.is_empty() || text.chars().count() > search::MAX_QUERY_CHARS || text.contains('\0') {
        violations.check::<()>(Err((
            "q".to_owned(),
            format!(
                "must be 1 to {} characters, without NUL",
                search::MAX_QUERY_CHARS
            ),
        )));
    }
    if request.room_ids.len() > MAX_READ_STATE_ROOMS {
        violations.check::<()>(Err((
            "room_ids".to_owned(),
            format!("at most {MAX_READ_STATE_ROOMS} rooms"),
        )));
    }
    let rooms = violations.check(
        request
            .room_ids
            .iter()
            .map(|id| room_id(id))
            .collect::<Result<Vec<_>, _>>(),
    );
    let uuid = |field: &str, value: &Option<String>| match value {
        None => Ok(None),
        Some(id) => Uuid::parse_str(id)
            .map(Some)
            .map_err(|_| (field.to_owned(), "must be a UUID".to_owned())),
    };
    let sender = violations.check(uuid("sender", &request.sender_id));
    let older_than = violations.check(uuid("cursor", &request.older_than));
    let time = |field: &str, value: &Option<prost_types::Timestamp>| match value {
        None => Ok(None),
        Some(at) => from_timestamp(at)
            .map(Some)
            .ok_or_else(|| (field.to_owned(), "must be a valid time".to_owned())),
    };
    let before = violations.check(time("before", &request.before));
    let after = violations.check(time("after", &request.after));
    let limit = violations.check(match request.limit {
        0 => Ok(search::DEFAULT_LIMIT),
        limit if limit > search::MAX_LIMIT => Err((
            "limit".to_owned(),
            format!("must be between 1 and {}", search::MAX_LIMIT),
        )),
        limit => Ok(limit),
    });
    let validated = rooms
        .zip(sender)
        .zip(older_than)
        .zip(before)
        .zip(after)
        .zip(limit);
    let (((((rooms, sender), older_than), before), after), limit) =
        violations.into_result(validated)?;
    Ok(SearchQuery {
        text: text.to_owned(),
        rooms,
        sender,
        before,
        after,
        older_than,
        limit,
    })
}

/// The most rooms one `ReadStates` call takes, and users one `RoomReads` call.
const MAX_READ_STATE_ROOMS: usize = 1000;

/// The most rooms one `LatestMessages` call takes (a page of a room list).
const MAX_LATEST_ROOMS: usize = 100;

fn room_id(value: &str) -> Result<Uuid, FieldViolation> {
    Uuid::parse_str(value).map_err(|_| ("room_id".to_owned(), "must be a UUID".to_owned()))
}

fn position(field: &str, value: chat_proto::v1::Position) -> Result<Position, FieldViolation> {
    Position::from_wire(value.epoch, value.seq).ok_or_else(|| {
        (
            field.to_owned(),
            "epoch and seq must fit a signed 64-bit integer".to_owned(),
        )
    })
}

/// Every field violation of a request, so one answer names all of them.
#[derive(Default)]
struct Violations(Vec<FieldViolation>);

impl Violations {
    fn check<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        result.map_err(|violation| self.0.push(violation)).ok()
    }

    /// The validated request, or `validation_failed` naming every violation.
    fn into_result<T>(self, validated: Option<T>) -> Result<T, Error> {
        match validated {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(Error::Validation(self.0)),
        }
    }
}

fn stored_message(row: MessageRow) -> StoredMessage {
    StoredMessage {
        position: Some(row.position().to_wire()),
        id: row.id.to_string(),
        room_id: row.room_id.to_string(),
        sender_id: row.sender_id.to_string(),
        client_msg_id: row.client_msg_id,
        content: row.content,
        reply_to: row.reply_to.map(|id| id.to_string()),
        kind: i32::from(row.kind),
        sent_at: Some(to_timestamp(row.sent_at)),
        edited_at: row.edited_at.map(to_timestamp),
        deleted_at: row.deleted_at.map(to_timestamp),
        reactions: Vec::new(),
        reply_preview: None,
        mentions: row.mentions.iter().map(Uuid::to_string).collect(),
        mentions_room: row.mentions_room,
        thread_root: row.thread_root.map(|root| root.to_string()),
        thread: None,
        attachments: row
            .attachments
            .as_deref()
            .map(|bytes| Attachments::decode(bytes).unwrap_or_default().files)
            .unwrap_or_default(),
    }
}
