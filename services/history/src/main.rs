//! The `chat-history` binary: serve (default), `migrate`, or `vapid-key`.

use chat_history::{App, Command, Config};
use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Needs no settings (clap would still ask for the database's).
    if std::env::args().nth(1).as_deref() == Some("vapid-key") {
        let private = chat_history::notify::webpush::new_private_key();
        println!("VAPID_PRIVATE_KEY={private}");
        return Ok(());
    }
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
