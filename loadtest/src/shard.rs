//! A shard of a run: the users one process drives, through the stages.
//!
//! Every process of a run reads the same [`Plan`] (accounts, rooms, the scenario and
//! the start time) and drives the users whose index falls in its shard (`i % n`). The
//! stages are computed from the shared start time, so several processes ramp together
//! as one; their [`ShardResult`]s merge into one report.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::accounting::{Ledger, RoomRecord};
use crate::accounts::Account;
use crate::api::Api;
use crate::connection::Target;
use crate::metrics::{Recorder, Snapshot, Timeline, process_cpu_seconds, unix_nanos};
use crate::rooms::{Room, hot_members, rooms_of};
use crate::scenario::Scenario;
use crate::user::{self, Command, UserState};

/// What every process of a run shares.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// Short id marking this run's messages and rooms.
    pub run: String,
    /// The stack's URLs (REST at the first; sockets spread over all).
    pub urls: Vec<String>,
    pub scenario: Scenario,
    /// When stage 1 starts (unix nanoseconds).
    pub started_at: i64,
    pub accounts: Vec<Account>,
    pub rooms: Vec<Room>,
}

impl Plan {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, serde_json::to_vec(self)?)
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// Shard `index` of `count` (`"i/n"` on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const WHOLE: Self = Self { index: 0, count: 1 };

    pub fn owns(&self, user: usize) -> bool {
        user % self.count == self.index
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (index, count) = s.split_once('/').ok_or("expected i/n, like 0/4")?;
        let index: usize = index.parse().map_err(|_| "i must be a number")?;
        let count: usize = count.parse().map_err(|_| "n must be a number")?;
        if count == 0 || index >= count {
            return Err("need 0 <= i < n".to_owned());
        }
        Ok(Self { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a shard measured and saw.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardResult {
    pub shard: Shard,
    pub users: usize,
    pub peak_connected: u64,
    /// CPU seconds this process used while driving the users.
    pub cpu_seconds: Option<f64>,
    pub timeline: Timeline,
    pub ledger: Ledger,
    pub records: Vec<RoomRecord>,
    /// Sessions renewed during the run (for the token cache).
    pub renewed: Vec<Account>,
}

/// Where a shard stands, once a second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub elapsed: f64,
    /// 1-based; `None` while settling.
    pub stage: Option<usize>,
    /// Users wanted now, over the whole run.
    pub target: usize,
    pub live: Snapshot,
}

/// A user's task and how to reach it.
struct Running {
    commands: mpsc::Sender<Command>,
    task: JoinHandle<UserState>,
}

/// Drives this shard's users through the plan's stages, then settles and stops them.
pub async fn run(
    plan: &Plan,
    shard: Shard,
    mut report_progress: impl FnMut(Progress),
) -> anyhow::Result<ShardResult> {
    let scenario = &plan.scenario;
    let target = Target::resolve(&plan.urls, scenario.connections.source_addresses).await?;
    let recorder = Arc::new(Recorder::new(plan.started_at));
    let (sending, sending_now) = watch::channel(true);
    let context = Arc::new(user::Context {
        run: plan.run.clone(),
        api: Arc::new(Api::new(&target)?),
        target,
        traffic: scenario.traffic.clone(),
        connections: scenario.connections.clone(),
        recorder: recorder.clone(),
        sending: sending_now,
    });

    let rooms = rooms_of(&plan.rooms, plan.accounts.len());
    let busy = hot_members(&plan.rooms, scenario.rooms.hot);
    let mut idle: HashMap<u32, UserState> = plan
        .accounts
        .iter()
        .filter(|account| shard.owns(account.index as usize))
        .map(|account| {
            let state = UserState::new(
                account.clone(),
                &rooms[account.index as usize],
                &scenario.traffic,
                busy.contains(&account.index),
            );
            (account.index, state)
        })
        .collect();
    let users = idle.len();
    let mut running: HashMap<u32, Running> = HashMap::new();
    let mut leaving: Vec<JoinHandle<UserState>> = Vec::new();

    let elapsed =
        || Duration::from_nanos(u64::try_from(unix_nanos() - plan.started_at).unwrap_or(0));
    let wait = Duration::from_nanos(u64::try_from(plan.started_at - unix_nanos()).unwrap_or(0));
    tokio::time::sleep(wait).await;

    let cpu_at_start = process_cpu_seconds();
    let total = scenario.duration();
    let stop = stop_requested();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut next_progress = Duration::ZERO;
    let mut next_chaos = scenario.chaos.every;
    let mut rng = rand::rngs::StdRng::seed_from_u64(shard.index as u64);
    loop {
        tick.tick().await;
        let now = elapsed();
        if now >= total || stop.load(Ordering::Relaxed) {
            break;
        }
        let wanted = scenario.target_at(now);
        // Users join in index order and leave in reverse.
        let joining: Vec<u32> = idle
            .keys()
            .copied()
            .filter(|i| (*i as usize) < wanted)
            .collect();
        for index in joining {
            let state = idle.remove(&index).expect("idle user");
            let (commands, inbox) = mpsc::channel(4);
            let task = tokio::spawn(user::run(state, context.clone(), inbox));
            running.insert(index, Running { commands, task });
        }
        let leavers: Vec<u32> = running
            .keys()
            .copied()
            .filter(|i| (*i as usize) >= wanted)
            .collect();
        for index in leavers {
            let user = running.remove(&index).expect("running user");
            let _ = user.commands.send(Command::Stop).await;
            leaving.push(user.task);
        }
        // Users that left may be wanted again by a later stage.
        let (done, still): (Vec<_>, Vec<_>) =
            leaving.into_iter().partition(JoinHandle::is_finished);
        leaving = still;
        for task in done {
            let state = task.await.context("a user task failed")?;
            idle.insert(state.index(), state);
        }

        if scenario.chaos.kill_share > 0.0 && now >= next_chaos {
            next_chaos += scenario.chaos.every;
            let mut victims: Vec<&Running> = running.values().collect();
            victims.shuffle(&mut rng);
            let count = (victims.len() as f64 * scenario.chaos.kill_share).round() as usize;
            for victim in victims.into_iter().take(count) {
                let _ = victim.commands.try_send(Command::Kill {
                    down: scenario.chaos.down,
                });
            }
        }

        recorder.sample_users();
        if now >= next_progress {
            next_progress = now + Duration::from_secs(1);
            report_progress(Progress {
                elapsed: now.as_secs_f64(),
                stage: scenario.stage_at(now),
                target: wanted,
                live: recorder.snapshot(),
            });
        }
    }

    // Settle: no more sends; what was acked has time to arrive.
    let _ = sending.send(false);
    if !running.is_empty() {
        let final_target = scenario
            .stages
            .last()
            .map_or(0, |stage| stage.target)
            .min(scenario.users);
        let settle_until = elapsed() + scenario.traffic.settle;
        loop {
            let now = elapsed();
            if now >= settle_until {
                break;
            }
            recorder.sample_users();
            report_progress(Progress {
                elapsed: now.as_secs_f64(),
                stage: None,
                target: final_target,
                live: recorder.snapshot(),
            });
            tokio::time::sleep((settle_until - now).min(Duration::from_secs(1))).await;
        }
    }
    for user in running.values() {
        let _ = user.commands.send(Command::Stop).await;
    }
    leaving.extend(running.into_values().map(|user| user.task));
    let mut states: Vec<UserState> = idle.into_values().collect();
    for task in leaving {
        states.push(task.await.context("a user task failed")?);
    }
    report_progress(Progress {
        elapsed: elapsed().as_secs_f64(),
        stage: None,
        target: 0,
        live: recorder.snapshot(),
    });

    let mut ledger = Ledger::default();
    let mut records = Vec::new();
    let mut renewed = Vec::new();
    for state in &mut states {
        records.extend(state.records());
        ledger.acks.append(&mut state.acks);
        if state.renewed {
            renewed.push(state.account.clone());
        }
    }
    Ok(ShardResult {
        shard,
        users,
        peak_connected: recorder.peak_connected(),
        cpu_seconds: cpu_at_start
            .zip(process_cpu_seconds())
            .map(|(start, end)| end - start),
        timeline: recorder.timeline(),
        ledger,
        records,
        renewed,
    })
}

/// Set once SIGINT or SIGTERM arrives: the stages end early and the run settles and
/// reports as if the last stage had ended (a long run stopped by its operator, or by a
/// test that decides when it has seen enough).
fn stop_requested() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        let Ok(mut terminate) = signal(SignalKind::terminate()) else {
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        flag.store(true, Ordering::Relaxed);
    });
    stop
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_users() {
        let shard: Shard = "1/4".parse().expect("shard");
        assert_eq!(shard, Shard { index: 1, count: 4 });
        assert!(shard.owns(5) && !shard.owns(6));
        assert_eq!(shard.to_string(), "1/4");
        assert!("4/4".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
        assert!(Shard::WHOLE.owns(12345));
    }
}
