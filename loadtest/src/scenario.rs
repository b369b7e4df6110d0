//! Scenarios: what a run does, as a TOML file (`loadtest/scenarios/*.toml`) that command
//! line flags can override. Every field has a default, so a scenario names only what it
//! changes; unknown fields are an error, so a typo never silently runs another test.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// One load test, fully described.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Names the run in reports and, unless `accounts.prefix` is set, the accounts.
    pub name: String,
    pub description: String,
    /// Accounts (and at most this many simultaneous users; stage targets are capped).
    pub users: usize,
    /// k6-style stages: each ramps the number of connected users linearly from the
    /// previous target to its own over its duration.
    pub stages: Vec<Stage>,
    pub accounts: Accounts,
    pub rooms: RoomMix,
    pub traffic: Traffic,
    pub connections: Connections,
    pub chaos: Chaos,
    pub thresholds: Thresholds,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            name: "default".to_owned(),
            description: String::new(),
            users: 100,
            stages: vec![
                Stage::new(Duration::from_secs(10), 100),
                Stage::new(Duration::from_secs(30), 100),
                Stage::new(Duration::from_secs(5), 0),
            ],
            accounts: Accounts::default(),
            rooms: RoomMix::default(),
            traffic: Traffic::default(),
            connections: Connections::default(),
            chaos: Chaos::default(),
            thresholds: Thresholds::default(),
        }
    }
}

/// A stage: reach `target` connected users by the end of `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    #[serde(with = "human_duration")]
    pub duration: Duration,
    pub target: usize,
}

impl Stage {
    pub fn new(duration: Duration, target: usize) -> Self {
        Self { duration, target }
    }
}

/// The simulated users' accounts, reused across runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Accounts {
    /// Usernames are `<prefix>_<n>`; empty means `lt_<scenario name>`.
    pub prefix: String,
    pub password: String,
    /// Registrations and logins in flight at once (each costs the auth service an
    /// Argon2 hash).
    pub concurrency: usize,
}

impl Default for Accounts {
    fn default() -> Self {
        Self {
            prefix: String::new(),
            password: "load test password".to_owned(),
            concurrency: 8,
        }
    }
}

/// Which rooms the users are in. Memberships are set up before the first user connects
/// and stay as they are for the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoomMix {
    /// Every user shares a direct room with a partner (users 0-1, 2-3, ...).
    pub direct: bool,
    /// Number of group rooms.
    pub groups: usize,
    /// Smallest and largest group; sizes spread evenly between them.
    pub group_size: [usize; 2],
    /// `public` (members join) or `private` (the owner invites them).
    pub group_type: RoomType,
    /// Members of the one large room (the first users); 0 for none.
    pub large: usize,
    /// The first this many group rooms are busy: their members pause
    /// `traffic.hot_think_time` between sends instead of `think_time`, so several frames
    /// wait for the same socket (a burst load).
    pub hot: usize,
    /// Delete the group and large rooms when the run ends.
    pub cleanup: bool,
}

impl Default for RoomMix {
    fn default() -> Self {
        Self {
            direct: true,
            groups: 5,
            group_size: [10, 50],
            group_type: RoomType::Public,
            large: 100,
            hot: 0,
            cleanup: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoomType {
    Public,
    Private,
}

impl RoomType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }
}

/// What connected users send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Traffic {
    /// Mean pause between two sends of one user.
    #[serde(with = "human_duration")]
    pub think_time: Duration,
    /// Mean pause between two sends of a member of a busy room (`rooms.hot`).
    #[serde(with = "human_duration")]
    pub hot_think_time: Duration,
    /// Each pause is the think time times a uniform factor in `1 ± jitter`.
    pub jitter: f64,
    /// Bytes of each message's content (at least the tracking header).
    pub content_bytes: usize,
    /// How a user picks the room of a send among its rooms, by kind.
    pub weights: RoomWeights,
    /// A send without an ack by then counts as an `ack_timeout` error and is retried
    /// with the same `client_msg_id`.
    #[serde(with = "human_duration")]
    pub ack_timeout: Duration,
    /// At the end, how long users stay connected without sending so that everything
    /// acknowledged can arrive. A message acked this long before a recipient left is
    /// expected by it.
    #[serde(with = "human_duration")]
    pub settle: Duration,
}

impl Default for Traffic {
    fn default() -> Self {
        Self {
            think_time: Duration::from_secs(5),
            hot_think_time: Duration::from_secs(1),
            jitter: 0.5,
            content_bytes: 100,
            weights: RoomWeights::default(),
            ack_timeout: Duration::from_secs(10),
            settle: Duration::from_secs(5),
        }
    }
}

