//! The `chat-files` binary: serve (default) or `migrate`.

use chat_files::{App, Command, Config};
use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let _telemetry = chat_runtime::telemetry::init("chat-files", &config.telemetry)?;
    if let Some(Command::Migrate) = config.command {
        chat_files::migrate(&config.database).await?;
        tracing::info!("migrations applied");
        return Ok(());
    }
    let app = App::build(config).await?;
    tracing::info!(grpc = %app.grpc_addr(), ops = %app.ops_addr(), "chat-files serving");
    app.run_until(chat_runtime::shutdown::on_signal()).await
}
