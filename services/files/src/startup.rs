//! Building and running the service: [`App::build`] migrates the database, opens the
//! object store and binds both listeners (port 0 works, so tests run many at once);
//! [`App::run_until`] serves and sweeps until a cancellation, then drains.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use chat_proto::v1::files_service_server::FilesServiceServer;
use chat_runtime::config::DatabaseConfig;
use chat_runtime::database::{connect_and_migrate, ping};
use chat_runtime::grpc_server::{GrpcServer, GrpcServices};
use chat_runtime::ops::{self, Readiness};
use chat_runtime::shutdown::CancellationToken;
use sqlx::migrate::Migrator;

use crate::attachments::Attachments;
use crate::blobs::Blobs;
use crate::config::Config;
use crate::deletions::BlobDeletions;
use crate::download::Downloads;
use crate::files::Files;
use crate::grpc::FilesApi;
use crate::sweeper::PendingSweeper;
use crate::upload::Uploads;

/// The migrations of the `chat_files` database.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/files");

/// gRPC messages up to this size are accepted: an upload piece is at most 4 MiB, plus
/// framing.
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024 + 1024;

/// Creates the database when missing and applies pending migrations (the `migrate`
/// subcommand).
pub async fn migrate(database: &DatabaseConfig) -> anyhow::Result<()> {
    chat_runtime::database::migrate(database, &MIGRATOR).await
}

/// A built, not yet running, files service.
pub struct App {
    server: GrpcServer,
    files: Files,
    api: FilesApi,
    sweeper: PendingSweeper,
    readiness: Readiness,
    grace: Duration,
}

impl App {
    /// Connects PostgreSQL (creating and migrating the database), opens the object store
    /// (creating the directory of a filesystem store), and binds the gRPC and ops
    /// listeners.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        ops::metrics_handle();
        let pool = connect_and_migrate(&config.database, &MIGRATOR)
            .await
            .context("connecting to the database")?;
        let blobs = Blobs::connect(&config.storage).context("opening the object store")?;
        let files = Files::new(pool.clone());
        let deletions = BlobDeletions::new(pool.clone(), blobs.clone());
        let uploads = Uploads::new(
            files.clone(),
            blobs.clone(),
            deletions.clone(),
            config.uploads.clone(),
            config.images.clone(),
        );
        let api = FilesApi::new(
            files.clone(),
            uploads,
            Downloads::new(files.clone(), blobs.clone()),
            Attachments::new(pool.clone()),
            deletions.clone(),
        );
        let readiness = Readiness::new()
            .with_check("database", move || ping(pool.clone()))
            .with_check("storage", {
                let blobs = blobs.clone();
                move || blobs.clone().check()
            });

        let server = GrpcServer::bind(config.grpc_addr, config.ops.ops_addr).await?;
        tracing::info!(
            grpc_addr = %server.grpc_addr(),
            ops_addr = %server.ops_addr(),
            storage = ?config.storage.kind,
            "files service built"
        );
        Ok(App {
            server,
            sweeper: PendingSweeper::new(files.clone(), deletions, config.sweeper.clone()),
            files,
            api,
            readiness,
            grace: config.shutdown.grace,
        })
    }

    /// Where `chat.v1.FilesService` and gRPC health are served.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.server.grpc_addr()
    }

    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub fn ops_addr(&self) -> SocketAddr {
        self.server.ops_addr()
    }

    /// Serves and sweeps until `shutdown` is cancelled; then reports not ready, stops
    /// accepting calls, and lets those in flight (uploads included) finish within the
    /// shutdown grace. An upload abandoned then leaves an unfinished record, which the
    /// sweeper removes with its blob.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let sweeper = tokio::spawn(self.sweeper.run(shutdown.clone()));
        let service = FilesServiceServer::new(self.api)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let served = self
            .server
            .serve(
                GrpcServices::new().add_service(service),
                self.readiness,
                shutdown,
                self.grace,
                vec![("sweeper", sweeper)],
            )
            .await;
        self.files.pool().close().await;
        tracing::info!("files service stopped");
        served
    }
}
