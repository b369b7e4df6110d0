//! The outcome of a run: every shard's results merged and judged, as a summary table on
//! the terminal, a JSON document for machines and a self-contained HTML page for
//! people, plus the threshold checks that decide the exit code.

pub mod html;
pub mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::accounting::{self, Ledger, Verdict};
use crate::faults::Faults;
use crate::metrics::{Counts, Summary, Timeline};
use crate::prometheus::Scraped;
use crate::scenario::{Scenario, Thresholds};
use crate::shard::ShardResult;

/// One second of the run, as charts and the JSON show it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondRow {
    pub second: usize,
    pub users: u64,
    pub connects: u64,
    pub sends: u64,
    pub acks: u64,
    pub deliveries: u64,
    pub errors: u64,
    pub ack_p99: f64,
    pub e2e_p50: f64,
    pub e2e_p99: f64,
}

/// Average and peak rates over the stages, per second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub sends: f64,
    pub acks: f64,
    pub deliveries: f64,
    pub peak_sends: u64,
    pub peak_deliveries: u64,
}

/// What the stack's metrics say, in a few figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StackFigures {
    /// The most sockets one gateway held at once (`chat_gateway_connections` peak).
    pub most_connections_on_one_gateway: Option<f64>,
    /// Deliveries the gateways counted during the run.
    pub gateway_deliveries: Option<f64>,
    /// Messages the gateways accepted during the run.
    pub gateway_messages: Option<f64>,
    /// CPU seconds the scraped processes used during the run (where they export it).
    pub cpu_seconds: Option<f64>,
}

/// One threshold and how the run did against it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub limit: f64,
    pub actual: f64,
    pub passed: bool,
}

/// Everything about one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub run: String,
    pub scenario: Scenario,
    pub url: String,
    /// RFC 3339.
    pub started_at: String,
    /// The same, in unix nanoseconds: what the faults' times are read against.
    #[serde(default)]
    pub started_at_nanos: i64,
    /// Stages plus settling, in seconds.
    pub duration: f64,
    pub users: usize,
    pub peak_connected: u64,
    pub processes: usize,
    /// CPU seconds the load tool's processes used during the stages and settling.
    pub client_cpu_seconds: Option<f64>,
    pub connect: Summary,
    pub ack: Summary,
    pub e2e: Summary,
    pub counts: Counts,
    pub rates: Rates,
    pub verdict: Verdict,
    /// Errors per send.
    pub error_rate: f64,
    pub errors: BTreeMap<String, u64>,
    pub close_codes: BTreeMap<String, u64>,
    pub seconds: Vec<SecondRow>,
    pub stack: StackFigures,
    pub scraped: Vec<Scraped>,
    pub checks: Vec<Check>,
    /// Every ack of the run, written apart (`acks.json`): what a check of the stack's
    /// storage compares with (each acknowledged message stored exactly once).
    #[serde(skip)]
    pub ledger: Ledger,
}

