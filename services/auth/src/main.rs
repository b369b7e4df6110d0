//! The `chat-auth` binary: serve (default), `migrate`, or `keygen`.

use std::io::Write as _;

use anyhow::Context as _;
use chat_auth::{App, Command, Config, KeygenArgs};
use clap::{CommandFactory as _, FromArgMatches as _};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `keygen` needs no database, so it is dispatched before the serving configuration
    // (whose database URL is required) is read.
    let matches = Config::command().get_matches();
    if let Some(("keygen", keygen)) = matches.subcommand() {
        let args = KeygenArgs::from_arg_matches(keygen).unwrap_or_else(|err| err.exit());
        return keygen_command(&args);
    }
    let config = Config::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());

    let _telemetry = chat_runtime::telemetry::init("chat-auth", &config.telemetry)?;
    if let Some(Command::Migrate) = config.command {
        chat_auth::migrate(&config.database).await?;
        tracing::info!("migrations applied");
        return Ok(());
    }
    let app = App::build(config).await?;
    app.run_until(chat_runtime::shutdown::on_signal()).await
}

fn keygen_command(args: &KeygenArgs) -> anyhow::Result<()> {
    let pem = chat_auth::generate_signing_key_pem();
    match &args.out {
        None => std::io::stdout().write_all(pem.as_bytes())?,
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).with_context(|| {
                format!(
                    "creating {} (an existing key is never overwritten)",
                    path.display()
                )
            })?;
            file.write_all(pem.as_bytes())?;
            file.sync_all()?;
            eprintln!("wrote a new Ed25519 signing key to {}", path.display());
        }
    }
    Ok(())
}
