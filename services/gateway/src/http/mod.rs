//! The REST edge: routes, the OpenAPI document generated from them, and the layers every
//! request passes (request ids, spans, metrics, CORS, body limit, JSON errors).
//!
//! Routes are registered through `utoipa_axum`'s `routes!`, which takes each path and
//! method from the handler's `#[utoipa::path]`, so the document cannot drift from what is
//! served.

pub mod auth;
pub mod extract;
pub mod jwks;
pub mod members;
pub mod messages;
pub mod rooms;
pub mod telemetry;
pub mod users;

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::get;
use chat_runtime::ops::{self, Readiness};
use http::{HeaderName, HeaderValue, Method, header};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use chat_protocol::{ErrorBody, ErrorCode, ErrorDetail};

use crate::client_error::ClientError;
use crate::settings::HttpConfig;
use crate::state::AppState;

/// Path of the OpenAPI document.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chat gateway REST API",
        description = "Accounts, sessions, users, rooms and messages of the chat backend. \
                       Every error is `{\"error\": {\"code\", \"message\", \"fields\"?}}` \
                       with a stable `code`."
    ),
    modifiers(&BearerScheme),
    components(schemas(ErrorBody, ErrorDetail)),
    tags(
        (name = "auth", description = "Accounts, sign-in and sessions"),
        (name = "users", description = "Looking up other users"),
        (name = "keys", description = "Public keys that verify access tokens"),
        (name = "messages", description = "Sending messages and paging a room's history"),
        (name = "rooms", description = "Rooms: listing, creating, editing, joining, leaving; direct rooms"),
        (name = "members", description = "A room's members: roles, invitations, kicks and bans"),
    )
)]
struct ApiDoc;

/// Declares the `bearer` security scheme the protected routes name.
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .description(Some(
                            "An access token from /api/auth/login, /register or /refresh",
                        ))
                        .build(),
                ),
            );
    }
}

/// The documented API routes and their OpenAPI document.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(users::router())
        .merge(jwks::router())
        .merge(messages::router())
        .merge(rooms::router())
        .merge(members::router())
        .split_for_parts()
}

/// The whole HTTP service: the API, its OpenAPI document, `realtime` (the WebSocket
/// route) and the ops endpoints (`/healthz`, `/readyz`, `/metrics`) on one listener,
/// behind the common layers.
pub fn router(
    state: AppState,
    realtime: Router<AppState>,
    readiness: Readiness,
    config: &HttpConfig,
) -> anyhow::Result<Router> {
    let (api, openapi) = api();
    let document = Bytes::from(serde_json::to_vec(&openapi)?);
    let api = api
        .route(
            OPENAPI_PATH,
            get(move || {
                let document = document.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], document) }
            }),
        )
        .merge(realtime)
        .with_state(state);

    let layers = ServiceBuilder::new()
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(telemetry::request_span)
                .on_request(())
                .on_response(telemetry::record_response)
                // Failures are logged where they are understood (the error mapping).
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(middleware::from_fn(telemetry::record_metrics))
        .layer(cors(config)?);

    Ok(api
        .merge(ops::router(readiness))
        .fallback(|| async { ClientError::new(ErrorCode::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            ClientError::new(
                ErrorCode::MethodNotAllowed,
                "this route does not accept this method",
            )
        })
        .route_layer(middleware::from_fn(telemetry::tag_route))
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(layers))
}

/// Cross-origin access for the configured browser origins only.
fn cors(config: &HttpConfig) -> anyhow::Result<CorsLayer> {
    let origins: Vec<&str> = config.origins().collect();
    let allow_origin = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|origin| {
                HeaderValue::from_str(origin)
                    .map_err(|_| anyhow::anyhow!("invalid origin in --allowed-origins: {origin}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        AllowOrigin::list(values)
    };
    Ok(CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("x-request-id"),
        ])
        .max_age(Duration::from_secs(3600)))
}
