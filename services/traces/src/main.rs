//! `chat-traces`: receives the stack's traces over OTLP/gRPC and prints each as a tree
//! once it is whole (no new span of it for `--settle-ms`), to stdout and, with `--out`,
//! to a file. `make run TRACES=1` starts it and points every service at it.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chat_traces::{Received, Receiver, tree};
use clap::Parser;

#[derive(Parser)]
#[command(name = "chat-traces", version, about)]
struct Args {
    /// Where to receive OTLP/gRPC (the services' `OTEL_EXPORTER_OTLP_ENDPOINT`).
    #[arg(long, default_value = "127.0.0.1:4317")]
    listen: SocketAddr,
    /// A file the trees are appended to, besides stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// A trace is printed once none of its spans arrived for this many milliseconds.
    #[arg(long, default_value_t = 2000)]
    settle_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let receiver = Receiver::default();
    let mut server = receiver.serve(args.listen);
    let mut file = match &args.out {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?,
        ),
        None => None,
    };
    println!("receiving traces on {} (OTLP/gRPC)", args.listen);
    let settle = Duration::from_millis(args.settle_ms);
    let mut waiting: HashMap<Vec<u8>, (Vec<Received>, Instant)> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = tokio::signal::ctrl_c() => true,
            served = &mut server => match served {
                Ok(Err(err)) => return Err(err).context(format!("receiving on {}", args.listen)),
                _ => anyhow::bail!("the OTLP receiver on {} stopped", args.listen),
            },
        };
        let now = Instant::now();
        for (trace, spans) in tree::by_trace(receiver.take()) {
            let entry = waiting.entry(trace).or_insert_with(|| (Vec::new(), now));
            entry.0.extend(spans);
            entry.1 = now;
        }
        let mut done: Vec<Vec<Received>> = Vec::new();
        waiting.retain(|_, (spans, last)| {
            if stopping || now.duration_since(*last) >= settle {
                done.push(std::mem::take(spans));
                false
            } else {
                true
            }
        });
        done.sort_by_key(|spans| spans.iter().map(|r| r.span.start_time_unix_nano).min());
        for mut spans in done {
            spans.sort_by_key(|r| r.span.start_time_unix_nano);
            let text = tree::render(&spans);
            print!("{text}");
            if let Some(file) = file.as_mut() {
                file.write_all(text.as_bytes())
                    .context("writing the traces file")?;
            }
        }
        if stopping {
            return Ok(());
        }
    }
}
