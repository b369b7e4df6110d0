//! Expected against received: which acknowledged messages each recipient should have
//! had, and what it got instead (lost, duplicated, out of order).
//!
//! Senders record every `ack` in a [`Ledger`]: the message's room and position. Each
//! recipient keeps one [`RoomView`] per room: the positions it received and the
//! *windows* during which it was listening. A window opens at the position `ready` (or a
//! `resync`) gave and closes when the user leaves for good; a reconnect that resumes
//! keeps the window open, because resuming promises exactly what was missed.
//!
//! After the run a message counts as expected by a recipient when its position is past
//! the window's start and either (a) not past the highest position the recipient saw in
//! that window (anything below what arrived must have arrived), or (b) it was acked at
//! least `settle` before the window closed (there was time for it to arrive), or (c) the
//! window was still open at the end. Expected and not received is *lost*; a position
//! received twice, or one sender's message seen again, is *duplicated*; a position
//! below one already seen is *out of order*.
//!
//! Everything here is pure, so every rule has a unit test.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use chat_protocol::{Position, RoomId};
use serde::{Deserialize, Serialize};

use crate::faults::{FaultTally, Faults};

// ---------------------------------------------------------------------------------------
// The tag each message carries

/// What identifies a message of this run: the sending user (its index), the sender's
/// sequence number in that room, and when it was sent. It travels in the content as
/// `lt:<run>:<sender>:<seq>:<unix nanos>` followed by padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageTag {
    pub sender: u32,
    pub seq: u64,
    pub sent_at_nanos: i64,
}

impl MessageTag {
    /// The content of a message carrying this tag, padded to `bytes`.
    pub fn content(&self, run: &str, bytes: usize) -> String {
        let mut content = format!(
            "lt:{run}:{}:{}:{} ",
            self.sender, self.seq, self.sent_at_nanos
        );
        if content.len() < bytes {
            content.extend(std::iter::repeat_n('x', bytes - content.len()));
        }
        content
    }

    /// The tag in a message's content, when it is one of run `run`'s.
    pub fn parse(run: &str, content: &str) -> Option<Self> {
        let rest = content
            .strip_prefix("lt:")?
            .strip_prefix(run)?
            .strip_prefix(':')?;
        let mut parts = rest.split([':', ' ']);
        Some(Self {
            sender: parts.next()?.parse().ok()?,
            seq: parts.next()?.parse().ok()?,
            sent_at_nanos: parts.next()?.parse().ok()?,
        })
    }
}

// ---------------------------------------------------------------------------------------
// What senders learned

/// One acknowledged message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acked {
    pub room: RoomId,
    pub position: Position,
    pub sender: u32,
    pub seq: u64,
    /// When the sender received the ack (unix nanoseconds).
    pub acked_at: i64,
}

/// Every ack of the run, from every sender (merged across processes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub acks: Vec<Acked>,
}

impl Ledger {
    pub fn record(&mut self, acked: Acked) {
        self.acks.push(acked);
    }

    pub fn merge(&mut self, other: Ledger) {
        self.acks.extend(other.acks);
    }

    /// The acks by room and position. Repeated acks of one position (a retried send
    /// answered with the original ack) count once, at the earliest ack time; one
    /// message acked at two positions was stored twice.
    pub fn index(&self) -> LedgerIndex {
        let mut rooms: HashMap<RoomId, BTreeMap<Position, Acked>> = HashMap::new();
        let mut positions: HashMap<(RoomId, u32, u64), Position> = HashMap::new();
        let mut stored_twice = Vec::new();
        for acked in &self.acks {
            let room = rooms.entry(acked.room).or_default();
            room.entry(acked.position)
                .and_modify(|known| known.acked_at = known.acked_at.min(acked.acked_at))
                .or_insert(*acked);
            let key = (acked.room, acked.sender, acked.seq);
            match positions.get(&key) {
                Some(known) if *known != acked.position => stored_twice.push(acked.acked_at),
                Some(_) => {}
                None => {
                    positions.insert(key, acked.position);
                }
            }
        }
        LedgerIndex {
            rooms,
            stored_twice,
        }
    }
}

