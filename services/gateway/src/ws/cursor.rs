//! Where a socket stands in each room, and what to do with the next entry: the heart of
//! exact delivery. Pure functions, so every case is a row of a table test.
//!
//! A socket keeps, per room, the last position it delivered (its cursor). An entry is
//! written only when it is the next one; an entry further ahead means something was
//! missed, which is filled (from the stream or history) before it; an entry at or below
//! the cursor is dropped, so nothing is delivered twice; an entry of another epoch
//! (higher or lower) is checked against Redis by the same fill, which announces a real
//! epoch change with `resync`. Resume, gaps and Redis restarts all take this one path.

use chat_protocol::Position;

/// What to do with a live entry at `entry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// It is the next one: write it.
    Deliver,
    /// Already delivered, or for a room the socket is not in: drop it.
    Drop,
    /// Something before it was missed: fill up to `through` first, then look again.
    Fill { through: Position },
}

/// What a live entry at `entry` means for a socket whose cursor in its room is `cursor`
/// (`None`: the socket is not in the room, or was just taken out of it).
pub fn on_entry(cursor: Option<Position>, entry: Position) -> Next {
    let Some(cursor) = cursor else {
        return Next::Drop;
    };
    if cursor.epoch == entry.epoch && entry.seq <= cursor.seq {
        return Next::Drop;
    }
    if follows(cursor, entry) {
        return Next::Deliver;
    }
    // A gap, or another epoch (higher, or lower after a Redis restored on a host whose
    // clock is behind): Redis says what is true, and the missed entries (or a resync)
    // come first. A stale entry of an old epoch ends up dropped.
    Next::Fill {
        through: entry.previous(),
    }
}

/// Whether `entry` comes right after `cursor`.
pub fn follows(cursor: Position, entry: Position) -> bool {
    (cursor.epoch == entry.epoch && entry.seq == cursor.seq + 1)
        || (cursor.is_nothing() && entry.seq == 1)
}

/// What a `resume` from `from` means when the room stands at `current`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// The client has everything.
    UpToDate,
    /// Send what follows `from`, up to `through`.
    Fill { through: Position },
    /// `from` is not a position this room had or has: tell the client where it stands.
    Resync,
}

/// Checks a client's resume position against the room's current one.
pub fn on_resume(from: Position, current: Position) -> Resume {
    if from == current {
        return Resume::UpToDate;
    }
    if from.epoch == 0 && from.seq != 0 {
        // No epoch is 0: not a position this room ever had.
        return Resume::Resync;
    }
    if from.epoch == current.epoch && from.seq > current.seq {
        // Ahead of the room: following it would swallow the room's next entries.
        return Resume::Resync;
    }
    Resume::Fill { through: current }
}

/// How many entries a fill from `cursor` still wants: `None` once `through` is reached,
/// `Some(None)` for "a page" (another epoch, or no bound).
pub fn still_wanted(cursor: Position, through: Option<Position>) -> Option<Option<u64>> {
    match through {
        Some(through) if through.epoch == cursor.epoch && cursor.seq >= through.seq => None,
        Some(through) if through.epoch == cursor.epoch || cursor.epoch == 0 => {
            Some(Some(through.seq.saturating_sub(cursor.seq)))
        }
        _ => Some(None),
    }
}

