//! The `chat-history` binary: serve (default) or `migrate`.

use chat_history::{App, Command, Config};
use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let _telemetry = chat_runtime::telemetry::init("chat-history", &config.telemetry)?;
    if let Some(Command::Migrate) = config.command {
        chat_history::migrate(&config.database).await?;
        tracing::info!("migrations applied");
        return Ok(());
    }
    let app = App::build(config).await?;
    app.run_until(chat_runtime::shutdown::on_signal()).await
}
