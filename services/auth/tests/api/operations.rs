use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::spawn_app;

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn the_service_reports_ready_and_serving() {
    let app = spawn_app().await;

    let readyz = http_get(app.ops_addr, "/readyz").await;
    let channel = Channel::from_shared(format!("http://{}", app.grpc_addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let health = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "chat.v1.AuthService".into(),
        })
        .await
        .unwrap()
        .into_inner();

    assert!(readyz.starts_with("HTTP/1.1 200"), "{readyz}");
    assert!(readyz.contains(r#""database":"ok""#), "{readyz}");
    assert!(readyz.contains(r#""redis":"ok""#), "{readyz}");
    assert_eq!(health.status(), ServingStatus::Serving);
}

#[tokio::test]
async fn the_service_stops_when_cancelled() {
    let app = spawn_app().await;
    app.register("alice").await;

    app.stop().await;
}
