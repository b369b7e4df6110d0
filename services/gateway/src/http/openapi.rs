//! The OpenAPI document of the REST API, and the interactive reference at `/api/docs`
//! (Swagger UI, its assets built into the binary, so it works offline and under a strict
//! Content-Security-Policy of the same origin).
//!
//! Each route's `#[utoipa::path]` names what that route answers. What every route of a
//! kind answers the same way (a protected route's 401, a JSON body's 400, 413, 415 and
//! 422, a query's 422, a dependency's 503) comes from shared extractors and layers, and is
//! added here to every operation it applies to, so no route can leave it out.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use chat_protocol::{ErrorBody, ErrorCode, ErrorDetail};

/// Path of the OpenAPI document.
pub const OPENAPI_PATH: &str = "/api/openapi.json";
/// Path of the interactive API reference.
pub const DOCS_PATH: &str = "/api/docs";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chat gateway REST API",
        description = "Accounts, sessions, users, rooms and messages of the chat backend. \
                       Every error is `{\"error\": {\"code\", \"message\", \"fields\"?, \
                       \"retry_after_ms\"?}}` with a stable `code`; each code has one status. \
                       Times are RFC 3339 in UTC with milliseconds. The live side (WebSocket \
                       `/ws`) is described in docs/protocol.md."
    ),
    servers((url = "/", description = "This gateway, or the nginx in front of it")),
    modifiers(&BearerScheme),
    components(schemas(ErrorBody, ErrorDetail, ErrorCode)),
    tags(
        (name = "auth", description = "Accounts, sign-in and sessions"),
        (name = "users", description = "Looking up other users"),
        (name = "keys", description = "Public keys that verify access tokens"),
        (name = "messages", description = "Sending messages and paging a room's history"),
        (name = "rooms", description = "Rooms: listing, creating, editing, joining, leaving; direct rooms"),
        (name = "members", description = "A room's members: roles, invitations, kicks and bans"),
        (name = "notifications", description = "Who is told of what while away: room and account levels, mutes, browser push subscriptions"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the protected routes name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut Document) {
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

/// Adds to every operation the answers its kind always may give.
pub fn complete_responses(document: &mut Document) {
    for item in document.paths.paths.values_mut() {
        let operations = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ];
        for operation in operations.into_iter().flatten() {
            complete(operation);
        }
    }
}

fn complete(operation: &mut Operation) {
    let protected = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let has_body = operation.request_body.is_some();
    let has_query = operation.parameters.as_ref().is_some_and(|parameters| {
        parameters
            .iter()
            .any(|parameter| parameter.parameter_in == ParameterIn::Query)
    });
    let mut add = |status: &str, description: &str| {
        let responses = &mut operation.responses.responses;
        if !responses.contains_key(status) {
            responses.insert(status.to_owned(), error_response(description));
        }
    };
    if protected {
        add(
            "401",
            "`unauthenticated` (no token), `invalid_token` or `token_expired`",
        );
        add(
            "429",
            "`rate_limited`: over the caller's rate of API calls; `Retry-After` and `retry_after_ms` say when to retry",
        );
    }
    if has_body {
        add("400", "`malformed_json`: the body is not JSON");
        add("413", "`payload_too_large`");
        add(
            "415",
            "`unsupported_media_type`: the body must be `application/json`",
        );
        add(
            "422",
            "`invalid_body` (wrong shape; `fields` names it) or `validation_failed`",
        );
    }
    if has_query {
        add(
            "422",
            "`invalid_query` (wrong shape; `fields` names it) or `validation_failed`",
        );
    }
    add("500", "`internal`: a bug, logged on the server");
    add("503", "`unavailable`: a service is down; retry shortly");
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

/// The interactive reference, reading the document from [`OPENAPI_PATH`].
pub fn reference<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    SwaggerUi::new(DOCS_PATH)
        .config(utoipa_swagger_ui::Config::from(OPENAPI_PATH))
        .into()
}
