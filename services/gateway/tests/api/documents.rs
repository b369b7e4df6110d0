//! What the gateway publishes about itself: JWKS, OpenAPI, health and metrics.

use chat_test_stack::services::start_gateway;
use chat_test_stack::{Scope, Upstreams};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{SUITE, TestUser, gateway_flags, json_body, spawn_app};

#[tokio::test]
async fn jwks_publishes_the_key_that_verifies_access_tokens() {
    let app = spawn_app().await;
    let session = app.signed_up(&TestUser::generate()).await;
    let kid = jsonwebtoken::decode_header(&session.access_token)
        .unwrap()
        .kid
        .unwrap();

    let response = app.get("/.well-known/jwks.json").await;

    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let jwks = json_body(response, StatusCode::OK).await;
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == kid.as_str())
        .expect("the signing key is published");
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    assert!(key["x"].as_str().is_some_and(|x| !x.is_empty()));
    assert!(key.get("d").is_none(), "never the private part");
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app().await;

    let doc = json_body(app.get("/api/openapi.json").await, StatusCode::OK).await;

    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let routes = [
        ("/api/auth/register", "post", false),
        ("/api/auth/login", "post", false),
        ("/api/auth/refresh", "post", false),
        ("/api/auth/logout", "post", true),
        ("/api/auth/me", "get", true),
        ("/api/auth/me", "patch", true),
        ("/api/users/{id}", "get", true),
        ("/api/users", "get", true),
        ("/.well-known/jwks.json", "get", false),
        ("/api/rooms", "get", true),
        ("/api/rooms", "post", true),
        ("/api/rooms/mine", "get", true),
        ("/api/rooms/{id}", "get", true),
        ("/api/rooms/{id}", "patch", true),
        ("/api/rooms/{id}", "delete", true),
        ("/api/rooms/{id}/join", "post", true),
        ("/api/rooms/{id}/leave", "delete", true),
        ("/api/rooms/{id}/members", "get", true),
        ("/api/rooms/{id}/members/{user_id}/role", "put", true),
        ("/api/rooms/{id}/invites", "post", true),
        ("/api/rooms/{id}/kick", "post", true),
        ("/api/rooms/{id}/bans", "post", true),
        ("/api/rooms/{id}/bans/{user_id}", "delete", true),
        ("/api/dms", "post", true),
    ];
    for (path, method, protected) in routes {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} documented");
        assert_eq!(
            operation["security"][0].get("bearer").is_some(),
            protected,
            "{method} {path} security"
        );
    }
    let components = &doc["components"];
    assert_eq!(components["securitySchemes"]["bearer"]["scheme"], "bearer");
    for schema in [
        "ErrorBody",
        "Registration",
        "Credentials",
        "RefreshGrant",
        "ProfileChanges",
        "Session",
        "User",
        "Me",
        "UserList",
        "JwkSet",
        "Room",
        "RoomList",
        "NewRoom",
        "RoomChanges",
        "DirectRoomRequest",
        "Member",
        "MemberList",
        "RoleChange",
        "TargetUser",
        "NewBan",
    ] {
        assert!(components["schemas"][schema].is_object(), "schema {schema}");
    }
}

#[tokio::test]
async fn health_and_readiness_report_on_the_same_listener() {
    let app = spawn_app().await;

    let health = json_body(app.get("/healthz").await, StatusCode::OK).await;
    assert_eq!(health["status"], "ok");
    let ready = json_body(app.get("/readyz").await, StatusCode::OK).await;
    assert_eq!(ready["checks"]["auth"], "ok");
}

#[tokio::test]
async fn a_gateway_starts_without_auth_and_reports_not_ready() {
    // Bind and drop a port so nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let scope = Scope::new(SUITE);
    let address = start_gateway(
        &scope,
        &Upstreams::all_at(&format!("http://{closed}")),
        &gateway_flags(),
    )
    .await
    .url();
    let client = reqwest::Client::new();

    let health = client
        .get(format!("{address}/healthz"))
        .send()
        .await
        .unwrap();
    let ready = client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .unwrap();
    let login = client
        .post(format!("{address}/api/auth/login"))
        .json(&serde_json::json!({"login": "someone", "password": "whatever"}))
        .send()
        .await
        .unwrap();

    assert_eq!(health.status(), StatusCode::OK);
    let ready: Value = json_body(ready, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(ready["status"], "not_ready");
    let login = json_body(login, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(login["error"]["code"], "unavailable");
}

#[tokio::test]
async fn requests_are_counted_by_route_template() {
    let app = spawn_app().await;
    let session = app.signed_up(&TestUser::generate()).await;
    app.get_as(
        &session.access_token,
        &format!("/api/users/{}", session.user_id()),
    )
    .await;

    let metrics = app.get("/metrics").await.text().await.unwrap();

    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("http_server_requests_total")
                && line.contains(r#"route="/api/users/{id}""#)
                && line.contains(r#"status="200""#)),
        "{metrics}"
    );
    assert!(metrics.contains("http_server_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;

    let generated = app.get("/healthz").await;
    let kept = app
        .request(reqwest::Method::GET, "/api/nothing-here")
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();

    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    assert_eq!(kept.headers()["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn every_operation_lists_what_its_kind_of_route_answers() {
    let app = spawn_app().await;

    let doc = json_body(app.get("/api/openapi.json").await, StatusCode::OK).await;

    assert_eq!(doc["servers"][0]["url"], "/");
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let has = |status: &str| responses.contains_key(status);
            let protected = operation
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|security| !security.is_empty());
            if protected {
                assert!(has("401"), "{method} {path} omits 401");
            }
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(has(status), "{method} {path} omits {status}");
                }
            }
            assert!(has("503"), "{method} {path} omits 503");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} operations");
}

#[tokio::test]
async fn an_interactive_reference_is_served_without_anything_from_elsewhere() {
    let app = spawn_app().await;

    let page = app.get("/api/docs/").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("https://"),
        "assets come from this server: {html}"
    );
    let initializer = app.get("/api/docs/swagger-initializer.js").await;
    assert_eq!(initializer.status(), StatusCode::OK);
    let script = initializer.text().await.unwrap();
    assert!(script.contains("/api/openapi.json"), "{script}");
    assert_eq!(
        app.get("/api/docs/swagger-ui-bundle.js").await.status(),
        StatusCode::OK
    );
}
