//! Auth, rooms, history and gateways started together in one [`Scope`]: the whole chat
//! stack as `make run` starts it, inside the calling process.

use std::net::SocketAddr;

use crate::scope::Scope;
use crate::services::{
    FileStorage, Flags, Gateway, Service, Upstreams, start_auth, start_files, start_gateway,
    start_history, start_rooms, wait_ready,
};

/// What a stack is made of, and how each service is tuned.
#[derive(Debug, Clone)]
pub struct StackOptions {
    pub auth: Flags,
    pub rooms: Flags,
    /// `None`: no history service (the gateways get their default history URL).
    pub history: Option<Flags>,
    /// For every gateway, the ones started later included.
    pub gateway: Flags,
    /// How many gateways start with the stack.
    pub gateways: usize,
    /// `None` (the default): no files service.
    pub files: Option<Flags>,
    /// Where the files service keeps its blobs.
    pub file_storage: FileStorage,
}

impl Default for StackOptions {
    /// Every service with the scope's settings, and two gateways.
    fn default() -> Self {
        Self {
            auth: Flags::new(),
            rooms: Flags::new(),
            history: Some(Flags::new()),
            gateway: Flags::new(),
            gateways: 2,
            files: None,
            file_storage: FileStorage::Directory,
        }
    }
}

/// A running stack. Dropping it stops every service and removes the scope's databases,
/// Redis keys and queues.
pub struct Stack {
    /// The key auth signs access tokens with, for crafting tokens.
    pub signing_key_pem: String,
    /// The gateways, in the order they started; all ready when [`spawn`](Self::spawn) returns.
    pub gateways: Vec<Gateway>,
    auth: Service,
    rooms: Service,
    history: Option<History>,
    files: Option<Service>,
    gateway_flags: Flags,
    /// Declared last: dropped after everything that runs on it.
    pub scope: Scope,
}

/// The history service, which tests stop and start again on the same address.
struct History {
    flags: Flags,
    addr: std::sync::Mutex<SocketAddr>,
    service: tokio::sync::Mutex<Option<Service>>,
}

impl Stack {
    /// The mail the stack's auth service wrote.
    pub fn mail(&self) -> crate::mail::MailDir {
        crate::mail::MailDir(self.scope.directory("mail"))
    }

    /// Starts the services of `options` in a new scope of `suite` (see [`Scope::new`]) and
    /// waits until every gateway is ready.
    pub async fn spawn(suite: &str, options: StackOptions) -> Self {
        let scope = Scope::new(suite);
        let signing_key_pem = chat_auth::generate_signing_key_pem();
        let (auth, rooms, files) = tokio::join!(
            start_auth(&scope, &signing_key_pem, &options.auth),
            start_rooms(&scope, &options.rooms),
            async {
                match &options.files {
                    Some(flags) => Some(start_files(&scope, options.file_storage, flags).await),
                    None => None,
                }
            },
        );
        // History's notifier asks rooms and auth (lazily: they need not answer yet).
        let history = match &options.history {
            Some(flags) => {
                let flags = Flags::new()
                    .set("--rooms-url", rooms.url())
                    .set("--auth-url", auth.url())
                    .with(flags);
                Some((start_history(&scope, &flags).await, flags))
            }
            None => None,
        };
        let mut stack = Self {
            signing_key_pem,
            gateways: Vec::new(),
            auth,
            rooms,
            history: history.map(|(service, flags)| History {
                flags,
                addr: std::sync::Mutex::new(service.addr),
                service: tokio::sync::Mutex::new(Some(service)),
            }),
            files,
            gateway_flags: options.gateway,
            scope,
        };
        for _ in 0..options.gateways {
            let gateway = stack.start_gateway().await;
            stack.gateways.push(gateway);
        }
        for gateway in &stack.gateways {
            wait_ready(&gateway.url()).await;
        }
        stack
    }

    pub fn auth_url(&self) -> String {
        self.auth.url()
    }

    pub fn rooms_url(&self) -> String {
        self.rooms.url()
    }

    /// Where the history service listens (also while it is stopped); `None` in a stack
    /// without one.
    pub fn history_url(&self) -> Option<String> {
        let history = self.history.as_ref()?;
        Some(format!(
            "http://{}",
            history.addr.lock().expect("history address")
        ))
    }

    /// Starts the history service again, on the address it had, after
    /// [`stop_history`](Self::stop_history).
    pub async fn start_history(&self) {
        let history = self.history.as_ref().expect("a stack with history");
        let mut service = history.service.lock().await;
        let addr = *history.addr.lock().expect("history address");
        let flags = history.flags.clone().set("--grpc-addr", addr);
        let started = start_history(&self.scope, &flags).await;
        *history.addr.lock().expect("history address") = started.addr;
        *service = Some(started);
    }

    /// Stops the history service (its consumer and its gRPC server) as SIGTERM would.
    pub async fn stop_history(&self) {
        let history = self.history.as_ref().expect("a stack with history");
        if let Some(mut service) = history.service.lock().await.take() {
            service.shut_down().await;
        }
    }

    /// Starts another gateway of this stack (not added to [`gateways`](Self::gateways)).
    pub async fn start_gateway(&self) -> Gateway {
        let upstreams = Upstreams {
            auth_url: self.auth_url(),
            rooms_url: self.rooms_url(),
            history_url: self.history_url(),
            files_url: self.files.as_ref().map(Service::url),
        };
        start_gateway(&self.scope, &upstreams, &self.gateway_flags).await
    }
}