/// Whether a filled entry at `entry` lies beyond `through` (and so belongs to live
/// delivery, not to this fill).
pub fn beyond(entry: Position, through: Option<Position>) -> bool {
    through.is_some_and(|through| entry.epoch == through.epoch && entry.seq > through.seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn at(epoch: u64, seq: u64) -> Position {
        Position::new(epoch, seq)
    }

    #[test]
    fn live_entries() {
        let cases = [
            // (case, cursor, entry, expected)
            ("the next one", Some(at(5, 7)), at(5, 8), Next::Deliver),
            ("a duplicate", Some(at(5, 7)), at(5, 7), Next::Drop),
            ("a stale one", Some(at(5, 7)), at(5, 3), Next::Drop),
            (
                "a gap",
                Some(at(5, 7)),
                at(5, 10),
                Next::Fill { through: at(5, 9) },
            ),
            (
                "the epoch moved up",
                Some(at(5, 7)),
                at(6, 1),
                Next::Fill { through: at(6, 0) },
            ),
            (
                "the epoch moved down",
                Some(at(5, 7)),
                at(4, 9),
                Next::Fill { through: at(4, 8) },
            ),
            (
                "nothing seen yet, the first",
                Some(Position::NOTHING),
                at(5, 1),
                Next::Deliver,
            ),
            (
                "nothing seen yet, a later one",
                Some(Position::NOTHING),
                at(5, 4),
                Next::Fill { through: at(5, 3) },
            ),
            ("a room removed from the socket", None, at(5, 8), Next::Drop),
        ];
        for (case, cursor, entry, expected) in cases {
            assert_eq!(on_entry(cursor, entry), expected, "{case}");
        }
    }

    #[test]
    fn resumes() {
        let cases = [
            ("up to date", at(5, 7), at(5, 7), Resume::UpToDate),
            (
                "behind",
                at(5, 3),
                at(5, 7),
                Resume::Fill { through: at(5, 7) },
            ),
            (
                "nothing seen yet",
                Position::NOTHING,
                at(5, 7),
                Resume::Fill { through: at(5, 7) },
            ),
            ("ahead of the room", at(5, 55), at(5, 5), Resume::Resync),
            ("an epoch of 0", at(0, 3), at(5, 5), Resume::Resync),
            (
                "another epoch",
                at(4, 9),
                at(5, 2),
                Resume::Fill { through: at(5, 2) },
            ),
            (
                "a room without entries in Redis",
                at(5, 3),
                Position::NOTHING,
                Resume::Fill {
                    through: Position::NOTHING,
                },
            ),
        ];
        for (case, from, current, expected) in cases {
            assert_eq!(on_resume(from, current), expected, "{case}");
        }
    }

    #[test]
    fn fills_stop_at_their_bound() {
        assert_eq!(still_wanted(at(5, 7), Some(at(5, 7))), None);
        assert_eq!(still_wanted(at(5, 9), Some(at(5, 7))), None);
        assert_eq!(still_wanted(at(5, 3), Some(at(5, 7))), Some(Some(4)));
        assert_eq!(
            still_wanted(Position::NOTHING, Some(at(5, 7))),
            Some(Some(7))
        );
        assert_eq!(still_wanted(at(4, 3), Some(at(5, 7))), Some(None));
        assert_eq!(still_wanted(at(5, 3), None), Some(None));

        assert!(beyond(at(5, 8), Some(at(5, 7))));
        assert!(!beyond(at(5, 7), Some(at(5, 7))));
        assert!(!beyond(at(6, 9), Some(at(5, 7))));
        assert!(!beyond(at(5, 99), None));
    }

    /// A socket fed a room's live entries as pub/sub delivers them (late, twice, out of
    /// order, some lost), filling gaps from the room's truth the way the delivery loop
    /// does with these functions, across epoch changes.
    mod delivery {
        use proptest::prelude::*;

        use super::*;

        /// What a socket wrote, in order: entries, and `None` for a `resync`.
        fn run(epochs: &[u64], arrivals: &[usize]) -> Vec<Option<Position>> {
            let truth: Vec<Position> = epochs
                .iter()
                .enumerate()
                .flat_map(|(i, len)| (1..=*len).map(move |seq| at(1000 * (i as u64 + 1), seq)))
                .collect();
            let mut cursor = Position::NOTHING;
            // How far the room had got: the newest entry announced so far.
            let mut newest = 0usize;
            let mut written = Vec::new();
            for &index in arrivals {
                let index = index % truth.len();
                newest = newest.max(index);
                let current = truth[newest];
                let entry = truth[index];
                match on_entry(Some(cursor), entry) {
                    Next::Drop => {}
                    Next::Deliver => {
                        written.push(Some(entry));
                        cursor = entry;
                    }
                    Next::Fill { through } => {
                        if through.epoch != cursor.epoch && !cursor.is_nothing() {
                            // Redis says which epoch is true: an older one is stale, a
                            // newer one is announced with a resync from where it stands.
                            if entry.epoch != current.epoch {
                                continue;
                            }
                            written.push(None);
                            cursor = Position::new(current.epoch, 0);
                        }
                        let bound = Some(through);
                        for filled in truth.iter().filter(|at| at.epoch == through.epoch) {
                            if still_wanted(cursor, bound).is_none() {
                                break;
                            }
                            if beyond(*filled, bound) || !follows(cursor, *filled) {
                                continue;
                            }
                            written.push(Some(*filled));
                            cursor = *filled;
                        }
                        if follows(cursor, entry) {
                            written.push(Some(entry));
                            cursor = entry;
                        }
                    }
                }
            }
            written
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(500),
                failure_persistence: None,
                ..ProptestConfig::default()
            })]

            #[test]
            fn each_position_is_written_at_most_once_and_in_order_or_after_a_resync(
                epochs in prop::collection::vec(1u64..12, 1..4),
                arrivals in prop::collection::vec(0usize..64, 1..80),
            ) {
                let written = run(&epochs, &arrivals);
                let mut last: Option<Position> = None;
                for item in &written {
                    match (last, item) {
                        (_, None) => last = None,
                        (None, Some(at)) => last = Some(*at),
                        (Some(before), Some(at)) => {
                            prop_assert!(
                                before.epoch == at.epoch && at.seq == before.seq + 1,
                                "{before} then {at} in {written:?}"
                            );
                            last = Some(*at);
                        }
                    }
                }
                // Within an epoch nothing is written twice, resync or not.
                let mut seen = std::collections::HashSet::new();
                for at in written.iter().flatten() {
                    prop_assert!(seen.insert(*at), "{at} twice in {written:?}");
                }
            }
        }
    }
}
