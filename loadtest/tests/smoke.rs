//! Short load runs against the real stack (auth, rooms, history and two gateways in this
//! process, real PostgreSQL, Redis and RabbitMQ): nothing acknowledged may be lost or
//! arrive twice, through ramp-up, steady sending and connections dropped and resumed.
//!
//! `LOADTEST_USERS` changes the number of users of the main run (default 1000).

use std::path::{Path, PathBuf};

use chat_loadtest::{Cli, Report, execute};
use chat_test_stack::{Flags, Stack, StackOptions};
use clap::Parser;
use uuid::Uuid;

/// The stack of these runs: auth, rooms, history and two gateways, where one address may
/// log in as often as a thousand users do.
async fn spawn_stack() -> Stack {
    Stack::spawn(
        "lt",
        StackOptions {
            auth: Flags::from([("--login-max-address-attempts", "100000")]),
            gateway: Flags::from([("--shutdown-grace", "2s")]),
            ..StackOptions::default()
        },
    )
    .await
}

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
        .to_str()
        .expect("utf-8 path")
        .to_owned()
}

fn out_dir() -> PathBuf {
    std::env::temp_dir().join(format!("chat-loadtest-{}", Uuid::new_v4().simple()))
}

/// Runs the tool as its command line would, against `stack`, with `extra` flags.
async fn run(stack: &Stack, out: &Path, extra: &[&str]) -> Report {
    let prefix = format!("lt_{}", &Uuid::new_v4().simple().to_string()[..10]);
    let mut args = vec![
        "chat-loadtest".to_owned(),
        "--out".to_owned(),
        out.to_str().expect("utf-8 path").to_owned(),
        "--prefix".to_owned(),
        prefix,
    ];
    for gateway in &stack.gateways {
        args.extend(["--url".to_owned(), gateway.url()]);
    }
    args.extend([
        "--metrics-url".to_owned(),
        format!("{}/metrics", stack.gateways[0].url()),
    ]);
    args.extend(extra.iter().map(|arg| (*arg).to_owned()));
    let outcome = execute(Cli::try_parse_from(args).expect("flags"))
        .await
        .expect("the run completes");
    outcome.report.expect("a report")
}

fn assert_exact_delivery(report: &Report) {
    let verdict = &report.verdict;
    assert!(
        verdict.acked_messages > 0,
        "messages were acked: {verdict:?}; errors {:?}, counts {:?}",
        report.errors,
        report.counts
    );
    assert!(
        verdict.expected > 0,
        "deliveries were expected: {verdict:?}"
    );
    assert_eq!(
        verdict.lost, 0,
        "lost deliveries, first ones: {:?}",
        verdict.lost_samples
    );
    assert_eq!(verdict.duplicated, 0, "duplicated deliveries: {verdict:?}");
    assert_eq!(verdict.out_of_order, 0, "out of order: {verdict:?}");
    assert_eq!(verdict.delivered, verdict.expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_users_lose_nothing_and_get_nothing_twice() {
    let stack = spawn_stack().await;
    let users: usize = std::env::var("LOADTEST_USERS")
        .ok()
        .and_then(|users| users.parse().ok())
        .unwrap_or(1000);
    let out = out_dir();

    let report = run(
        &stack,
        &out,
        &[
            "--scenario",
            &scenario("smoke-1000.toml"),
            "--users",
            &users.to_string(),
        ],
    )
    .await;

    assert_exact_delivery(&report);
    assert_eq!(
        report.peak_connected, users as u64,
        "every user connected; errors {:?}, close codes {:?}",
        report.errors, report.close_codes
    );
    assert!(
        report.counts.kills > 0,
        "connections were dropped on purpose"
    );
    assert!(report.counts.resumes > 0, "dropped users resumed");
    assert!(report.e2e.count > 0 && report.ack.count > 0);
    let run_dir = out.join(format!("run-{}", report.run));
    let html = std::fs::read_to_string(run_dir.join("report.html")).expect("html report");
    assert!(html.contains("<svg"), "the HTML report has its charts");
    assert!(run_dir.join("report.json").exists());
    let _ = std::fs::remove_dir_all(out);
}

#[tokio::test(flavor = "multi_thread")]
async fn several_worker_processes_make_one_run() {
    let stack = spawn_stack().await;
    let out = out_dir();

    let report = run(
        &stack,
        &out,
        &[
            "--scenario",
            &scenario("smoke-1000.toml"),
            "--users",
            "100",
            "--stages",
            "3s:100,4s:100",
            "--processes",
            "2",
            "--worker-program",
            env!("CARGO_BIN_EXE_chat-loadtest"),
        ],
    )
    .await;

    assert_exact_delivery(&report);
    assert_eq!(report.processes, 2);
    assert_eq!(
        report.peak_connected, 100,
        "every user connected; errors {:?}, close codes {:?}",
        report.errors, report.close_codes
    );
    let _ = std::fs::remove_dir_all(out);
}