/// [`Ledger`] by room and position, ready for [`evaluate`].
#[derive(Debug, Default)]
pub struct LedgerIndex {
    rooms: HashMap<RoomId, BTreeMap<Position, Acked>>,
    /// When a message (sender and seq) already acked was acked at another position of
    /// its room: once per extra position.
    stored_twice: Vec<i64>,
}

impl LedgerIndex {
    /// Distinct acknowledged messages.
    pub fn messages(&self) -> u64 {
        self.rooms.values().map(|room| room.len() as u64).sum()
    }

    /// Messages acked at more than one position of their room (counted per extra one).
    pub fn stored_twice(&self) -> u64 {
        self.stored_twice.len() as u64
    }
}

// ---------------------------------------------------------------------------------------
// What recipients saw

/// A set of positions, as runs of consecutive positions (normally one run per epoch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PositionSet {
    /// Start of each run -> its last position (same epoch).
    runs: BTreeMap<Position, u64>,
}

impl PositionSet {
    /// Adds `at`; false when it was already there.
    pub fn insert(&mut self, at: Position) -> bool {
        if self.contains(at) {
            return false;
        }
        let mut start = at;
        let mut end = at.seq;
        // Joins the run ending just before.
        if let Some((&left, &left_end)) = self.runs.range(..at).next_back()
            && left.epoch == at.epoch
            && left_end + 1 == at.seq
        {
            start = left;
        }
        // Joins the run starting just after.
        let next = at.next();
        if let Some(next_end) = self.runs.remove(&next) {
            end = next_end;
        }
        self.runs.insert(start, end);
        true
    }

    pub fn contains(&self, at: Position) -> bool {
        self.runs
            .range(..=at)
            .next_back()
            .is_some_and(|(start, end)| start.epoch == at.epoch && at.seq <= *end)
    }

    pub fn len(&self) -> u64 {
        self.runs
            .iter()
            .map(|(start, end)| end - start.seq + 1)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// `[epoch, first, last]` for each run, for reports.
    pub fn to_runs(&self) -> Vec<[u64; 3]> {
        self.runs
            .iter()
            .map(|(start, end)| [start.epoch, start.seq, *end])
            .collect()
    }

    pub fn from_runs(runs: &[[u64; 3]]) -> Self {
        let mut set = Self::default();
        for &[epoch, first, last] in runs {
            set.runs.insert(Position::new(epoch, first), last);
        }
        set
    }
}

impl Serialize for PositionSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_runs().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PositionSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<[u64; 3]>::deserialize(deserializer).map(|runs| Self::from_runs(&runs))
    }
}

/// A stretch during which a recipient was listening to a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Events after this position are the recipient's to receive.
    pub after: Position,
    /// The highest position received in this window.
    pub high: Option<Position>,
    /// When the recipient stopped listening (unix nanoseconds); `None` while listening.
    pub closed_at: Option<i64>,
}

impl Window {
    /// Whether a message acked at `acked_at` at `position` should have reached this
    /// window's recipient.
    pub fn expects(&self, position: Position, acked_at: i64, settle_nanos: i64) -> bool {
        position > self.after
            && match self.closed_at {
                None => true,
                Some(closed_at) => {
                    self.high.is_some_and(|high| position <= high)
                        || acked_at.saturating_add(settle_nanos) <= closed_at
                }
            }
    }
}

/// Counts a recipient keeps as events arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewStats {
    /// Room events received (messages and others), duplicates included.
    pub events: u64,
    /// `message.created` of this run received, duplicates included.
    pub messages: u64,
    /// A position received again.
    pub duplicates: u64,
    /// A position below the highest already received (it arrived late).
    pub out_of_order: u64,
    /// Positions skipped over when a later one arrived (filled later or never).
    pub skipped: u64,
    /// A sender's message whose sequence number was already seen at another position.
    pub sender_duplicates: u64,
    /// A sender's message with a lower sequence number than one already seen.
    pub sender_out_of_order: u64,
    /// Events received during catch-up after a resume.
    pub replayed: u64,
    /// Times the server told the recipient to resync (its window restarted).
    pub resyncs: u64,
    /// Events received while no window was open (should be none).
    pub unexpected: u64,
}

