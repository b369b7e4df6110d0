//! Reactions: a member adds an emoji to a message, or takes it back. Each is a room entry
//! (`reaction.added`, `reaction.removed`) sequenced like a message; history keeps one
//! reaction per (message, user, emoji) and counts them in every message view.
//!
//! Emoji are Unicode emoji (sequences included: skin tones, joiners, flags), stored in
//! their fully-qualified form, so `❤` and `❤️` are one reaction. A message takes at most
//! [`MAX_REACTIONS`] different emoji. Giving a reaction one already gave, or taking back
//! one not given, changes nothing and answers the message as it is; a change marked in
//! Redis (`chat_bus::ChangeMarks`) makes a double click one entry even before history
//! stored the first.

use std::time::SystemTime;

use chat_bus::ChangeMarks;
use chat_proto::v1::room_item::Body;
use chat_proto::v1::{self as proto, RoomItem};
use chat_protocol::MessageView;
use chat_protocol::message::ReactionView;
use uuid::Uuid;

use crate::core::message_changes::{ChangeError, MessageChanges};
use crate::core::messages::Messages;
use crate::core::render;

/// The most different emoji one message takes.
pub const MAX_REACTIONS: usize = 50;

/// Adds and removes reactions. Cheap to clone.
#[derive(Clone)]
pub struct Reactions {
    messages: Messages,
    changes: MessageChanges,
    marks: ChangeMarks,
}

impl Reactions {
    pub fn new(messages: Messages, changes: MessageChanges, marks: ChangeMarks) -> Self {
        Self {
            messages,
            changes,
            marks,
        }
    }

    /// `user` reacts to message `id` with `emoji` (`added`), or takes it back.
    #[tracing::instrument(name = "messages.react", skip(self))]
    pub async fn set(
        &self,
        user: Uuid,
        id: Uuid,
        emoji: &str,
        added: bool,
    ) -> Result<MessageView, ChangeError> {
        let emoji = normalize(emoji)?;
        let (stored, _) = self.changes.readable(user, id).await?;
        if stored.deleted_at.is_some() {
            return Err(ChangeError::Deleted);
        }
        let mut view = render::stored_message(stored.clone()).ok_or(ChangeError::Unavailable)?;
        let given = view.reactions.iter().any(|r| r.emoji == emoji && r.me);
        if added
            && !view.reactions.iter().any(|r| r.emoji == emoji)
            && view.reactions.len() >= MAX_REACTIONS
        {
            return Err(ChangeError::TooManyReactions);
        }
        let (room, message, actor) = (stored.room_id.as_str(), id.to_string(), user.to_string());
        let before = self
            .marks
            .swap_reaction(room, &message, &actor, &emoji, added)
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, "cannot mark the reaction");
                ChangeError::Unavailable
            })?;
        // What holds now: the mark of a change history may not show yet, else history.
        let already = before.unwrap_or(given);
        if already == added {
            adjust(&mut view.reactions, &emoji, added, given);
            return Ok(view);
        }
        let now = prost_types::Timestamp::from(SystemTime::now());
        let item = RoomItem {
            id: Uuid::now_v7().to_string(),
            room_id: stored.room_id.clone(),
            actor_id: actor.clone(),
            occurred_at: Some(now),
            body: Some(Body::Reaction(proto::ReactionChanged {
                message_id: message.clone(),
                emoji: emoji.clone(),
                added,
            })),
        };
        if self.messages.append_durably(&item).await.is_err() {
            if let Err(err) = self
                .marks
                .forget_reaction(room, &message, &actor, &emoji)
                .await
            {
                tracing::warn!(error = %err, "cannot take the reaction mark back");
            }
            return Err(ChangeError::Unavailable);
        }
        adjust(&mut view.reactions, &emoji, added, given);
        Ok(view)
    }
}

/// The reactions of a message once the reader's reaction `emoji` is `added` (or not),
/// from the counts history gave (`given`: the reader's reaction among them).
fn adjust(reactions: &mut Vec<ReactionView>, emoji: &str, added: bool, given: bool) {
    let delta: i64 = match (given, added) {
        (false, true) => 1,
        (true, false) => -1,
        _ => 0,
    };
    match reactions.iter_mut().position(|r| r.emoji == emoji) {
        Some(at) => {
            let reaction = &mut reactions[at];
            reaction.count = u32::try_from(i64::from(reaction.count) + delta).unwrap_or(0);
            reaction.me = added;
            if reaction.count == 0 {
                reactions.remove(at);
            }
        }
        None if added => reactions.push(ReactionView {
            emoji: emoji.to_owned(),
            count: 1,
            me: true,
        }),
        None => {}
    }
}

/// The fully-qualified form of one Unicode emoji, or why it is not one.
pub fn normalize(emoji: &str) -> Result<String, ChangeError> {
    let trimmed = emoji.trim();
    emojis::get(trimmed)
        .or_else(|| emojis::get(&trimmed.replace('\u{fe0f}', "")))
        .map(|found| found.as_str().to_owned())
        .ok_or_else(|| ChangeError::InvalidEmoji(format!("`{}` is not one emoji", short(trimmed))))
}

fn short(text: &str) -> String {
    text.chars().take(16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_are_stored_fully_qualified_and_anything_else_is_refused() {
        assert_eq!(normalize("👍").unwrap(), "👍");
        assert_eq!(normalize("❤").unwrap(), "❤\u{fe0f}");
        assert_eq!(normalize("❤\u{fe0f}").unwrap(), "❤\u{fe0f}");
        assert_eq!(normalize("👍🏽").unwrap(), "👍🏽");
        assert_eq!(normalize("🏳️‍🌈").unwrap(), "🏳\u{fe0f}\u{200d}🌈");
        assert_eq!(normalize("🇫🇷").unwrap(), "🇫🇷");
        for bad in ["", "a", "👍👍", ":thumbsup:", "\u{0}", "👍 x"] {
            assert!(normalize(bad).is_err(), "{bad:?}");
        }
    }

    fn reaction(emoji: &str, count: u32, me: bool) -> ReactionView {
        ReactionView {
            emoji: emoji.to_owned(),
            count,
            me,
        }
    }

    #[test]
    fn the_readers_change_moves_the_counts_once() {
        let mut reactions = vec![reaction("👍", 2, false)];
        adjust(&mut reactions, "👍", true, false);
        assert_eq!(reactions, [reaction("👍", 3, true)]);
        adjust(&mut reactions, "🎉", true, false);
        assert_eq!(reactions[1], reaction("🎉", 1, true));
        let mut mine = vec![reaction("👍", 1, true)];
        adjust(&mut mine, "👍", false, true);
        assert!(mine.is_empty());
        let mut already = vec![reaction("👍", 1, true)];
        adjust(&mut already, "👍", true, true);
        assert_eq!(already, [reaction("👍", 1, true)]);
    }
}
