//! The REST edge: routes, the OpenAPI document generated from them, and the layers every
//! request passes (request ids, spans, metrics, CORS, body limit, JSON errors).
//!
//! Routes are registered through `utoipa_axum`'s `routes!`, which takes each path and
//! method from the handler's `#[utoipa::path]`, so the document cannot drift from what is
//! served.

pub mod account_recovery;
pub mod auth;
pub mod extract;
pub mod files;
pub mod jwks;
pub mod members;
pub mod message_changes;
pub mod messages;
pub mod my_rooms;
pub mod notifications;
pub mod openapi;
pub mod presence;
pub mod read_state;
pub mod refresh_cookie;
pub mod rest_limits;
pub mod room_params;
pub mod rooms;
pub mod search;
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
use utoipa_axum::router::OpenApiRouter;

use chat_protocol::ErrorCode;

use crate::client_error::ClientError;
use crate::settings::HttpConfig;
use crate::state::AppState;

/// The documented API routes and their OpenAPI document.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(auth::router())
        .merge(account_recovery::router())
        .merge(users::router())
        .merge(jwks::router())
        .merge(messages::router())
        .merge(message_changes::router())
        .merge(rooms::router())
        .merge(members::router())
        .merge(presence::router())
        .merge(read_state::router())
        .merge(search::router())
        .merge(files::router())
        .merge(notifications::router())
        .split_for_parts();
    openapi::complete_responses(&mut document);
    (router, document)
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
            openapi::OPENAPI_PATH,
            get(move || {
                let document = document.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], document) }
            }),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            rest_limits::limit,
        ))
        .merge(realtime)
        .merge(openapi::reference())
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
