//! The command line: a scenario and its overrides, and the steps of a run (accounts,
//! rooms, the stages in one or several processes, the report).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use crate::accounts::{self, TokenCache, Wanted};
use crate::api::Api;
use crate::connection::{Target, raise_open_file_limit};
use crate::faults::Faults;
use crate::metrics::unix_nanos;
use crate::progress::{self, Display};
use crate::prometheus::Watcher;
use crate::report::{Report, table};
use crate::rooms::{self, Leftovers};
use crate::scenario::{Scenario, Stage};
use crate::shard::{self, Plan, Shard, ShardResult};
use crate::workers;

/// Simulated chat users over the WebSocket protocol: exact delivery accounting
/// (lost, duplicated, out of order), latency percentiles and reports.
#[derive(Debug, Clone, Parser)]
#[command(name = "chat-loadtest", version)]
pub struct Cli {
    /// Scenario file (TOML); flags below override its fields.
    #[arg(long, short = 's', env = "LOADTEST_SCENARIO")]
    pub scenario: Option<PathBuf>,

    /// The stack: `http(s)://host:port` (REST at /api, WebSocket at /ws) or
    /// `ws(s)://host:port/ws`. Repeat it to spread sockets over several gateways
    /// without a balancer (REST goes to the first).
    #[arg(
        long = "url",
        env = "LOADTEST_URL",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:8080"
    )]
    pub urls: Vec<String>,

    /// Folder for reports, the plan and the caches (tokens, rooms to clean up).
    #[arg(long, env = "LOADTEST_OUT", default_value = ".run/loadtest")]
    pub out: PathBuf,

    /// Accounts, and the most users connected at once (caps the stage targets).
    #[arg(long, env = "LOADTEST_USERS")]
    pub users: Option<usize>,

    /// Replaces the stages: `DURATION:TARGET,...`, e.g. `30s:1000,2m:1000,10s:0`.
    #[arg(long)]
    pub stages: Option<String>,

    /// Mean pause between two sends of one user.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub think_time: Option<Duration>,

    /// The faults a driver caused during the run, one JSON line per step (see
    /// `faults.rs`), read when the report is made: the report tallies lost,
    /// duplicated and out-of-order deliveries per fault and marks them on its timeline.
    #[arg(long)]
    pub faults: Option<PathBuf>,

    /// Share of connected users dropped each chaos round (then they resume).
    #[arg(long)]
    pub kill_share: Option<f64>,

    /// Local 127.0.0.x addresses to spread sockets over on loopback.
    #[arg(long)]
    pub source_addresses: Option<u8>,

    /// Account name prefix (`<prefix>_<n>`).
    #[arg(long)]
    pub prefix: Option<String>,

    /// A Prometheus endpoint of the stack to report on (repeatable).
    #[arg(long = "metrics-url")]
    pub metrics_urls: Vec<String>,

    /// Fail when the end-to-end p99 is above this many milliseconds.
    #[arg(long)]
    pub max_p99: Option<f64>,

    /// Fail when more deliveries than this were lost.
    #[arg(long)]
    pub max_lost: Option<u64>,

    /// Fail when more deliveries than this were duplicated.
    #[arg(long)]
    pub max_duplicated: Option<u64>,

    /// Fail when errors per send are above this (0.01 = 1%).
    #[arg(long)]
    pub max_error_rate: Option<f64>,

    /// Processes to spread the users over (this program started again as workers).
    #[arg(long, default_value_t = 1)]
    pub processes: usize,

    /// Only create the accounts and rooms and write the plan (`<out>/plan.json`), for
    /// shards run separately.
    #[arg(long)]
    pub setup_only: bool,

    /// With --setup-only: when the stages start, from now.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub start_in: Duration,

    /// Use this plan instead of setting up (from --setup-only or an earlier run).
    #[arg(long)]
    pub plan: Option<PathBuf>,

    /// Run only shard `i/n` of the plan's users (writes `<out>/shard-<i>.json`).
    #[arg(long, requires = "plan", conflicts_with = "worker")]
    pub shard: Option<Shard>,

    /// Internal: run as worker `i/n` of a parent process.
    #[arg(long, hide = true, requires = "plan")]
    pub worker: Option<Shard>,

    /// Build the report from shard results (`shard-*.json`) of the plan given with --plan.
    #[arg(long, num_args = 1.., requires = "plan")]
    pub merge: Vec<PathBuf>,

    /// Keep the group and large rooms after the run.
    #[arg(long)]
    pub keep_rooms: bool,

    /// No progress display.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Program started for worker processes (default: this one).
    #[arg(long, hide = true)]
    pub worker_program: Option<PathBuf>,
}

