//! Several processes for one run. A process may hold 20,000 open files here, so past
//! several thousand sockets the users are split over worker processes: the parent
//! writes the plan, starts copies of this program with `--worker i/n --plan FILE`, shows
//! their combined progress (each prints one JSON progress line a second on standard
//! output) and merges the results they write (`shard-<i>.json`).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::progress::{Display, combine};
use crate::shard::{self, Plan, Progress, Shard, ShardResult};

/// Prefix of a worker's progress lines.
const PROGRESS_LINE: &str = "progress ";

/// Where shard `shard` writes its result.
pub fn result_path(out: &Path, shard: Shard) -> PathBuf {
    out.join(format!("shard-{}.json", shard.index))
}

/// Runs `count` workers of `program` on the plan at `plan_path`; returns their results.
pub async fn spawn(
    program: &Path,
    plan_path: &Path,
    out: &Path,
    count: usize,
    display: &mut Display,
) -> anyhow::Result<Vec<ShardResult>> {
    let (progress_tx, mut progress_rx) = mpsc::unbounded_channel::<(usize, Progress)>();
    let mut children = Vec::new();
    for index in 0..count {
        let shard = Shard { index, count };
        let _ = std::fs::remove_file(result_path(out, shard));
        let mut child = Command::new(program)
            .arg("--plan")
            .arg(plan_path)
            .arg("--worker")
            .arg(shard.to_string())
            .arg("--out")
            .arg(out)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting worker {shard} ({})", program.display()))?;
        let stdout = child.stdout.take().context("worker stdout")?;
        let progress_tx = progress_tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(json) = line.strip_prefix(PROGRESS_LINE)
                    && let Ok(progress) = serde_json::from_str(json)
                {
                    let _ = progress_tx.send((index, progress));
                }
            }
        });
        children.push((shard, child));
    }
    drop(progress_tx);

    let mut latest = vec![Progress::default(); count];
    let waiting = async {
        let mut statuses = Vec::new();
        for (shard, child) in &mut children {
            statuses.push((*shard, child.wait().await));
        }
        statuses
    };
    tokio::pin!(waiting);
    let statuses = loop {
        tokio::select! {
            statuses = &mut waiting => break statuses,
            Some((index, progress)) = progress_rx.recv() => {
                latest[index] = progress;
                display.update(&combine(&latest));
            }
        }
    };
    let mut results = Vec::new();
    for (shard, status) in statuses {
        let status = status.with_context(|| format!("waiting for worker {shard}"))?;
        anyhow::ensure!(status.success(), "worker {shard} failed ({status})");
        results.push(read_result(&result_path(out, shard))?);
    }
    Ok(results)
}

/// The body of a worker process: runs its shard, printing progress lines, and writes
/// its result.
pub async fn work(plan_path: &Path, shard: Shard, out: &Path) -> anyhow::Result<()> {
    let plan = Plan::load(plan_path)?;
    let result = shard::run(&plan, shard, |progress| {
        if let Ok(json) = serde_json::to_string(&progress) {
            println!("{PROGRESS_LINE}{json}");
        }
    })
    .await?;
    write_result(&result_path(out, shard), &result)
}

pub fn write_result(path: &Path, result: &ShardResult) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_vec(result)?)
        .with_context(|| format!("writing {}", path.display()))
}

pub fn read_result(path: &Path) -> anyhow::Result<ShardResult> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))
}
