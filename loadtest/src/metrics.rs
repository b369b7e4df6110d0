//! What the clients measure, over time: latency histograms (connect, ack, end-to-end
//! delivery) for the whole run and per second, throughput per second, and counts of
//! errors, close codes, reconnects and resumes.
//!
//! A [`Recorder`] is shared by every simulated user of a process; its [`Timeline`]
//! serializes (histograms in HdrHistogram's V2 format) so several processes' timelines
//! merge into one, second by second, as long as they share the run's start time.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use serde::{Deserialize, Serialize};

/// Latencies above this are recorded as this (a minute is far past any useful figure).
const MAX_MICROS: u64 = 60_000_000;

/// Now, in unix nanoseconds (the clock every process of a run shares).
pub fn unix_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// CPU time this process has used (user and system), where the system tells
/// (`/proc/self/stat` on Linux); reported so a reader can tell whether the load tool
/// itself was the bottleneck.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name, in
    // clock ticks of 1/100 s (USER_HZ).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// A latency distribution in microseconds.
#[derive(Debug, Clone)]
pub struct Latency(Histogram<u64>);

impl Latency {
    /// Three significant digits: for whole-run figures.
    pub fn precise() -> Self {
        Self(Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid bounds"))
    }

    /// Two significant digits: for the per-second series, where memory counts.
    pub fn coarse() -> Self {
        Self(Histogram::new_with_bounds(1, MAX_MICROS, 2).expect("valid bounds"))
    }

    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(MAX_MICROS);
        self.0.saturating_record(micros.clamp(1, MAX_MICROS));
    }

    pub fn merge(&mut self, other: &Latency) {
        // Same bounds everywhere, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The value at `quantile` (0..=1), in milliseconds.
    pub fn quantile_ms(&self, quantile: f64) -> f64 {
        self.0.value_at_quantile(quantile) as f64 / 1000.0
    }

    pub fn summary(&self) -> Summary {
        if self.0.is_empty() {
            return Summary::default();
        }
        Summary {
            count: self.0.len(),
            mean: self.0.mean() / 1000.0,
            p50: self.quantile_ms(0.50),
            p90: self.quantile_ms(0.90),
            p99: self.quantile_ms(0.99),
            p999: self.quantile_ms(0.999),
            max: self.0.max() as f64 / 1000.0,
        }
    }
}

impl Serialize for Latency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(&self.0, &mut bytes)
            .map_err(|err| serde::ser::Error::custom(format!("{err:?}")))?;
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)?;
        let histogram: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|err| serde::de::Error::custom(format!("{err:?}")))?;
        Ok(Self(histogram))
    }
}

/// Percentiles of a latency distribution, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// One second of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Second {
    /// Most users connected during the second.
    pub users: u64,
    pub connects: u64,
    pub sends: u64,
    pub acks: u64,
    /// Live deliveries (catch-up replays are counted apart).
    pub deliveries: u64,
    pub errors: u64,
    pub ack: Latency,
    pub e2e: Latency,
}

impl Default for Second {
    fn default() -> Self {
        Self {
            users: 0,
            connects: 0,
            sends: 0,
            acks: 0,
            deliveries: 0,
            errors: 0,
            ack: Latency::coarse(),
            e2e: Latency::coarse(),
        }
    }
}

impl Second {
    fn merge(&mut self, other: &Second) {
        self.users += other.users;
        self.connects += other.connects;
        self.sends += other.sends;
        self.acks += other.acks;
        self.deliveries += other.deliveries;
        self.errors += other.errors;
        self.ack.merge(&other.ack);
        self.e2e.merge(&other.e2e);
    }
}

/// Event counts of the whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub connects: u64,
    pub connect_failures: u64,
    pub sends: u64,
    /// Sends repeated with the same `client_msg_id` (after a timeout, an error or a
    /// reconnect).
    pub retries: u64,
    /// Sends put off because the previous message to the same room still awaited its
    /// ack (the stack pushing back).
    #[serde(default)]
    pub deferred: u64,
    pub acks: u64,
    pub ack_timeouts: u64,
    pub deliveries: u64,
    /// Events received during catch-up after a resume.
    pub replayed: u64,
    /// Connections lost or dropped that the user reconnected after.
    pub reconnects: u64,
    /// Rooms whose catch-up finished (`resumed`).
    pub resumes: u64,
    pub resyncs: u64,
    /// Connections dropped on purpose (chaos).
    pub kills: u64,
    /// Error frames and failures of any kind.
    pub errors: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.connects += o.connects;
        self.connect_failures += o.connect_failures;
        self.sends += o.sends;
        self.retries += o.retries;
        self.deferred += o.deferred;
        self.acks += o.acks;
        self.ack_timeouts += o.ack_timeouts;
        self.deliveries += o.deliveries;
        self.replayed += o.replayed;
        self.reconnects += o.reconnects;
        self.resumes += o.resumes;
        self.resyncs += o.resyncs;
        self.kills += o.kills;
        self.errors += o.errors;
    }
}