/// How a run ended.
#[derive(Debug)]
pub struct Outcome {
    /// The report, when this invocation made one.
    pub report: Option<Report>,
    /// False when a threshold was missed.
    pub passed: bool,
}

impl Outcome {
    fn without_report() -> Self {
        Self {
            report: None,
            passed: true,
        }
    }
}

impl Cli {
    /// The scenario after the flags' overrides.
    pub fn scenario(&self) -> anyhow::Result<Scenario> {
        let mut scenario = match &self.scenario {
            Some(path) => Scenario::load(path)?,
            None => Scenario::default(),
        };
        if let Some(users) = self.users {
            scenario.users = users;
        }
        if let Some(stages) = &self.stages {
            scenario.stages = parse_stages(stages)?;
        }
        if let Some(think_time) = self.think_time {
            scenario.traffic.think_time = think_time;
        }
        if let Some(share) = self.kill_share {
            scenario.chaos.kill_share = share;
        }
        if let Some(sources) = self.source_addresses {
            scenario.connections.source_addresses = sources;
        }
        if let Some(prefix) = &self.prefix {
            scenario.accounts.prefix = prefix.clone();
        }
        let thresholds = &mut scenario.thresholds;
        thresholds.max_p99_ms = self.max_p99.or(thresholds.max_p99_ms);
        thresholds.max_lost = self.max_lost.or(thresholds.max_lost);
        thresholds.max_duplicated = self.max_duplicated.or(thresholds.max_duplicated);
        thresholds.max_error_rate = self.max_error_rate.or(thresholds.max_error_rate);
        if self.keep_rooms {
            scenario.rooms.cleanup = false;
        }
        scenario.validate()?;
        Ok(scenario)
    }
}

/// `30s:1000,2m:1000,10s:0`.
pub fn parse_stages(text: &str) -> anyhow::Result<Vec<Stage>> {
    text.split(',')
        .map(|stage| {
            let (duration, target) = stage
                .trim()
                .split_once(':')
                .with_context(|| format!("stage `{stage}` is not DURATION:TARGET"))?;
            Ok(Stage::new(
                humantime::parse_duration(duration.trim())
                    .with_context(|| format!("stage `{stage}`"))?,
                target
                    .trim()
                    .parse()
                    .with_context(|| format!("stage `{stage}`"))?,
            ))
        })
        .collect()
}

