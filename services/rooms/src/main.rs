//! The `chat-rooms` binary: serve the rooms service, or apply its migrations.

use clap::Parser;

use chat_rooms::{App, Command, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let _telemetry = chat_runtime::telemetry::init("chat-rooms", &config.telemetry)?;
    if let Some(Command::Migrate) = config.command {
        chat_rooms::migrate(&config).await?;
        tracing::info!("migrations applied");
        return Ok(());
    }
    let app = App::build(config).await?;
    tracing::info!(grpc = %app.grpc_addr(), ops = %app.ops_addr(), "chat-rooms serving");
    app.run_until(chat_runtime::shutdown::on_signal()).await
}
