use chat_gateway::{App, Config};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let _telemetry = chat_runtime::telemetry::init("chat-gateway", &config.telemetry)?;
    let app = App::build(config).await?;
    app.run_until(chat_runtime::shutdown::on_signal()).await
}
