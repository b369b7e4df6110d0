//! The room mix: which users share which rooms, laid out deterministically from the
//! scenario, then created through the REST API before anyone connects.
//!
//! Direct rooms pair users 0-1, 2-3, ... and are found again by later runs (opening a
//! direct room twice gives the same room). Group rooms and the large room are made
//! fresh for each run, so no run inherits another's members or backlog, and are deleted
//! when it ends; their ids are also noted in a file so a run that crashed has its rooms
//! deleted by the next one.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chat_protocol::RoomId;
use futures::StreamExt;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::accounts::Account;
use crate::api::Api;
use crate::connection::Target;
use crate::scenario::{RoomMix, RoomType};

/// REST calls in flight while setting rooms up.
const CONCURRENCY: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoomKind {
    Direct,
    Group,
    Large,
}

/// A room of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    /// Nil until created.
    pub id: RoomId,
    pub kind: RoomKind,
    /// Its number among the run's rooms.
    pub slot: u32,
    /// User indexes; the first owns (or opened) the room.
    pub members: Vec<u32>,
}

/// The rooms for `users` users, by the mix. Every user is in its direct room (if any),
/// at most one group, and the large room when among its first `large` users.
pub fn layout(mix: &RoomMix, users: usize) -> Vec<Room> {
    let mut rooms = Vec::new();
    let mut add = |kind, members: Vec<u32>| {
        let slot = rooms.len() as u32;
        rooms.push(Room {
            id: RoomId::default(),
            kind,
            slot,
            members,
        });
    };
    if mix.direct {
        for pair in 0..users / 2 {
            add(RoomKind::Direct, vec![2 * pair as u32, 2 * pair as u32 + 1]);
        }
    }
    let [smallest, largest] = mix.group_size;
    let mut next = 0usize;
    for group in 0..mix.groups {
        let size = if mix.groups == 1 {
            (smallest + largest) / 2
        } else {
            smallest + (largest - smallest) * group / (mix.groups - 1)
        }
        .min(users);
        if size < 2 {
            continue;
        }
        let members = (0..size).map(|k| ((next + k) % users) as u32).collect();
        next = (next + size) % users;
        add(RoomKind::Group, members);
    }
    let large = mix.large.min(users);
    if large >= 2 {
        add(RoomKind::Large, (0..large as u32).collect());
    }
    rooms
}

/// The rooms each user is in, by user index.
pub fn rooms_of(rooms: &[Room], users: usize) -> Vec<Vec<(RoomId, RoomKind)>> {
    let mut by_user = vec![Vec::new(); users];
    for room in rooms {
        for &member in &room.members {
            if let Some(list) = by_user.get_mut(member as usize) {
                list.push((room.id, room.kind));
            }
        }
    }
    by_user
}

/// The members of the first `hot` group rooms: the users of a busy room.
pub fn hot_members(rooms: &[Room], hot: usize) -> HashSet<u32> {
    rooms
        .iter()
        .filter(|room| room.kind == RoomKind::Group)
        .take(hot)
        .flat_map(|room| room.members.iter().copied())
        .collect()
}