impl Report {
    /// Merges the shards' results and judges them.
    pub fn build(
        run: &str,
        url: &str,
        scenario: &Scenario,
        results: &[ShardResult],
        scraped: Vec<Scraped>,
        faults: &Faults,
    ) -> anyhow::Result<Self> {
        let first = results.first().context("no results to report")?;
        let mut timeline = Timeline::new(first.timeline.started_at);
        let mut ledger = Ledger::default();
        let mut records = Vec::new();
        for result in results {
            timeline.merge(&result.timeline);
            ledger.merge(result.ledger.clone());
            records.extend(result.records.iter().cloned());
        }
        let settle_nanos = scenario.traffic.settle.as_nanos() as i64;
        let verdict = accounting::evaluate(&ledger.index(), &records, settle_nanos, faults);

        let seconds: Vec<SecondRow> = timeline
            .seconds
            .iter()
            .enumerate()
            .map(|(second, s)| SecondRow {
                second,
                users: s.users,
                connects: s.connects,
                sends: s.sends,
                acks: s.acks,
                deliveries: s.deliveries,
                errors: s.errors,
                ack_p99: if s.ack.count() > 0 {
                    s.ack.quantile_ms(0.99)
                } else {
                    0.0
                },
                e2e_p50: if s.e2e.count() > 0 {
                    s.e2e.quantile_ms(0.5)
                } else {
                    0.0
                },
                e2e_p99: if s.e2e.count() > 0 {
                    s.e2e.quantile_ms(0.99)
                } else {
                    0.0
                },
            })
            .collect();
        // A run stopped early (SIGINT, SIGTERM) lasted less than its stages.
        let stage_seconds = scenario
            .duration()
            .as_secs_f64()
            .min(seconds.len() as f64)
            .max(1.0);
        let counts = timeline.counts;
        let rates = Rates {
            sends: counts.sends as f64 / stage_seconds,
            acks: counts.acks as f64 / stage_seconds,
            deliveries: counts.deliveries as f64 / stage_seconds,
            peak_sends: seconds.iter().map(|s| s.sends).max().unwrap_or(0),
            peak_deliveries: seconds.iter().map(|s| s.deliveries).max().unwrap_or(0),
        };
        let error_rate = counts.errors as f64 / counts.sends.max(1) as f64;
        let started_at = std::time::UNIX_EPOCH
            + std::time::Duration::from_nanos(u64::try_from(timeline.started_at).unwrap_or(0));
        let mut report = Self {
            run: run.to_owned(),
            scenario: scenario.clone(),
            url: url.to_owned(),
            started_at: humantime::format_rfc3339_seconds(started_at).to_string(),
            started_at_nanos: timeline.started_at,
            duration: seconds.len() as f64,
            users: scenario.users,
            peak_connected: results.iter().map(|r| r.peak_connected).sum(),
            processes: results.len(),
            client_cpu_seconds: results.iter().map(|r| r.cpu_seconds).sum::<Option<f64>>(),
            connect: timeline.connect.summary(),
            ack: timeline.ack.summary(),
            e2e: timeline.e2e.summary(),
            counts,
            rates,
            verdict,
            error_rate,
            errors: timeline.errors.clone(),
            close_codes: timeline.close_codes.clone(),
            seconds,
            stack: stack_figures(&scraped),
            scraped,
            checks: Vec::new(),
            ledger,
        };
        report.checks = checks(&report, &scenario.thresholds);
        Ok(report)
    }

    /// Seconds from the run's start to `at` (unix nanoseconds).
    pub fn second_of(&self, at: i64) -> f64 {
        (at - self.started_at_nanos) as f64 / 1e9
    }

    /// The thresholds the run missed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|check| !check.passed)
    }

    /// Writes `report.json`, `report.html` and `acks.json` into `dir`; returns the paths
    /// of the first two.
    pub fn write(&self, dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir)?;
        let acks = dir.join("acks.json");
        std::fs::write(&acks, serde_json::to_vec(&self.ledger)?)
            .with_context(|| format!("writing {}", acks.display()))?;
        let json = dir.join("report.json");
        std::fs::write(&json, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("writing {}", json.display()))?;
        let html_path = dir.join("report.html");
        std::fs::write(&html_path, html::render(self))
            .with_context(|| format!("writing {}", html_path.display()))?;
        Ok((json, html_path))
    }
}

fn stack_figures(scraped: &[Scraped]) -> StackFigures {
    let reachable: Vec<&Scraped> = scraped.iter().filter(|s| s.reachable).collect();
    let sum = |name: &str| -> Option<f64> {
        let values: Vec<f64> = reachable.iter().filter_map(|s| s.delta_of(name)).collect();
        (!values.is_empty()).then(|| values.iter().sum())
    };
    StackFigures {
        most_connections_on_one_gateway: reachable
            .iter()
            .filter_map(|s| s.get("chat_gateway_connections"))
            .map(|change| change.peak)
            .reduce(f64::max),
        gateway_deliveries: sum("chat_gateway_deliveries_total"),
        gateway_messages: sum("chat_gateway_messages_sent_total"),
        cpu_seconds: sum("process_cpu_seconds_total"),
    }
}

