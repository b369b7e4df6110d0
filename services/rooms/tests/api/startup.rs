//! The service's health: gRPC health, readiness over HTTP, and a clean stop.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::spawn_app;

/// The status line and body of a plain HTTP/1.0 GET on the ops listener.
async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: ops\r\n\r\n").as_bytes())
        .await
        .expect("request sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response read");
    response
}

fn is_ok(response: &str) -> bool {
    response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200")
}

#[tokio::test]
async fn the_service_reports_serving_and_ready() {
    let app = spawn_app().await;

    let health = HealthClient::new(app.channel.clone())
        .check(HealthCheckRequest {
            service: "chat.v1.RoomsService".into(),
        })
        .await
        .expect("health answers")
        .into_inner();
    assert_eq!(health.status(), ServingStatus::Serving);

    let ready = get(app.ops_addr, "/readyz").await;
    assert!(is_ok(&ready), "{ready}");
    assert!(ready.contains(r#""database":"ok""#), "{ready}");
    assert!(ready.contains(r#""redis":"ok""#), "{ready}");
    let metrics = get(app.ops_addr, "/metrics").await;
    assert!(is_ok(&metrics), "{metrics}");
}

#[tokio::test]
async fn a_cancelled_service_stops_cleanly() {
    let mut app = spawn_app().await;

    app.stop().await.expect("stopped without error");

    assert!(
        tokio::net::TcpStream::connect(app.ops_addr).await.is_err(),
        "the ops listener is closed"
    );
}
