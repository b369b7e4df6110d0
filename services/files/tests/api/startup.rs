//! Health and metrics, as every service reports them.

use chat_proto::v1::FilePurpose;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::{Storage, binary, spawn_app, user};

async fn ready_with_its_store(storage: Storage) {
    let app = spawn_app(storage).await;
    app.upload(user(), "a.bin", "", FilePurpose::File, &binary(10))
        .await
        .unwrap();

    let ready = reqwest::get(format!("http://{}/readyz", app.ops_addr))
        .await
        .unwrap();
    let status = ready.status();
    let report: serde_json::Value = ready.json().await.unwrap();
    let metrics = reqwest::get(format!("http://{}/metrics", app.ops_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", app.grpc_addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let serving = health
        .check(HealthCheckRequest {
            service: "chat.v1.FilesService".into(),
        })
        .await
        .unwrap()
        .into_inner();

    assert!(status.is_success(), "{report}");
    assert_eq!(report["checks"]["database"], "ok");
    assert_eq!(report["checks"]["storage"], "ok");
    assert!(metrics.contains("chat_files_uploads_total"), "{metrics}");
    assert_eq!(serving.status(), ServingStatus::Serving);
}

#[tokio::test]
async fn it_is_ready_with_a_directory() {
    ready_with_its_store(Storage::Fs).await;
}

#[tokio::test]
async fn it_is_ready_with_s3() {
    ready_with_its_store(Storage::S3).await;
}