/// Everything measured, whole-run and per second.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timeline {
    /// Second 0 starts here (unix nanoseconds).
    pub started_at: i64,
    pub seconds: Vec<Second>,
    pub connect: Latency,
    pub ack: Latency,
    pub e2e: Latency,
    pub counts: Counts,
    /// Errors by code (`error` frames' codes, and the tool's own: `connect_failed`,
    /// `ack_timeout`, ...).
    pub errors: BTreeMap<String, u64>,
    /// Close codes of connections the server closed (or `abnormal` when none came).
    pub close_codes: BTreeMap<String, u64>,
}

impl Timeline {
    pub fn new(started_at: i64) -> Self {
        Self {
            started_at,
            seconds: Vec::new(),
            connect: Latency::precise(),
            ack: Latency::precise(),
            e2e: Latency::precise(),
            counts: Counts::default(),
            errors: BTreeMap::new(),
            close_codes: BTreeMap::new(),
        }
    }

    /// The second `at` (unix nanoseconds) falls in; times before the start count in
    /// second 0.
    pub fn second(&mut self, at: i64) -> &mut Second {
        let index = usize::try_from((at - self.started_at).max(0) / 1_000_000_000).unwrap_or(0);
        if self.seconds.len() <= index {
            self.seconds.resize_with(index + 1, Second::default);
        }
        &mut self.seconds[index]
    }

    /// Adds another process's timeline of the same run.
    pub fn merge(&mut self, other: &Timeline) {
        let offset = usize::try_from((other.started_at - self.started_at).max(0) / 1_000_000_000)
            .unwrap_or(0);
        for (index, second) in other.seconds.iter().enumerate() {
            let at = index + offset;
            if self.seconds.len() <= at {
                self.seconds.resize_with(at + 1, Second::default);
            }
            self.seconds[at].merge(second);
        }
        self.connect.merge(&other.connect);
        self.ack.merge(&other.ack);
        self.e2e.merge(&other.e2e);
        self.counts += other.counts;
        for (code, count) in &other.errors {
            *self.errors.entry(code.clone()).or_default() += count;
        }
        for (code, count) in &other.close_codes {
            *self.close_codes.entry(code.clone()).or_default() += count;
        }
    }

    fn error(&mut self, at: i64, code: &str) {
        self.counts.errors += 1;
        *self.errors.entry(code.to_owned()).or_default() += 1;
        self.second(at).errors += 1;
    }
}

/// Figures for the live progress line, read without locking.
#[derive(Debug, Default)]
pub struct Live {
    pub connected: AtomicI64,
    pub sends: AtomicU64,
    pub acks: AtomicU64,
    pub deliveries: AtomicU64,
    pub errors: AtomicU64,
    pub peak_connected: AtomicI64,
}

/// A point-in-time copy of the live figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub connected: i64,
    pub sends: u64,
    pub acks: u64,
    pub deliveries: u64,
    pub errors: u64,
    /// End-to-end p99 so far, in milliseconds.
    pub e2e_p99_ms: f64,
}

/// The measurements of one process, shared by its simulated users.
#[derive(Debug)]
pub struct Recorder {
    timeline: Mutex<Timeline>,
    live: Live,
}