/// Does what the command line asks.
pub async fn execute(cli: Cli) -> anyhow::Result<Outcome> {
    let limit = raise_open_file_limit();
    std::fs::create_dir_all(&cli.out).with_context(|| format!("creating {}", cli.out.display()))?;

    if let Some(shard) = cli.worker {
        let plan = cli.plan.as_deref().context("--worker needs --plan")?;
        workers::work(plan, shard, &cli.out).await?;
        return Ok(Outcome::without_report());
    }
    if !cli.merge.is_empty() {
        let plan = Plan::load(cli.plan.as_deref().context("--merge needs --plan")?)?;
        let results = cli
            .merge
            .iter()
            .map(|path| workers::read_result(path))
            .collect::<anyhow::Result<Vec<_>>>()?;
        return finish(&cli, &plan, &results, Vec::new());
    }

    let scenario = cli.scenario()?;
    let per_process = scenario.peak_users().div_ceil(cli.processes.max(1)) as u64;
    if limit > 0 && per_process + 64 > limit {
        eprintln!(
            "warning: {per_process} sockets per process but only {limit} open files allowed; \
             use --processes"
        );
    }

    let (plan, plan_path) = match &cli.plan {
        Some(path) => (Plan::load(path)?, path.clone()),
        None => {
            let plan = set_up(&cli, &scenario).await?;
            let path = cli.out.join("plan.json");
            plan.save(&path)?;
            (plan, path)
        }
    };
    if cli.setup_only {
        eprintln!(
            "plan written to {}; its stages start at {}",
            plan_path.display(),
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + Duration::from_nanos(plan.started_at as u64)
            )
        );
        return Ok(Outcome::without_report());
    }

    let stages = plan.scenario.stages.len();
    let total = plan.scenario.duration() + plan.scenario.traffic.settle;
    let mut display = Display::new(total, stages, cli.quiet);

    if let Some(shard) = cli.shard {
        let result = shard::run(&plan, shard, |p| display.update(&p)).await?;
        display.finish();
        let path = workers::result_path(&cli.out, shard);
        workers::write_result(&path, &result)?;
        eprintln!(
            "shard {shard} done: {}; merge all shards with --plan {} --merge <out>/shard-*.json",
            path.display(),
            plan_path.display()
        );
        return Ok(Outcome::without_report());
    }

    let watcher = Watcher::start(cli.metrics_urls.clone(), Duration::from_secs(2));
    let results = if cli.processes > 1 {
        let program = match &cli.worker_program {
            Some(program) => program.clone(),
            None => std::env::current_exe().context("finding this program")?,
        };
        workers::spawn(&program, &plan_path, &cli.out, cli.processes, &mut display).await?
    } else {
        vec![shard::run(&plan, Shard::WHOLE, |p| display.update(&p)).await?]
    };
    display.finish();
    let scraped = watcher.finish().await;
    after_run(&cli, &plan, &results).await;
    finish(&cli, &plan, &results, scraped)
}

