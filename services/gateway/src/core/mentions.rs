//! Mentions in what people write: `@username` of a member of the room, and `@room` for
//! everyone in it. Resolved when a message is sent or edited (a name that is nobody, or
//! somebody outside the room, mentions no one) and stored with the message, so counts and
//! notifications never parse content again.

use chat_proto::v1::GetUsersRequest;
use uuid::Uuid;

use crate::core::clients::AuthClient;
use crate::core::memberships::{Membership, Memberships};

/// The most people one message mentions by name (more names are plain text).
pub const MAX_MENTIONS: usize = 20;

/// Who a message mentions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentioned {
    pub users: Vec<Uuid>,
    /// `@room`: everyone in the room.
    pub room: bool,
}

/// Resolves mentions against auth and the room's members. Cheap to clone.
#[derive(Clone)]
pub struct Mentions {
    auth: AuthClient,
    memberships: Memberships,
}

impl Mentions {
    pub fn new(auth: AuthClient, memberships: Memberships) -> Self {
        Self { auth, memberships }
    }

    /// Who `content`, written in `room`, mentions. Best effort: when a lookup fails the
    /// message still goes, mentioning fewer people.
    pub async fn resolve(&self, room: Uuid, content: &str) -> Mentioned {
        let (names, everyone) = parse(content);
        let mut mentioned = Mentioned {
            users: Vec::new(),
            room: everyone,
        };
        if names.is_empty() {
            return mentioned;
        }
        let users = match self
            .auth
            .clone()
            .get_users(GetUsersRequest {
                user_ids: Vec::new(),
                usernames: names,
            })
            .await
        {
            Ok(found) => found.into_inner().users,
            Err(status) => {
                tracing::warn!(error = %status, "mentions not resolved");
                return mentioned;
            }
        };
        for user in users {
            let Ok(id) = user.id.parse::<Uuid>() else {
                continue;
            };
            if let Ok(Membership::Member(_)) = self.memberships.check(room, id).await {
                mentioned.users.push(id);
            }
        }
        mentioned
    }
}

/// The usernames (lowercase, each once, at most [`MAX_MENTIONS`]) a text mentions, and
/// whether it mentions `@room`. A mention starts with `@` at the start of the text or
/// after a character that cannot be part of a name or an email address.
pub fn parse(content: &str) -> (Vec<String>, bool) {
    let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let mut names: Vec<String> = Vec::new();
    let mut room = false;
    let mut previous: Option<char> = None;
    for (at, c) in content.char_indices() {
        let starts = c == '@' && previous.is_none_or(|p| !(name_char(p) || p == '@'));
        previous = Some(c);
        if !starts {
            continue;
        }
        let rest = &content[at + 1..];
        let len = rest.find(|c: char| !name_char(c)).unwrap_or(rest.len());
        // A name does not end with a full stop or a dash: "thanks @ada." names "ada".
        let name = rest[..len]
            .trim_end_matches(['.', '-'])
            .to_ascii_lowercase();
        if name == "room" {
            room = true;
        } else if (3..=32).contains(&name.len())
            && !names.contains(&name)
            && names.len() < MAX_MENTIONS
        {
            names.push(name);
        }
    }
    (names, room)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_after_an_at_sign_are_mentions_and_emails_are_not() {
        let (names, room) = parse("@Ada and @grace.hopper, see ada@example.com; thanks @bob.");
        assert_eq!(names, ["ada", "grace.hopper", "bob"]);
        assert!(!room);
        let (names, room) = parse("(@room) heads up, @ab is too short, @@ada is not one");
        assert!(names.is_empty(), "{names:?}");
        assert!(room);
        let (names, _) = parse("@ada @ADA @ada");
        assert_eq!(names, ["ada"]);
        let many: String = (0..30).map(|n| format!("@user{n:02} ")).collect();
        assert_eq!(parse(&many).0.len(), MAX_MENTIONS);
    }
}
