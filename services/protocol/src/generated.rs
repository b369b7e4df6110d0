//! The JSON Schema and TypeScript declarations of the protocol, generated from these
//! types into `services/protocol/generated/` (`make protocol` writes them; a test fails
//! when they are stale), so the web client and other clients use the same definitions.

use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use ts_rs::{Config, TS};

use crate::account::{
    Credentials, EmailChange, EmailVerification, EmailVerified, ForgotPassword, Me, PasswordReset,
    ProfileChanges, RefreshGrant, Registration, Session, SessionList, SessionView, User, UserList,
};
use crate::client::{
    AuthFrame, ClientActivity, DeleteFrame, EditFrame, FocusFrame, HistoryCursor, HistoryFrame,
    PingFrame, PresenceFrame, PresenceSubscribeFrame, ReactFrame, ReadFrame, RoomRequest,
    SearchFrame, SendFrame, TypingFrame, TypingState,
};
use crate::error::{ErrorBody, ErrorCode, ErrorDetail};
use crate::file::{FileKind, FileView, ThumbnailView};
use crate::ids::{FileId, MessageId, RoomId, UserId};
use crate::keys::{JsonWebKey, JwkSet};
use crate::message::{
    Ack, EditMessage, MessageKind, MessageView, MessagesPage, NewReaction, ReactionView,
    ReplyPreview, Revision, RevisionList, SendMessage, ThreadSummary,
};
use crate::notification::{
    NewPushSubscription, NotificationLevel, PushConfig, PushEndpoint, PushKeys, PushNotification,
    PushSubscriptionView, RoomNotifications, RoomNotificationsUpdate,
};
use crate::position::Position;
use crate::presence::{PresenceList, PresenceQuery, PresenceStatus, PresenceView};
use crate::room::{
    DirectRoomRequest, MarkRead, Member, MemberList, MemberRead, NewBan, NewRoom, NewRoomKind,
    ReadState, Role, RoleChange, Room, RoomChanges, RoomDetails, RoomKind, RoomList, RoomReads,
    TargetUser,
};
use crate::search::{SearchHit, SearchQuery, SearchResults, SnippetPart};
use crate::server::{
    Answer, Done, Entry, ErrorFrame, HistoryPage, Limits, MemberChange, MessageCreated,
    MessageDeleted, MessageEdited, ReactionChange, ReadMark, Ready, Receipts, Reconnect,
    ReconnectReason, RemovalReason, Resumed, Resync, ResyncReason, RoomAdded, RoomChange,
    RoomPosition, RoomRemoved, SearchAnswer, Typing, UserRef,
};
use crate::timestamp::Timestamp;
use crate::{ClientFrame, Disconnect, ServerFrame};

/// Where the generated files live, relative to the repository's root.
pub const SCHEMA_PATH: &str = "services/protocol/generated/protocol.schema.json";
pub const TYPESCRIPT_PATH: &str = "services/protocol/generated/protocol.ts";

const HEADER: &str = "// The chat client protocol (docs/protocol.md), generated from the crate chat-protocol\n\
                      // by `make protocol`. Do not edit by hand.\n";