/// Accounts and rooms; the plan the run follows.
async fn set_up(cli: &Cli, scenario: &Scenario) -> anyhow::Result<Plan> {
    let target = Target::resolve(&cli.urls, scenario.connections.source_addresses).await?;
    let api = Api::new(&target)?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let prefix = scenario.account_prefix();

    let cache = TokenCache::load(TokenCache::path_for(&cli.out, &target));
    let bar = progress::steps(scenario.users as u64, "accounts", cli.quiet);
    let started = std::time::Instant::now();
    let (accounts, how) = accounts::ensure(
        &api,
        &cache,
        &Wanted {
            prefix: &prefix,
            password: &scenario.accounts.password,
            count: scenario.users,
            concurrency: scenario.accounts.concurrency,
            valid_for: scenario.duration() + scenario.traffic.settle + Duration::from_secs(120),
        },
        &bar,
    )
    .await?;
    bar.finish_and_clear();
    if !cli.quiet {
        eprintln!(
            "accounts ready in {:.1} s: {}",
            started.elapsed().as_secs_f64(),
            how.iter()
                .map(|(how, count)| format!("{how:?} {count}").to_lowercase())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    let leftovers_path = Leftovers::path_for(&cli.out, &target);
    let leftovers = Leftovers::load(&leftovers_path);
    if !leftovers.rooms.is_empty() {
        leftovers.delete(&api, &accounts).await;
        Leftovers::default().save(&leftovers_path)?;
    }
    let layout = rooms::layout(&scenario.rooms, scenario.users);
    let bar = progress::steps(layout.len() as u64, "rooms", cli.quiet);
    let started = std::time::Instant::now();
    let rooms = rooms::set_up(
        &api,
        &accounts,
        layout,
        &run,
        scenario.rooms.group_type,
        &bar,
    )
    .await?;
    bar.finish_and_clear();
    Leftovers::of(&rooms).save(&leftovers_path)?;
    if !cli.quiet {
        eprintln!(
            "{} rooms ready in {:.1} s",
            rooms.len(),
            started.elapsed().as_secs_f64()
        );
    }

    // Workers need a moment to start; separate shards need longer.
    let lead = if cli.setup_only {
        cli.start_in
    } else if cli.processes > 1 {
        Duration::from_secs(3)
    } else {
        Duration::from_millis(200)
    };
    Ok(Plan {
        run,
        urls: cli.urls.clone(),
        scenario: scenario.clone(),
        started_at: unix_nanos() + lead.as_nanos() as i64,
        accounts,
        rooms,
    })
}

/// Keeps renewed sessions and removes the run's rooms.
async fn after_run(cli: &Cli, plan: &Plan, results: &[ShardResult]) {
    let Ok(target) = Target::resolve(&plan.urls, 1).await else {
        return;
    };
    let mut accounts = plan.accounts.clone();
    let cache = TokenCache::load(TokenCache::path_for(&cli.out, &target));
    for renewed in results.iter().flat_map(|r| &r.renewed) {
        cache.put(renewed.clone());
        if let Some(account) = accounts.get_mut(renewed.index as usize) {
            *account = renewed.clone();
        }
    }
    let _ = cache.save();
    if plan.scenario.rooms.cleanup
        && let Ok(api) = Api::new(&target)
    {
        let path = Leftovers::path_for(&cli.out, &target);
        let leftovers = Leftovers::of(&plan.rooms);
        if leftovers.delete(&api, &accounts).await == leftovers.rooms.len() {
            let _ = Leftovers::default().save(&path);
        }
    }
}

fn finish(
    cli: &Cli,
    plan: &Plan,
    results: &[ShardResult],
    scraped: Vec<crate::prometheus::Scraped>,
) -> anyhow::Result<Outcome> {
    let settle_nanos = i64::try_from(plan.scenario.traffic.settle.as_nanos()).unwrap_or(i64::MAX);
    let faults = match &cli.faults {
        Some(path) => Faults::load(path, settle_nanos)?,
        None => Faults::default(),
    };
    let report = Report::build(
        &plan.run,
        &plan.urls.join(" "),
        &plan.scenario,
        results,
        scraped,
        &faults,
    )?;
    let (json, html) = report.write(&report_dir(&cli.out, &plan.run))?;
    if !cli.quiet {
        eprint!("{}", table::render(&report));
        eprintln!("\nreports: {} {}", json.display(), html.display());
    }
    let failures: Vec<_> = report.failures().collect();
    for check in &failures {
        eprintln!(
            "threshold missed: {} is {:.3}, limit {}",
            check.name, check.actual, check.limit
        );
    }
    let passed = failures.is_empty();
    Ok(Outcome {
        report: Some(report),
        passed,
    })
}

/// `<out>/<run id>/` for each run's reports.
fn report_dir(out: &Path, run: &str) -> PathBuf {
    out.join(format!("run-{run}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_come_from_the_command_line() {
        let stages = parse_stages("30s:1000, 2m:1000,10s:0").expect("stages");
        assert_eq!(
            stages,
            vec![
                Stage::new(Duration::from_secs(30), 1000),
                Stage::new(Duration::from_secs(120), 1000),
                Stage::new(Duration::from_secs(10), 0),
            ]
        );
        assert!(parse_stages("30s").is_err());
        assert!(parse_stages("soon:5").is_err());
    }

    #[test]
    fn flags_override_the_scenario_file() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/smoke-1000.toml");
        let cli = Cli::try_parse_from([
            "chat-loadtest",
            "--scenario",
            path.to_str().expect("utf-8"),
            "--users",
            "50",
            "--max-p99",
            "25",
            "--think-time",
            "750ms",
            "--stages",
            "5s:50",
        ])
        .expect("flags parse");

        let scenario = cli.scenario().expect("scenario");

        assert_eq!(scenario.users, 50);
        assert_eq!(scenario.thresholds.max_p99_ms, Some(25.0));
        assert_eq!(scenario.traffic.think_time, Duration::from_millis(750));
        assert_eq!(
            scenario.stages,
            vec![Stage::new(Duration::from_secs(5), 50)]
        );
        assert_eq!(scenario.name, "smoke-1000", "the rest comes from the file");
    }
}