impl std::ops::AddAssign for ViewStats {
    fn add_assign(&mut self, other: Self) {
        self.events += other.events;
        self.messages += other.messages;
        self.duplicates += other.duplicates;
        self.out_of_order += other.out_of_order;
        self.skipped += other.skipped;
        self.sender_duplicates += other.sender_duplicates;
        self.sender_out_of_order += other.sender_out_of_order;
        self.replayed += other.replayed;
        self.resyncs += other.resyncs;
        self.unexpected += other.unexpected;
    }
}

/// How a received event was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// First time, in order.
    New,
    /// First time, but below a position already received.
    Late,
    /// Already received.
    Duplicate,
    /// No window was open.
    Unexpected,
}

/// Something wrong (or a resync) seen by a recipient, and when: what a fault's tally
/// counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Unix nanoseconds.
    pub at: i64,
    pub kind: IncidentKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    Duplicate,
    OutOfOrder,
    SenderDuplicate,
    SenderOutOfOrder,
    Resync,
}

/// The most incidents one view keeps with their time (the stats count them all).
const INCIDENTS_KEPT: usize = 1_000;

/// One recipient's view of one room.
#[derive(Debug, Clone, Default)]
pub struct RoomView {
    windows: Vec<Window>,
    received: PositionSet,
    high: Option<Position>,
    /// Highest sequence number seen per sender.
    senders: HashMap<u32, u64>,
    catching_up: bool,
    incidents: Vec<Incident>,
    pub stats: ViewStats,
}

impl RoomView {
    /// Starts listening after `after` (the position `ready` gave).
    pub fn new(after: Position) -> Self {
        let mut view = Self::default();
        view.open(after);
        view
    }

    /// Opens a new window (the previous one must be closed).
    pub fn open(&mut self, after: Position) {
        debug_assert!(!self.is_open(), "a window is already open");
        self.windows.push(Window {
            after,
            high: None,
            closed_at: None,
        });
        self.high = Some(self.high.map_or(after, |high| high.max(after)));
    }

    pub fn is_open(&self) -> bool {
        self.windows.last().is_some_and(|w| w.closed_at.is_none())
    }

    /// The recipient stopped listening for good (or until it opens a new window).
    pub fn close(&mut self, at_nanos: i64) {
        self.catching_up = false;
        if let Some(window) = self.windows.last_mut()
            && window.closed_at.is_none()
        {
            window.closed_at = Some(at_nanos);
        }
    }

    /// The server said `resync`: what was missed cannot be replayed, so the window
    /// closes where it stands and a new one starts at `to`.
    ///
    /// A resync to epoch 0 says the room has no position at all now (Redis lost its
    /// counter and nothing was appended since): the next entry starts a newer epoch, so
    /// the new window expects nothing of the epochs seen so far.
    pub fn resync(&mut self, at_nanos: i64, to: Position) {
        self.close(at_nanos);
        self.stats.resyncs += 1;
        self.incident(at_nanos, IncidentKind::Resync);
        let after = match (to.epoch, self.high) {
            (0, Some(high)) => Position::new(high.epoch, u64::MAX),
            _ => to,
        };
        self.open(after);
    }

    /// Where to resume from: the highest position seen (or the window's start).
    pub fn resume_point(&self) -> Option<Position> {
        self.high
    }

    /// A reconnect resumed this room: events until `resumed` are catch-up.
    pub fn begin_catch_up(&mut self) {
        self.catching_up = true;
    }

    pub fn end_catch_up(&mut self) {
        self.catching_up = false;
    }

    pub fn is_catching_up(&self) -> bool {
        self.catching_up
    }

    fn incident(&mut self, at: i64, kind: IncidentKind) {
        if self.incidents.len() < INCIDENTS_KEPT {
            self.incidents.push(Incident { at, kind });
        }
    }