impl Recorder {
    pub fn new(started_at: i64) -> Self {
        Self {
            timeline: Mutex::new(Timeline::new(started_at)),
            live: Live::default(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Timeline) -> T) -> T {
        f(&mut self.timeline.lock().expect("recorder lock"))
    }

    /// A connection became ready after `took` (TCP, WebSocket handshake, `ready`).
    pub fn connected(&self, took: Duration, reconnect: bool) {
        let now = unix_nanos();
        self.with(|t| {
            t.connect.record(took);
            t.counts.connects += 1;
            if reconnect {
                t.counts.reconnects += 1;
            }
            t.second(now).connects += 1;
        });
        let connected = self.live.connected.fetch_add(1, Ordering::Relaxed) + 1;
        self.live
            .peak_connected
            .fetch_max(connected, Ordering::Relaxed);
    }

    /// A ready connection ended (for any reason).
    pub fn disconnected(&self) {
        self.live.connected.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn connect_failed(&self, code: &str) {
        let now = unix_nanos();
        self.with(|t| {
            t.counts.connect_failures += 1;
            t.error(now, code);
        });
        self.live.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The server closed a connection with `code` (`None`: no close frame).
    pub fn closed(&self, code: Option<u16>) {
        let key = code.map_or_else(|| "abnormal".to_owned(), |code| code.to_string());
        self.with(|t| *t.close_codes.entry(key).or_default() += 1);
    }

    /// A send put off while the previous one to its room awaits its ack.
    pub fn send_deferred(&self) {
        self.with(|t| t.counts.deferred += 1);
    }

    pub fn sent(&self, retry: bool) {
        let now = unix_nanos();
        self.with(|t| {
            if retry {
                t.counts.retries += 1;
            } else {
                t.counts.sends += 1;
                t.second(now).sends += 1;
            }
        });
        if !retry {
            self.live.sends.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn acked(&self, took: Duration) {
        let now = unix_nanos();
        self.with(|t| {
            t.ack.record(took);
            t.counts.acks += 1;
            let second = t.second(now);
            second.acks += 1;
            second.ack.record(took);
        });
        self.live.acks.fetch_add(1, Ordering::Relaxed);
    }

    /// A room event arrived; `e2e` is the delivery latency of a live message of this
    /// run.
    pub fn delivered(&self, e2e: Option<Duration>, replayed: bool) {
        let now = unix_nanos();
        self.with(|t| {
            if replayed {
                t.counts.replayed += 1;
                return;
            }
            t.counts.deliveries += 1;
            let second = t.second(now);
            second.deliveries += 1;
            if let Some(e2e) = e2e {
                second.e2e.record(e2e);
                t.e2e.record(e2e);
            }
        });
        if !replayed {
            self.live.deliveries.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn error(&self, code: &str) {
        let now = unix_nanos();
        self.with(|t| t.error(now, code));
        self.live.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn ack_timeout(&self) {
        let now = unix_nanos();
        self.with(|t| {
            t.counts.ack_timeouts += 1;
            t.error(now, "ack_timeout");
        });
        self.live.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn resumed(&self) {
        self.with(|t| t.counts.resumes += 1);
    }

    pub fn resynced(&self) {
        self.with(|t| t.counts.resyncs += 1);
    }

    pub fn killed(&self) {
        self.with(|t| t.counts.kills += 1);
    }

    /// Notes how many users are connected now (the per-second series keeps the most).
    pub fn sample_users(&self) {
        let now = unix_nanos();
        let connected = self.live.connected.load(Ordering::Relaxed).max(0) as u64;
        self.with(|t| {
            let second = t.second(now);
            second.users = second.users.max(connected);
        });
    }

    pub fn snapshot(&self) -> Snapshot {
        let e2e_p99_ms = self.with(|t| t.e2e.quantile_ms(0.99));
        Snapshot {
            connected: self.live.connected.load(Ordering::Relaxed),
            sends: self.live.sends.load(Ordering::Relaxed),
            acks: self.live.acks.load(Ordering::Relaxed),
            deliveries: self.live.deliveries.load(Ordering::Relaxed),
            errors: self.live.errors.load(Ordering::Relaxed),
            e2e_p99_ms,
        }
    }

    pub fn peak_connected(&self) -> u64 {
        self.live.peak_connected.load(Ordering::Relaxed).max(0) as u64
    }

    /// The measurements so far.
    pub fn timeline(&self) -> Timeline {
        self.with(|t| t.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latency(values_ms: impl IntoIterator<Item = u64>) -> Latency {
        let mut latency = Latency::precise();
        for ms in values_ms {
            latency.record(Duration::from_millis(ms));
        }
        latency
    }

    #[test]
    fn percentiles_summarize_the_distribution() {
        let summary = latency(1..=1000).summary();

        assert_eq!(summary.count, 1000);
        assert!((summary.p50 - 500.0).abs() <= 1.0, "{summary:?}");
        assert!((summary.p90 - 900.0).abs() <= 1.0, "{summary:?}");
        assert!((summary.p99 - 990.0).abs() <= 1.0, "{summary:?}");
        assert!((summary.p999 - 999.0).abs() <= 1.0, "{summary:?}");
        assert!((summary.max - 1000.0).abs() <= 1.0, "{summary:?}");
        assert!((summary.mean - 500.5).abs() <= 1.0, "{summary:?}");
        assert_eq!(Latency::precise().summary(), Summary::default());
    }

    #[test]
    fn this_process_has_used_some_cpu() {
        let mut spin = 0u64;
        for i in 0..5_000_000u64 {
            spin = spin.wrapping_add(i * i);
        }
        std::hint::black_box(spin);
        let seconds = process_cpu_seconds().expect("Linux tells");
        assert!(seconds > 0.0 && seconds < 3600.0, "{seconds}");
    }

    #[test]
    fn latencies_survive_serialization_and_merge() {
        let mut a = latency([1, 2, 3]);
        let b = latency([100]);
        let json = serde_json::to_string(&b).expect("serializes");
        let b: Latency = serde_json::from_str(&json).expect("deserializes");
        a.merge(&b);

        assert_eq!(a.count(), 4);
        assert!((a.summary().max - 100.0).abs() < 0.1);
    }

    #[test]
    fn timelines_of_several_processes_merge_second_by_second() {
        let start = 1_000_000_000_000;
        let mut one = Timeline::new(start);
        one.second(start + 500_000_000).sends += 2;
        one.error(start + 1_500_000_000, "rate_limited");
        let mut two = Timeline::new(start);
        two.second(start + 1_200_000_000).sends += 3;
        two.error(start, "rate_limited");

        let json = serde_json::to_string(&two).expect("serializes");
        one.merge(&serde_json::from_str(&json).expect("deserializes"));

        assert_eq!(one.seconds.len(), 2);
        assert_eq!(one.seconds[0].sends, 2);
        assert_eq!(one.seconds[1].sends, 3);
        assert_eq!(one.errors["rate_limited"], 2);
        assert_eq!(one.counts.errors, 2);
    }
}
