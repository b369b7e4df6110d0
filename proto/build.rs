//! Compiles `chat/v1/*.proto` with the protoc that ships in `protoc-bin-vendored`, so a
//! build needs no system protoc. A `PROTOC` already set in the environment wins.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("PROTOC").is_none() {
        let protoc = protoc_bin_vendored::protoc_bin_path()?;
        unsafe_set_protoc(protoc);
    }
    let protos = [
        "chat/v1/auth.proto",
        "chat/v1/rooms.proto",
        "chat/v1/events.proto",
        "chat/v1/history.proto",
        "chat/v1/files.proto",
        "chat/v1/notifications.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Upload and download pieces pass through without a copy.
        .bytes(".chat.v1.UploadChunk")
        .bytes(".chat.v1.DownloadChunk")
        .compile_protos(&protos, &["."])?;
    Ok(())
}

fn unsafe_set_protoc(path: std::path::PathBuf) {
    // `set_var` is unsafe in edition 2024 because other threads may read the environment;
    // a build script has no other threads.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("PROTOC", path);
    }
}
