use chat_gateway::{App, Config};
use clap::Parser;

/// jemalloc: a socket's set-up makes many short-lived allocations across threads, where
/// glibc's malloc spent 14% of the gateway's CPU in a reconnect storm and left holes
/// between the long-lived ones; with jemalloc the storm costs 15% less CPU per reconnect
/// and an idle socket 145 bytes less (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let _telemetry = chat_runtime::telemetry::init("chat-gateway", &config.telemetry)?;
    let app = App::build(config).await?;
    app.run_until(chat_runtime::shutdown::on_signal()).await
}