macro_rules! each_type {
    ($m:ident) => {
        $m!(
            RoomId,
            UserId,
            MessageId,
            FileId,
            Position,
            Timestamp,
            ErrorCode,
            ErrorDetail,
            ErrorBody,
            MessageKind,
            ReactionView,
            ReplyPreview,
            ThreadSummary,
            MessageView,
            Ack,
            SendMessage,
            MessagesPage,
            EditMessage,
            NewReaction,
            Revision,
            RevisionList,
            RoomKind,
            Role,
            RoomDetails,
            Registration,
            Credentials,
            RefreshGrant,
            ProfileChanges,
            User,
            Me,
            Session,
            UserList,
            ForgotPassword,
            PasswordReset,
            EmailChange,
            EmailVerification,
            EmailVerified,
            SessionView,
            SessionList,
            ReadState,
            Room,
            RoomList,
            MarkRead,
            NewRoomKind,
            NewRoom,
            RoomChanges,
            DirectRoomRequest,
            Member,
            MemberList,
            RoleChange,
            TargetUser,
            NewBan,
            JsonWebKey,
            JwkSet,
            HistoryCursor,
            AuthFrame,
            SendFrame,
            HistoryFrame,
            RoomRequest,
            PingFrame,
            TypingState,
            TypingFrame,
            ClientActivity,
            PresenceFrame,
            PresenceSubscribeFrame,
            EditFrame,
            DeleteFrame,
            ReactFrame,
            ReadFrame,
            FocusFrame,
            ClientFrame,
            PresenceStatus,
            PresenceView,
            PresenceQuery,
            PresenceList,
            UserRef,
            Limits,
            RoomPosition,
            Ready,
            HistoryPage,
            Answer,
            Done,
            ReadMark,
            MemberRead,
            RoomReads,
            Receipts,
            FileKind,
            ThumbnailView,
            FileView,
            SearchQuery,
            SnippetPart,
            SearchHit,
            SearchResults,
            SearchFrame,
            SearchAnswer,
            NotificationLevel,
            RoomNotificationsUpdate,
            RoomNotifications,
            PushConfig,
            PushKeys,
            NewPushSubscription,
            PushEndpoint,
            PushSubscriptionView,
            PushNotification,
            Resumed,
            ResyncReason,
            Resync,
            RoomAdded,
            RemovalReason,
            RoomRemoved,
            ReconnectReason,
            Reconnect,
            ErrorFrame,
            Typing,
            MessageCreated,
            MessageEdited,
            MessageDeleted,
            ReactionChange,
            MemberChange,
            RoomChange,
            ServerFrame
        )
    };
}

/// Every protocol type as TypeScript declarations.
pub fn typescript() -> String {
    let config = Config::new().with_large_int("number");
    let mut out = String::from(HEADER);
    macro_rules! declare {
        ($($ty:ty),*) => {
            $(
                out.push_str("\nexport ");
                out.push_str(&<$ty as TS>::decl(&config));
                out.push('\n');
            )*
        };
    }
    each_type!(declare);
    out.push_str("\nexport ");
    out.push_str(&<Entry<()> as TS>::decl(&config));
    out.push('\n');
    out.push_str(&close_codes());
    out
}

/// The close codes and reasons of [`Disconnect`], as a TypeScript constant.
fn close_codes() -> String {
    let mut out = String::from(
        "\n/** Why the server closes a socket: each reason's close code and text (docs/protocol.md, \"Close codes\"). */\nexport const Disconnect = {\n",
    );
    for reason in Disconnect::ALL {
        out.push_str(&format!(
            "  {reason:?}: {{ code: {}, reason: {:?} }},\n",
            reason.code(),
            reason.reason()
        ));
    }
    out.push_str("} as const;\n");
    out
}

/// Every protocol type as one JSON Schema document (draft 2020-12), each under `$defs`.
pub fn json_schema() -> String {
    let mut generator = SchemaGenerator::new(SchemaSettings::draft2020_12());
    macro_rules! define {
        ($($ty:ty),*) => {
            $( generator.subschema_for::<$ty>(); )*
        };
    }
    each_type!(define);
    let definitions: serde_json::Map<String, serde_json::Value> =
        generator.take_definitions(true).into_iter().collect();
    let document = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Chat client protocol",
        "description": "Every WebSocket frame and REST view of the chat gateway (docs/protocol.md). Generated from the crate chat-protocol.",
        "$defs": definitions,
    });
    let mut text = serde_json::to_string_pretty(&document).expect("schemas serialize");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn repository_root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// Fails when the committed files differ from what the types say; with
    /// `UPDATE_GENERATED=1` (what `make protocol` sets) it writes them instead.
    #[test]
    fn generated_files_are_current() {
        let root = repository_root();
        let mut stale = Vec::new();
        for (path, text) in [
            (SCHEMA_PATH, json_schema()),
            (TYPESCRIPT_PATH, typescript()),
        ] {
            let path = root.join(path);
            if std::env::var_os("UPDATE_GENERATED").is_some() {
                std::fs::write(&path, &text).expect("write the generated file");
                continue;
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed != text {
                stale.push(path.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "stale generated files (run `make protocol`): {stale:?}"
        );
    }
}