/// Creates the laid-out rooms and fills them; returns them with their ids.
pub async fn set_up(
    api: &Api,
    accounts: &[Account],
    mut rooms: Vec<Room>,
    run: &str,
    group_type: RoomType,
    progress: &ProgressBar,
) -> anyhow::Result<Vec<Room>> {
    let account = |index: u32| &accounts[index as usize];
    // Rooms first (each by its first member), then the other members.
    let created: Vec<anyhow::Result<RoomId>> = futures::stream::iter(rooms.iter())
        .map(|room| async move {
            let owner = account(room.members[0]);
            let id = match room.kind {
                RoomKind::Direct => {
                    let other = account(room.members[1]);
                    api.open_direct(&owner.access_token, other.user_id).await
                }
                RoomKind::Group => {
                    let name = format!("lt {run} group {}", room.slot);
                    api.create_room(&owner.access_token, &name, group_type.as_str())
                        .await
                }
                RoomKind::Large => {
                    let name = format!("lt {run} large");
                    api.create_room(&owner.access_token, &name, "public").await
                }
            };
            progress.inc(1);
            id.with_context(|| format!("creating {:?} room {}", room.kind, room.slot))
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    for (room, id) in rooms.iter_mut().zip(created) {
        room.id = id?;
    }

    let joins: Vec<(RoomId, RoomKind, u32, u32)> = rooms
        .iter()
        .filter(|room| room.kind != RoomKind::Direct)
        .flat_map(|room| {
            room.members[1..]
                .iter()
                .map(|&member| (room.id, room.kind, room.members[0], member))
        })
        .collect();
    progress.inc_length(joins.len() as u64);
    let mut results = futures::stream::iter(joins)
        .map(|(room, kind, owner, member)| async move {
            let result = if kind == RoomKind::Group && group_type == RoomType::Private {
                api.invite(&account(owner).access_token, room, account(member).user_id)
                    .await
            } else {
                api.join_room(&account(member).access_token, room).await
            };
            progress.inc(1);
            result.with_context(|| format!("adding user {member} to room {room}"))
        })
        .buffer_unordered(CONCURRENCY);
    while let Some(result) = results.next().await {
        result?;
    }
    Ok(rooms)
}

/// Rooms a run created and has not deleted yet (`<out>/rooms/<host>_<port>.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Leftovers {
    /// Room id and the account index of its owner.
    pub rooms: Vec<(RoomId, u32)>,
}

impl Leftovers {
    pub fn path_for(out: &Path, target: &Target) -> PathBuf {
        let host = target
            .api
            .host_str()
            .unwrap_or("stack")
            .replace([':', '[', ']'], "_");
        let port = target.api.port_or_known_default().unwrap_or(0);
        out.join("rooms").join(format!("{host}_{port}.json"))
    }

    pub fn load(path: &Path) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_vec(self)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// The group and large rooms of a run.
    pub fn of(rooms: &[Room]) -> Self {
        Self {
            rooms: rooms
                .iter()
                .filter(|room| room.kind != RoomKind::Direct)
                .map(|room| (room.id, room.members[0]))
                .collect(),
        }
    }

    /// Deletes the rooms (each by its owner); returns how many are gone. Rooms already
    /// gone count as deleted.
    pub async fn delete(&self, api: &Api, accounts: &[Account]) -> usize {
        futures::stream::iter(&self.rooms)
            .map(|&(room, owner)| async move {
                let Some(owner) = accounts.get(owner as usize) else {
                    return false;
                };
                match api.delete_room(&owner.access_token, room).await {
                    Ok(()) => true,
                    Err(err) => err.status == Some(404),
                }
            })
            .buffer_unordered(CONCURRENCY)
            .filter(|deleted| std::future::ready(*deleted))
            .count()
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn mix(direct: bool, groups: usize, group_size: [usize; 2], large: usize) -> RoomMix {
        RoomMix {
            direct,
            groups,
            group_size,
            large,
            ..RoomMix::default()
        }
    }

    #[test]
    fn the_busy_rooms_are_the_first_groups() {
        let rooms = layout(&mix(true, 4, [3, 3], 0), 12);
        let hot = hot_members(&rooms, 2);
        let expected: HashSet<u32> = (0..6).collect();
        assert_eq!(hot, expected, "the direct rooms do not count");
        assert!(hot_members(&rooms, 0).is_empty());
    }

    #[test]
    fn everyone_gets_a_partner_groups_spread_and_the_large_room_takes_the_first() {
        let rooms = layout(&mix(true, 3, [10, 50], 100), 1000);

        let direct: Vec<_> = rooms
            .iter()
            .filter(|r| r.kind == RoomKind::Direct)
            .collect();
        assert_eq!(direct.len(), 500);
        assert_eq!(direct[7].members, vec![14, 15]);

        let sizes: Vec<_> = rooms
            .iter()
            .filter(|r| r.kind == RoomKind::Group)
            .map(|r| r.members.len())
            .collect();
        assert_eq!(sizes, vec![10, 30, 50]);

        let large = rooms
            .iter()
            .find(|r| r.kind == RoomKind::Large)
            .expect("large room");
        assert_eq!(large.members, (0..100).collect::<Vec<_>>());

        let slots: HashSet<_> = rooms.iter().map(|r| r.slot).collect();
        assert_eq!(slots.len(), rooms.len(), "slots are unique");
    }

    #[test]
    fn groups_wrap_around_without_repeating_a_member() {
        let rooms = layout(&mix(false, 2, [4, 4], 0), 6);

        assert_eq!(rooms[0].members, vec![0, 1, 2, 3]);
        assert_eq!(rooms[1].members, vec![4, 5, 0, 1]);
    }

    #[test]
    fn tiny_runs_get_no_impossible_rooms() {
        let rooms = layout(&mix(true, 2, [10, 50], 100), 3);

        assert_eq!(
            rooms.iter().filter(|r| r.kind == RoomKind::Direct).count(),
            1
        );
        for room in &rooms {
            let members: HashSet<_> = room.members.iter().collect();
            assert_eq!(members.len(), room.members.len());
            assert!(room.members.iter().all(|m| *m < 3));
        }
    }

    #[test]
    fn rooms_of_lists_each_users_rooms() {
        let rooms = layout(&mix(true, 1, [3, 3], 2), 4);
        let by_user = rooms_of(&rooms, 4);

        let kinds = |user: usize| -> Vec<RoomKind> { by_user[user].iter().map(|r| r.1).collect() };
        assert_eq!(
            kinds(0),
            vec![RoomKind::Direct, RoomKind::Group, RoomKind::Large]
        );
        assert_eq!(kinds(3), vec![RoomKind::Direct]);
    }
}
