//! The faults a driver caused during a run (`--faults FILE`), so the report can say what
//! happened around each one.
//!
//! The driver (`deploy/local/faults.sh`, `make chaos`) appends one JSON line per step while
//! the run goes on:
//!
//! ```text
//! {"at": 1764855000123456789, "fault": "Redis restarted", "event": "start"}
//! {"at": 1764855004567890123, "fault": "Redis restarted", "event": "end"}
//! ```
//!
//! `at` is unix nanoseconds; `start` is when the fault was caused, `end` when the stack
//! served again. A fault's *span* runs from its start to its end plus the scenario's
//! settle time (what was in flight when it ended still lands in it). Faults follow one
//! another; when spans overlap, the later fault owns the overlap. A lost delivery belongs
//! to the span its message was acknowledged in; a duplicate, a late arrival or a resync
//! to the span it was received in; anything else is "between faults".

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// One line of the driver's file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    at: i64,
    fault: String,
    event: StepEvent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum StepEvent {
    Start,
    End,
}

/// One fault as the run saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub name: String,
    /// Unix nanoseconds.
    pub started_at: i64,
    /// When the stack served again; `None` when the driver never said so.
    pub ended_at: Option<i64>,
}

/// The run's faults in the order they started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    faults: Vec<Fault>,
    settle_nanos: i64,
}

impl Faults {
    /// The faults of a driver's file (see the module's documentation).
    pub fn load(path: &Path, settle_nanos: i64) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the faults of {}", path.display()))?;
        Self::parse(&text, settle_nanos).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str, settle_nanos: i64) -> anyhow::Result<Self> {
        let mut faults: Vec<Fault> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let step: Step =
                serde_json::from_str(line).with_context(|| format!("line {}", n + 1))?;
            match step.event {
                StepEvent::Start => faults.push(Fault {
                    name: step.fault,
                    started_at: step.at,
                    ended_at: None,
                }),
                StepEvent::End => {
                    let fault = faults
                        .iter_mut()
                        .rev()
                        .find(|f| f.name == step.fault && f.ended_at.is_none())
                        .with_context(|| {
                            format!("line {}: `{}` ends but never started", n + 1, step.fault)
                        })?;
                    anyhow::ensure!(
                        step.at >= fault.started_at,
                        "line {}: `{}` ends before it starts",
                        n + 1,
                        step.fault
                    );
                    fault.ended_at = Some(step.at);
                }
            }
        }
        faults.sort_by_key(|f| f.started_at);
        Ok(Self {
            faults,
            settle_nanos,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Fault> {
        self.faults.iter()
    }

    /// The index of the fault whose span holds `at` (the latest one when several do).
    pub fn span_of(&self, at: i64) -> Option<usize> {
        self.faults.iter().rposition(|fault| {
            at >= fault.started_at
                && fault
                    .ended_at
                    .is_none_or(|end| at <= end.saturating_add(self.settle_nanos))
        })
    }

    /// An empty tally for each fault, then one for the time between faults.
    pub fn tallies(&self) -> Vec<FaultTally> {
        self.faults
            .iter()
            .map(|fault| FaultTally {
                fault: Some(fault.clone()),
                ..FaultTally::default()
            })
            .chain(std::iter::once(FaultTally::default()))
            .collect()
    }
}

/// What happened during one fault's span (or, with no fault, between them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultTally {
    /// `None`: the time outside every fault's span.
    pub fault: Option<Fault>,
    /// Distinct messages acknowledged in the span.
    pub acked: u64,
    /// Deliveries of those messages that never arrived.
    pub lost: u64,
    /// Positions or a sender's messages received again in the span.
    pub duplicated: u64,
    /// Arrivals in the span below a position already received.
    pub out_of_order: u64,
    /// Times the server told a client to resync in the span.
    pub resyncs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;

    fn faults() -> Faults {
        Faults::parse(
            r#"{"at": 10000000000, "fault": "Redis restarted", "event": "start"}
{"at": 14000000000, "fault": "Redis restarted", "event": "end"}

{"at": 30000000000, "fault": "gateway1 killed", "event": "start"}
{"at": 32000000000, "fault": "gateway1 killed", "event": "end"}
{"at": 33000000000, "fault": "history paused", "event": "start"}
"#,
            5 * SECOND,
        )
        .expect("parses")
    }

    #[test]
    fn a_span_runs_from_the_start_to_the_end_plus_the_settle_time() {
        let faults = faults();
        assert_eq!(faults.iter().count(), 3);
        assert_eq!(faults.span_of(9 * SECOND), None);
        assert_eq!(faults.span_of(10 * SECOND), Some(0));
        assert_eq!(faults.span_of(19 * SECOND), Some(0));
        assert_eq!(faults.span_of(19 * SECOND + 1), None);
        assert_eq!(faults.span_of(31 * SECOND), Some(1));
    }

    #[test]
    fn the_later_fault_owns_an_overlap_and_an_unended_fault_lasts() {
        let faults = faults();
        assert_eq!(
            faults.span_of(34 * SECOND),
            Some(2),
            "overlaps the kill's settle"
        );
        assert_eq!(faults.span_of(1_000 * SECOND), Some(2), "never ended");
        let tallies = faults.tallies();
        assert_eq!(tallies.len(), 4);
        assert_eq!(tallies[2].fault.as_ref().map(|f| f.ended_at), Some(None));
        assert!(tallies[3].fault.is_none());
    }

    #[test]
    fn bad_lines_are_refused_with_their_line_number() {
        let unknown = Faults::parse(r#"{"at": 1, "fault": "x", "event": "stop"}"#, 0);
        assert!(format!("{:#}", unknown.unwrap_err()).contains("line 1"));
        let orphan = Faults::parse(
            "{\"at\": 1, \"fault\": \"x\", \"event\": \"start\"}\n{\"at\": 2, \"fault\": \"y\", \"event\": \"end\"}",
            0,
        );
        assert!(format!("{:#}", orphan.unwrap_err()).contains("`y` ends but never started"));
        let backwards = Faults::parse(
            "{\"at\": 5, \"fault\": \"x\", \"event\": \"start\"}\n{\"at\": 2, \"fault\": \"x\", \"event\": \"end\"}",
            0,
        );
        assert!(format!("{:#}", backwards.unwrap_err()).contains("ends before it starts"));
    }
}