    /// An event of the room arrived at `now` (unix nanoseconds); `sender` is `(sender,
    /// seq)` for this run's messages.
    pub fn receive(&mut self, at: Position, sender: Option<(u32, u64)>, now: i64) -> Arrival {
        self.stats.events += 1;
        if self.catching_up {
            self.stats.replayed += 1;
        }
        if !self.is_open() {
            self.stats.unexpected += 1;
            return Arrival::Unexpected;
        }
        if let Some((sender, seq)) = sender {
            self.stats.messages += 1;
            match self.senders.get(&sender) {
                Some(&last) if seq == last => {
                    self.stats.sender_duplicates += 1;
                    self.incident(now, IncidentKind::SenderDuplicate);
                }
                Some(&last) if seq < last => {
                    self.stats.sender_out_of_order += 1;
                    self.incident(now, IncidentKind::SenderOutOfOrder);
                }
                _ => {
                    self.senders.insert(sender, seq);
                }
            }
        }
        if !self.received.insert(at) {
            self.stats.duplicates += 1;
            self.incident(now, IncidentKind::Duplicate);
            return Arrival::Duplicate;
        }
        if let Some(window) = self.windows.last_mut() {
            window.high = Some(window.high.map_or(at, |high| high.max(at)));
        }
        match self.high {
            Some(high) if at < high => {
                self.stats.out_of_order += 1;
                self.incident(now, IncidentKind::OutOfOrder);
                Arrival::Late
            }
            Some(high) => {
                if at.epoch == high.epoch && at.seq > high.seq + 1 {
                    self.stats.skipped += at.seq - high.seq - 1;
                }
                self.high = Some(at);
                Arrival::New
            }
            None => {
                self.high = Some(at);
                Arrival::New
            }
        }
    }

    /// What is kept for the evaluation after the run.
    pub fn record(&self, user: u32, room: RoomId) -> RoomRecord {
        RoomRecord {
            user,
            room,
            windows: self.windows.clone(),
            received: self.received.clone(),
            incidents: self.incidents.clone(),
            stats: self.stats,
        }
    }
}

/// A [`RoomView`] as the run's results carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomRecord {
    pub user: u32,
    pub room: RoomId,
    pub windows: Vec<Window>,
    pub received: PositionSet,
    #[serde(default)]
    pub incidents: Vec<Incident>,
    pub stats: ViewStats,
}

// ---------------------------------------------------------------------------------------
// The verdict

/// A lost delivery, for the report (the first few are kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostDelivery {
    pub recipient: u32,
    pub room: RoomId,
    pub position: Position,
    pub sender: u32,
    pub seq: u64,
}

/// Expected against received, over every recipient and room.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Distinct acknowledged messages.
    pub acked_messages: u64,
    /// (recipient, acked message) pairs that should have been delivered.
    pub expected: u64,
    /// Of those, delivered.
    pub delivered: u64,
    pub lost: u64,
    /// Positions or messages received more than once, plus messages stored twice.
    pub duplicated: u64,
    /// Positions received below one already received, plus a sender's messages seen
    /// out of their order.
    pub out_of_order: u64,
    pub stored_twice: u64,
    pub stats: ViewStats,
    pub lost_samples: Vec<LostDelivery>,
    /// What happened during each fault of the driver's timeline, then between faults
    /// (empty without a timeline).
    #[serde(default)]
    pub faults: Vec<FaultTally>,
}

/// How many lost deliveries the verdict lists.
const LOST_SAMPLES: usize = 20;

/// The tally of the fault whose span holds `at`, or the last one (between faults).
fn tally_at<'t>(
    tallies: &'t mut [FaultTally],
    faults: &Faults,
    at: i64,
) -> Option<&'t mut FaultTally> {
    let between = tallies.len().checked_sub(1)?;
    tallies.get_mut(faults.span_of(at).unwrap_or(between))
}