/// Relative weights of room kinds when picking where to send.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoomWeights {
    pub direct: f64,
    pub group: f64,
    pub large: f64,
}

impl Default for RoomWeights {
    fn default() -> Self {
        Self {
            direct: 5.0,
            group: 4.0,
            large: 1.0,
        }
    }
}

/// How sockets are opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Connections {
    /// Local addresses 127.0.0.1..=N used in turn when the target is on loopback, so one
    /// run can go past the ephemeral port range of a single source address.
    pub source_addresses: u8,
    #[serde(with = "human_duration")]
    pub connect_timeout: Duration,
    /// Pause before reconnecting after an unexpected close (doubles up to 10 s).
    #[serde(with = "human_duration")]
    pub reconnect_backoff: Duration,
}

impl Default for Connections {
    fn default() -> Self {
        Self {
            source_addresses: 16,
            connect_timeout: Duration::from_secs(10),
            reconnect_backoff: Duration::from_millis(200),
        }
    }
}

/// Killing connections on purpose, to exercise reconnect and catch-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Chaos {
    /// Share of connected users whose TCP connection is dropped (no close handshake)
    /// each round; 0 turns it off.
    pub kill_share: f64,
    /// Time between rounds.
    #[serde(with = "human_duration")]
    pub every: Duration,
    /// How long a killed user stays away before reconnecting with `auth.resume`.
    #[serde(with = "human_duration")]
    pub down: Duration,
}

impl Default for Chaos {
    fn default() -> Self {
        Self {
            kill_share: 0.0,
            every: Duration::from_secs(10),
            down: Duration::from_secs(1),
        }
    }
}

/// Limits that fail the run (non-zero exit) when missed; unset ones are not checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// End-to-end delivery p99, in milliseconds.
    pub max_p99_ms: Option<f64>,
    pub max_lost: Option<u64>,
    pub max_duplicated: Option<u64>,
    /// Errors (error frames, failed connects, ack timeouts) per send.
    pub max_error_rate: Option<f64>,
}

impl Scenario {
    /// Reads a scenario file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading scenario {}", path.display()))?;
        let scenario = Self::parse(&text).with_context(|| format!("in {}", path.display()))?;
        Ok(scenario)
    }

    /// Parses and checks a scenario.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let scenario: Self = toml::from_str(text)?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// The checks a parsed scenario must pass (also after command line overrides).
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.users > 0, "users must be at least 1");
        anyhow::ensure!(
            !self.stages.is_empty(),
            "a scenario needs at least one stage"
        );
        anyhow::ensure!(
            self.rooms.group_size[0] >= 2 && self.rooms.group_size[0] <= self.rooms.group_size[1],
            "rooms.group_size must be [min, max] with 2 <= min <= max"
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.traffic.jitter),
            "traffic.jitter must be in [0, 1)"
        );
        anyhow::ensure!(
            (0.0..=1.0).contains(&self.chaos.kill_share),
            "chaos.kill_share must be in [0, 1]"
        );
        anyhow::ensure!(
            !self.traffic.think_time.is_zero() && !self.traffic.hot_think_time.is_zero(),
            "traffic.think_time and traffic.hot_think_time must be above zero"
        );
        anyhow::ensure!(
            self.rooms.hot <= self.rooms.groups,
            "rooms.hot cannot be more than rooms.groups"
        );
        anyhow::ensure!(
            self.connections.source_addresses >= 1,
            "connections.source_addresses must be at least 1"
        );
        anyhow::ensure!(
            self.accounts.concurrency >= 1,
            "accounts.concurrency must be at least 1"
        );
        let weights = self.traffic.weights;
        anyhow::ensure!(
            [weights.direct, weights.group, weights.large]
                .iter()
                .all(|w| w.is_finite() && *w >= 0.0),
            "traffic.weights must be finite and not negative"
        );
        Ok(())
    }

    /// The account prefix: `accounts.prefix`, or `lt_<name>` made username-safe.
    pub fn account_prefix(&self) -> String {
        if !self.accounts.prefix.is_empty() {
            return self.accounts.prefix.clone();
        }
        let name: String = self
            .name
            .to_lowercase()
            .chars()
            .map(|c| match c {
                'a'..='z' | '0'..='9' | '_' | '.' | '-' => c,
                _ => '_',
            })
            .take(20)
            .collect();
        format!("lt_{name}")
    }

    /// Total length of the stages (settling comes after).
    pub fn duration(&self) -> Duration {
        self.stages.iter().map(|stage| stage.duration).sum()
    }

    /// Connected users wanted `elapsed` into the run: linear within each stage, capped
    /// by `users`; 0 after the last stage.
    pub fn target_at(&self, elapsed: Duration) -> usize {
        let mut from = 0usize;
        let mut start = Duration::ZERO;
        for stage in &self.stages {
            let end = start + stage.duration;
            if elapsed < end {
                let into = (elapsed - start).as_secs_f64() / stage.duration.as_secs_f64();
                let target = from as f64 + (stage.target as f64 - from as f64) * into;
                return (target.round() as usize).min(self.users);
            }
            from = stage.target;
            start = end;
        }
        0
    }

    /// Which stage runs `elapsed` into the run (1-based), or `None` after the last.
    pub fn stage_at(&self, elapsed: Duration) -> Option<usize> {
        let mut end = Duration::ZERO;
        for (index, stage) in self.stages.iter().enumerate() {
            end += stage.duration;
            if elapsed < end {
                return Some(index + 1);
            }
        }
        None
    }

    /// The most users connected at once.
    pub fn peak_users(&self) -> usize {
        self.stages
            .iter()
            .map(|stage| stage.target)
            .max()
            .unwrap_or(0)
            .min(self.users)
    }
}