fn checks(report: &Report, thresholds: &Thresholds) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut check = |name: &str, limit: Option<f64>, actual: f64| {
        if let Some(limit) = limit {
            checks.push(Check {
                name: name.to_owned(),
                limit,
                actual,
                passed: actual <= limit,
            });
        }
    };
    check("e2e p99 (ms)", thresholds.max_p99_ms, report.e2e.p99);
    check(
        "lost",
        thresholds.max_lost.map(|n| n as f64),
        report.verdict.lost as f64,
    );
    check(
        "duplicated",
        thresholds.max_duplicated.map(|n| n as f64),
        report.verdict.duplicated as f64,
    );
    check("error rate", thresholds.max_error_rate, report.error_rate);
    checks
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use chat_protocol::{Position, RoomId};

    use super::*;
    use crate::accounting::{Acked, RoomView};
    use crate::metrics::{Recorder, unix_nanos};
    use crate::shard::Shard;

    /// A small finished run: two users in one room, a few messages, one lost.
    pub fn sample() -> Report {
        let started_at = unix_nanos() - 3_000_000_000;
        let recorder = Recorder::new(started_at);
        let room = RoomId::new();
        let mut ledger = Ledger::default();
        let mut view = RoomView::new(Position::new(1, 0));
        for seq in 1..=5u64 {
            recorder.sent(false);
            recorder.acked(Duration::from_millis(2 + seq));
            ledger.record(Acked {
                room,
                position: Position::new(1, seq),
                sender: 0,
                seq,
                acked_at: started_at,
            });
            if seq != 3 {
                view.receive(Position::new(1, seq), Some((0, seq)), started_at);
                recorder.delivered(Some(Duration::from_millis(5 * seq)), false);
            }
        }
        recorder.connected(Duration::from_millis(12), false);
        recorder.error("rate_limited");
        recorder.sample_users();
        view.close(unix_nanos());
        let result = ShardResult {
            shard: Shard::WHOLE,
            users: 2,
            peak_connected: 1,
            cpu_seconds: Some(0.5),
            timeline: recorder.timeline(),
            ledger,
            records: vec![view.record(1, room)],
            renewed: Vec::new(),
        };
        let scenario = Scenario {
            thresholds: Thresholds {
                max_p99_ms: Some(100.0),
                max_lost: Some(0),
                max_duplicated: Some(0),
                max_error_rate: None,
            },
            ..Scenario::default()
        };
        // One fault around the acks, ended a second later.
        let faults = Faults::parse(
            &format!(
                "{{\"at\": {}, \"fault\": \"Redis restarted\", \"event\": \"start\"}}\n\
                 {{\"at\": {}, \"fault\": \"Redis restarted\", \"event\": \"end\"}}",
                started_at - 1_000_000_000,
                started_at + 1_000_000_000
            ),
            0,
        )
        .expect("faults");
        Report::build(
            "r1",
            "http://127.0.0.1:8080",
            &scenario,
            &[result],
            Vec::new(),
            &faults,
        )
        .expect("report")
    }

    #[test]
    fn a_report_merges_measures_and_judges() {
        let report = sample();

        assert_eq!(report.counts.sends, 5);
        assert_eq!(report.counts.deliveries, 4);
        assert_eq!(report.verdict.expected, 5);
        assert_eq!(report.verdict.lost, 1);
        let fault = &report.verdict.faults[0];
        assert_eq!((fault.acked, fault.lost), (5, 1), "{fault:?}");
        assert_eq!(report.verdict.faults[1].acked, 0, "nothing between faults");
        assert_eq!(report.e2e.count, 4);
        assert!((report.e2e.max - 25.0).abs() < 0.1, "{:?}", report.e2e);
        assert!((report.error_rate - 0.2).abs() < 1e-9);
        let failed: Vec<_> = report.failures().map(|c| c.name.as_str()).collect();
        assert_eq!(failed, vec!["lost"]);
        assert_eq!(report.checks.len(), 3);
    }

    #[test]
    fn reports_round_trip_through_json() {
        let report = sample();
        let json = serde_json::to_string(&report).expect("serializes");
        let back: Report = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back.verdict, report.verdict);
        assert_eq!(back.seconds, report.seconds);
    }
}