/// Judges every recipient's rooms against the acks, and tallies what happened around
/// each of `faults`.
pub fn evaluate(
    ledger: &LedgerIndex,
    records: &[RoomRecord],
    settle_nanos: i64,
    faults: &Faults,
) -> Verdict {
    let mut verdict = Verdict {
        acked_messages: ledger.messages(),
        stored_twice: ledger.stored_twice(),
        ..Verdict::default()
    };
    let mut tallies = if faults.is_empty() {
        Vec::new()
    } else {
        faults.tallies()
    };
    for acked in ledger.rooms.values().flat_map(BTreeMap::values) {
        if let Some(tally) = tally_at(&mut tallies, faults, acked.acked_at) {
            tally.acked += 1;
        }
    }
    for &at in &ledger.stored_twice {
        if let Some(tally) = tally_at(&mut tallies, faults, at) {
            tally.duplicated += 1;
        }
    }
    for record in records {
        verdict.stats += record.stats;
        for incident in &record.incidents {
            if let Some(tally) = tally_at(&mut tallies, faults, incident.at) {
                match incident.kind {
                    IncidentKind::Duplicate | IncidentKind::SenderDuplicate => {
                        tally.duplicated += 1;
                    }
                    IncidentKind::OutOfOrder | IncidentKind::SenderOutOfOrder => {
                        tally.out_of_order += 1;
                    }
                    IncidentKind::Resync => tally.resyncs += 1,
                }
            }
        }
        let Some(acked) = ledger.rooms.get(&record.room) else {
            continue;
        };
        let mut expected = BTreeSet::new();
        for window in &record.windows {
            for (position, ack) in acked.range((Bound::Excluded(window.after), Bound::Unbounded)) {
                if window.expects(*position, ack.acked_at, settle_nanos) {
                    expected.insert(*position);
                }
            }
        }
        for position in expected {
            verdict.expected += 1;
            if record.received.contains(position) {
                verdict.delivered += 1;
            } else {
                verdict.lost += 1;
                let ack = acked[&position];
                if let Some(tally) = tally_at(&mut tallies, faults, ack.acked_at) {
                    tally.lost += 1;
                }
                if verdict.lost_samples.len() < LOST_SAMPLES {
                    verdict.lost_samples.push(LostDelivery {
                        recipient: record.user,
                        room: record.room,
                        position,
                        sender: ack.sender,
                        seq: ack.seq,
                    });
                }
            }
        }
    }
    verdict.duplicated =
        verdict.stats.duplicates + verdict.stats.sender_duplicates + verdict.stored_twice;
    verdict.out_of_order = verdict.stats.out_of_order + verdict.stats.sender_out_of_order;
    verdict.faults = tallies;
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;
    const SETTLE: i64 = 5 * SECOND;

    fn at(position: u64) -> Position {
        Position::new(7, position)
    }

    /// A room with messages acked at positions `positions` (sender 0, seq = position),
    /// each acked at `position` seconds.
    fn ledger(room: RoomId, positions: impl IntoIterator<Item = u64>) -> Ledger {
        let mut ledger = Ledger::default();
        for position in positions {
            ledger.record(Acked {
                room,
                position: at(position),
                sender: 0,
                seq: position,
                acked_at: position as i64 * SECOND,
            });
        }
        ledger
    }

    fn receive_all(view: &mut RoomView, positions: impl IntoIterator<Item = u64>) {
        for position in positions {
            view.receive(at(position), Some((0, position)), 0);
        }
    }

    fn judge(ledger: &Ledger, views: &[(u32, RoomId, &RoomView)]) -> Verdict {
        let records: Vec<_> = views
            .iter()
            .map(|(user, room, view)| view.record(*user, *room))
            .collect();
        evaluate(&ledger.index(), &records, SETTLE, &Faults::default())
    }

    #[test]
    fn everything_delivered_once_in_order_is_clean() {
        let room = RoomId::new();
        let ledger = ledger(room, 1..=10);
        let mut view = RoomView::new(at(0));
        receive_all(&mut view, 1..=10);
        view.close(100 * SECOND);

        let verdict = judge(&ledger, &[(1, room, &view)]);

        assert_eq!(verdict.expected, 10);
        assert_eq!(verdict.delivered, 10);
        assert_eq!(
            (verdict.lost, verdict.duplicated, verdict.out_of_order),
            (0, 0, 0)
        );
    }

    #[test]
    fn a_missing_delivery_is_lost() {
        let room = RoomId::new();
        let ledger = ledger(room, 1..=10);
        let mut view = RoomView::new(at(0));
        receive_all(&mut view, (1..=10).filter(|p| *p != 4));
        view.close(100 * SECOND);

        let verdict = judge(&ledger, &[(3, room, &view)]);

        assert_eq!(verdict.lost, 1);
        assert_eq!(verdict.delivered, 9);
        assert_eq!(verdict.stats.skipped, 1);
        assert_eq!(
            verdict.lost_samples,
            vec![LostDelivery {
                recipient: 3,
                room,
                position: at(4),
                sender: 0,
                seq: 4
            }]
        );
    }

    #[test]
    fn a_repeated_delivery_is_duplicated() {
        let room = RoomId::new();
        let ledger = ledger(room, 1..=3);
        let mut view = RoomView::new(at(0));
        receive_all(&mut view, [1, 2, 2, 3]);
        view.close(100 * SECOND);

        let verdict = judge(&ledger, &[(1, room, &view)]);

        assert_eq!(
            verdict.duplicated, 2,
            "the position and the sender's seq again"
        );
        assert_eq!(verdict.stats.duplicates, 1);
        assert_eq!(verdict.stats.sender_duplicates, 1);
        assert_eq!(verdict.lost, 0);
    }

    #[test]
    fn a_message_stored_twice_is_duplicated_even_at_a_new_position() {
        let room = RoomId::new();
        let mut ledger = ledger(room, 1..=2);
        // The retry of seq 2 was acked at a second position.
        ledger.record(Acked {
            room,
            position: at(3),
            sender: 0,
            seq: 2,
            acked_at: 3 * SECOND,
        });
        let mut view = RoomView::new(at(0));
        view.receive(at(1), Some((0, 1)), 0);
        view.receive(at(2), Some((0, 2)), 0);
        view.receive(at(3), Some((0, 2)), 0);
        view.close(100 * SECOND);

        let verdict = judge(&ledger, &[(1, room, &view)]);

        assert_eq!(verdict.stored_twice, 1);
        assert_eq!(verdict.stats.sender_duplicates, 1);
        assert_eq!(verdict.duplicated, 2);
    }

    #[test]
    fn a_reordered_delivery_is_out_of_order_but_not_lost() {
        let room = RoomId::new();
        let ledger = ledger(room, 1..=4);
        let mut view = RoomView::new(at(0));
        assert_eq!(view.receive(at(1), Some((0, 1)), 0), Arrival::New);
        assert_eq!(view.receive(at(3), Some((0, 3)), 0), Arrival::New);
        assert_eq!(view.receive(at(2), Some((0, 2)), 0), Arrival::Late);
        assert_eq!(view.receive(at(4), Some((0, 4)), 0), Arrival::New);
        view.close(100 * SECOND);

        let verdict = judge(&ledger, &[(1, room, &view)]);

        assert_eq!(verdict.stats.out_of_order, 1);
        assert_eq!(verdict.stats.sender_out_of_order, 1);
        assert_eq!(verdict.out_of_order, 2);
        assert_eq!((verdict.lost, verdict.duplicated), (0, 0));
    }

    #[test]
    fn a_resume_keeps_the_window_so_the_catch_up_must_fill_the_gap_exactly() {
        let room = RoomId::new();
        let ledger = ledger(room, 1..=10);
        let mut view = RoomView::new(at(0));
        receive_all(&mut view, 1..=4);
        // The connection dies; messages 5..=7 are sent meanwhile; the client resumes.
        assert_eq!(view.resume_point(), Some(at(4)));
        view.begin_catch_up();
        receive_all(&mut view, 5..=7);
        view.end_catch_up();
        receive_all(&mut view, 8..=10);
        view.close(100 * SECOND);

        let verdict = judge(&ledger, &[(1, room, &view)]);

        assert_eq!(verdict.expected, 10);
        assert_eq!(
            (verdict.lost, verdict.duplicated, verdict.out_of_order),
            (0, 0, 0)
        );
        assert_eq!(verdict.stats.replayed, 3);
    }

    #[test]
    fn a_catch_up_that_replays_too_much_or_too_little_is_caught() {
        let room = RoomId::new();
        let ledger = ledger(room, 1..=10);
        let mut view = RoomView::new(at(0));
        receive_all(&mut view, 1..=4);
        view.begin_catch_up();
        receive_all(&mut view, [4, 6, 7]); // 4 again, 5 missing
        view.end_catch_up();
        receive_all(&mut view, 8..=10);
        view.close(100 * SECOND);

        let verdict = judge(&ledger, &[(1, room, &view)]);

        assert_eq!(verdict.lost, 1);
        assert_eq!(verdict.lost_samples[0].position, at(5));
        assert_eq!(verdict.stats.duplicates, 1);
    }

    #[test]
    fn a_resync_excuses_the_gap_it_announces() {
        let room = RoomId::new();
        let mut ledger = ledger(room, 1..=3);
        // After the resync the room is in a new epoch.
        for position in 1..=2 {
            ledger.record(Acked {
                room,
                position: Position::new(8, position),
                sender: 1,
                seq: position,
                acked_at: 50 * SECOND,
            });
        }
        let mut view = RoomView::new(at(0));
        receive_all(&mut view, 1..=2);
        view.resync(2 * SECOND, Position::new(8, 0));
        view.receive(Position::new(8, 1), Some((1, 1)), 0);
        view.receive(Position::new(8, 2), Some((1, 2)), 0);
        view.close(100 * SECOND);

        let verdict = judge(&ledger, &[(1, room, &view)]);

        assert_eq!(verdict.stats.resyncs, 1);
        assert_eq!(
            verdict.expected, 4,
            "3 was acked after the old window closed"
        );
        assert_eq!(verdict.lost, 0);
    }

    #[test]
    fn a_recipient_that_left_expects_only_what_had_time_to_arrive() {
        let room = RoomId::new();
        // Acked at 1 s .. 20 s.
        let ledger = ledger(room, 1..=20);
        let mut view = RoomView::new(at(0));
        receive_all(&mut view, 1..=8);
        // Leaves at 12 s: 9..=12 were acked less than the settle time before.
        view.close(12 * SECOND);

        let verdict = judge(&ledger, &[(1, room, &view)]);

        assert_eq!(verdict.expected, 8, "1..=7 by time, 8 because it arrived");
        assert_eq!(verdict.lost, 0);
    }

    #[test]
    fn a_recipient_that_left_still_misses_what_it_should_have_had() {
        let room = RoomId::new();
        let ledger = ledger(room, 1..=20);
        let mut view = RoomView::new(at(0));
        receive_all(&mut view, [1, 2, 4, 5]);
        view.close(7 * SECOND);

        let verdict = judge(&ledger, &[(1, room, &view)]);

        assert_eq!(verdict.lost, 1, "3 is below what arrived");
        assert_eq!(verdict.expected, 5);
    }

    #[test]
    fn a_resync_to_no_position_expects_only_newer_epochs() {
        let mut ledger = Ledger::default();
        for (epoch, position) in [(7, 5), (7, 6), (9, 1)] {
            ledger.record(Acked {
                room: RoomId::default(),
                position: Position::new(epoch, position),
                sender: 1,
                seq: position,
                acked_at: 0,
            });
        }
        // Joined after 5 was sent; Redis then lost the room's counter.
        let mut view = RoomView::new(Position::new(7, 5));
        view.receive(Position::new(7, 6), Some((1, 6)), 0);
        view.resync(1, Position::new(0, 0));
        view.receive(Position::new(9, 1), Some((1, 1)), 0);

        let verdict = evaluate(
            &ledger.index(),
            &[view.record(2, RoomId::default())],
            0,
            &Faults::default(),
        );

        assert_eq!(verdict.lost, 0, "{:?}", verdict.lost_samples);
        assert_eq!(verdict.delivered, 2);
    }

    #[test]
    fn messages_from_before_the_window_are_not_expected() {
        let room = RoomId::new();
        let ledger = ledger(room, 1..=10);
        let mut view = RoomView::new(at(6));
        receive_all(&mut view, 7..=10);
        view.close(100 * SECOND);

        let verdict = judge(&ledger, &[(1, room, &view)]);

        assert_eq!(verdict.expected, 4);
        assert_eq!(verdict.lost, 0);
    }

    #[test]
    fn a_repeated_ack_counts_the_message_once() {
        let room = RoomId::new();
        let mut ledger = ledger(room, 1..=2);
        ledger.record(Acked {
            room,
            position: at(2),
            sender: 0,
            seq: 2,
            acked_at: 9 * SECOND,
        });
        let index = ledger.index();
        assert_eq!(index.messages(), 2);
        assert_eq!(index.stored_twice(), 0);
    }

    #[test]
    fn events_after_leaving_are_unexpected() {
        let mut view = RoomView::new(at(0));
        view.close(SECOND);
        assert_eq!(view.receive(at(1), None, 0), Arrival::Unexpected);
        assert_eq!(view.stats.unexpected, 1);
    }

    #[test]
    fn other_room_events_take_positions_without_being_expected() {
        let room = RoomId::new();
        let ledger = ledger(room, [1, 3]);
        let mut view = RoomView::new(at(0));
        view.receive(at(1), Some((0, 1)), 0);
        view.receive(at(2), None, 0); // member.joined
        view.receive(at(3), Some((0, 3)), 0);
        view.close(100 * SECOND);

        let verdict = judge(&ledger, &[(1, room, &view)]);

        assert_eq!(verdict.expected, 2);
        assert_eq!(verdict.stats.events, 3);
        assert_eq!(verdict.stats.messages, 2);
        assert_eq!(verdict.stats.skipped, 0);
    }

    #[test]
    fn position_sets_merge_runs_and_survive_serialization() {
        let mut set = PositionSet::default();
        for position in [1, 2, 3, 7, 5, 6, 4] {
            assert!(set.insert(at(position)));
        }
        assert!(!set.insert(at(4)));
        assert!(set.insert(Position::new(8, 1)));
        assert_eq!(set.to_runs(), vec![[7, 1, 7], [8, 1, 1]]);
        assert_eq!(set.len(), 8);
        assert!(set.contains(at(5)) && !set.contains(at(8)) && !set.contains(Position::new(8, 2)));

        let json = serde_json::to_string(&set).expect("serializes");
        let back: PositionSet = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, set);
    }

    #[test]
    fn each_fault_is_told_what_happened_in_its_span() {
        let room = RoomId::new();
        // Acked at 1 s .. 30 s; the fault spans 10 s .. 12 s plus the 5 s settle time.
        let mut ledger = ledger(room, 1..=30);
        // The retry of seq 14, acked at a second position during the fault.
        ledger.record(Acked {
            room,
            position: at(31),
            sender: 0,
            seq: 14,
            acked_at: 15 * SECOND,
        });
        let faults = Faults::parse(
            "{\"at\": 10000000000, \"fault\": \"Redis restarted\", \"event\": \"start\"}\n\
             {\"at\": 12000000000, \"fault\": \"Redis restarted\", \"event\": \"end\"}",
            SETTLE,
        )
        .expect("parses");
        let when = |position: u64| position as i64 * SECOND;
        // Misses 5 and 13, gets 14 twice at once, then the stored-twice copy at 31.
        let mut first = RoomView::new(at(0));
        for position in (1..=30).filter(|p| *p != 5 && *p != 13) {
            first.receive(at(position), Some((0, position)), when(position));
            if position == 14 {
                first.receive(at(14), Some((0, 14)), when(14));
            }
        }
        first.receive(at(31), Some((0, 14)), when(31));
        // Told to resync during the fault; misses nothing.
        let mut second = RoomView::new(at(0));
        for position in 1..=31 {
            if position == 11 {
                second.resync(11 * SECOND, at(10));
            }
            let seq = if position == 31 { 14 } else { position };
            second.receive(at(position), Some((0, seq)), when(position));
        }

        let records = [first.record(1, room), second.record(2, room)];
        let verdict = evaluate(&ledger.index(), &records, SETTLE, &faults);

        let [fault, between] = verdict.faults.as_slice() else {
            panic!("one tally per fault and one between: {:?}", verdict.faults);
        };
        assert_eq!(
            fault.fault.as_ref().map(|f| f.name.as_str()),
            Some("Redis restarted")
        );
        assert_eq!(
            (fault.acked, between.acked),
            (9, 22),
            "10..=17 and 31 in the span"
        );
        assert_eq!((fault.lost, between.lost), (1, 1), "13 in it, 5 before");
        assert_eq!(
            fault.duplicated, 3,
            "the position, the sender's seq, stored twice"
        );
        assert_eq!(between.duplicated, 0);
        assert_eq!(
            (fault.out_of_order, between.out_of_order),
            (0, 2),
            "seq 14 at 31 s"
        );
        assert_eq!((fault.resyncs, between.resyncs), (1, 0));
    }

    #[test]
    fn message_tags_round_trip_through_content() {
        let tag = MessageTag {
            sender: 42,
            seq: 7,
            sent_at_nanos: 1_763_712_000_123_456_789,
        };
        let content = tag.content("r1a2", 100);
        assert_eq!(content.len(), 100);
        assert_eq!(MessageTag::parse("r1a2", &content), Some(tag));
        assert_eq!(MessageTag::parse("other", &content), None);
        assert_eq!(MessageTag::parse("r1a2", "hello"), None);
        assert!(tag.content("r1a2", 10).starts_with("lt:r1a2:42:7:"));
    }
}