/// Durations as humantime strings (`"30s"`, `"2m"`, `"150ms"`).
pub mod human_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*value).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_file_names_only_what_it_changes() {
        let scenario = Scenario::parse(
            r#"
            name = "Smoke 1000"
            users = 1000

            [[stages]]
            duration = "10s"
            target = 1000

            [[stages]]
            duration = "1m 30s"
            target = 500

            [rooms]
            groups = 20
            group_size = [10, 50]
            large = 1000

            [traffic]
            think_time = "2s"

            [thresholds]
            max_p99_ms = 25.0
            max_lost = 0
            "#,
        )
        .expect("parses");

        assert_eq!(scenario.users, 1000);
        assert_eq!(
            scenario.stages,
            vec![
                Stage::new(Duration::from_secs(10), 1000),
                Stage::new(Duration::from_secs(90), 500)
            ]
        );
        assert_eq!(scenario.rooms.groups, 20);
        assert!(scenario.rooms.direct, "unnamed fields keep their default");
        assert_eq!(scenario.traffic.think_time, Duration::from_secs(2));
        assert_eq!(scenario.traffic.settle, Traffic::default().settle);
        assert_eq!(scenario.thresholds.max_p99_ms, Some(25.0));
        assert_eq!(scenario.thresholds.max_duplicated, None);
        assert_eq!(scenario.account_prefix(), "lt_smoke_1000");
        assert_eq!(scenario.duration(), Duration::from_secs(100));
        assert_eq!(scenario.peak_users(), 1000);
    }

    #[test]
    fn typos_and_impossible_values_are_refused() {
        let typo = Scenario::parse("userz = 10").expect_err("unknown field");
        assert!(typo.to_string().contains("userz"), "{typo}");
        let duration =
            Scenario::parse("[traffic]\nthink_time = \"soon\"").expect_err("bad duration");
        assert!(duration.to_string().contains("think_time"), "{duration}");
        assert!(Scenario::parse("users = 0").is_err());
        assert!(Scenario::parse("[rooms]\ngroup_size = [50, 10]").is_err());
        assert!(Scenario::parse("[chaos]\nkill_share = 2.0").is_err());
    }

    #[test]
    fn stages_ramp_linearly_and_end_at_zero() {
        let scenario = Scenario {
            users: 1000,
            stages: vec![
                Stage::new(Duration::from_secs(10), 1000),
                Stage::new(Duration::from_secs(10), 1000),
                Stage::new(Duration::from_secs(10), 0),
            ],
            ..Scenario::default()
        };

        assert_eq!(scenario.target_at(Duration::ZERO), 0);
        assert_eq!(scenario.target_at(Duration::from_secs(5)), 500);
        assert_eq!(scenario.target_at(Duration::from_secs(15)), 1000);
        assert_eq!(scenario.target_at(Duration::from_millis(27_500)), 250);
        assert_eq!(scenario.target_at(Duration::from_secs(30)), 0);
        assert_eq!(scenario.stage_at(Duration::from_secs(12)), Some(2));
        assert_eq!(scenario.stage_at(Duration::from_secs(31)), None);
    }

    #[test]
    fn targets_are_capped_by_the_accounts() {
        let scenario = Scenario {
            users: 10,
            stages: vec![Stage::new(Duration::from_secs(1), 50)],
            ..Scenario::default()
        };
        assert_eq!(scenario.target_at(Duration::from_millis(999)), 10);
        assert_eq!(scenario.peak_users(), 10);
    }

    #[test]
    fn the_shipped_scenarios_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("scenarios folder") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|ext| ext == "toml") {
                Scenario::load(&path).expect("scenario parses");
                seen += 1;
            }
        }
        assert!(seen >= 2, "standard-1000 and smoke-1000 ship");
    }
}
