//! Files through the gateway: uploads (raw and multipart) streamed to the files service,
//! the type read from the bytes, the size limit, and downloads with ranges and safe
//! headers only for those who may see the file.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::Value;

use chat_test_stack::FileStorage;

use crate::stack::{self, Options, Stack, User};

/// A 40x30 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAACgAAAAeCAIAAADRv8uKAAAI0ElEQVR4nA3Noc6CUACAUZIjGJiJ5AgGZiI5goGZbnIEAzORHMHATCT2BQMzkRzBwEw3OYKBmW5yBAMzkRzBwHyK/z8vcDRNY6Qx1phomBpTjZnGXMPRWGgsNVYaQmOtsdHYaoQaO429xkEj0Ug1jhonjVzjrHHRuGpIjZvGXeOhoTSeGi+Nt0an8dH4avw0NE1npDPWmeiYOlOdmc5cx9FZ6Cx1VjpCZ62z0dnqhDo7nb3OQSfRSXWOOiedXOesc9G56kidm85d56GjdJ46L523Tqfz0fnq/PT/2GBkMDaYGJgGU4OZwdzAMVgYLA1WBsJgbbAx2BqEBjuDvcHBIDFIDY4GJ4Pc4GxwMbgaSIObwd3gYaAMngYvg7dBZ/Ax+Br8jP/YZGQyNpmYmCZTk5nJ3MQxWZgsTVYmwmRtsjHZmoQmO5O9ycEkMUlNjiYnk9zkbHIxuZpIk5vJ3eRhokyeJi+Tt0ln8jH5mvzM/9hiZDG2mFiYFlOLmcXcwrFYWCwtVhbCYm2xsdhahBY7i73FwSKxSC2OFieL3OJscbG4WkiLm8Xd4mGhLJ4WL4u3RWfxsfha/Kz/2GZkM7aZ2Jg2U5uZzdzGsVnYLG1WNsJmbbOx2dqENjubvc3BJrFJbY42J5vc5mxzsbnaSJubzd3mYaNsnjYvm7dNZ/Ox+dr87P/YYeQwdpg4mA5Th5nD3MFxWDgsHVYOwmHtsHHYOoQOO4e9w8EhcUgdjg4nh9zh7HBxuDpIh5vD3eHhoByeDi+Ht0Pn8HH4Ovyc/9hl5DJ2mbiYLlOXmcvcxXFZuCxdVi7CZe2ycdm6hC47l73LwSVxSV2OLieX3OXscnG5ukiXm8vd5eGiXJ4uL5e3S+fycfm6/Nz/2GPkMfaYeJgeU4+Zx9zD8Vh4LD1WHsJj7bHx2HqEHjuPvcfBI/FIPY4eJ4/c4+xx8bh6SI+bx93j4aE8nh4vj7dH5/Hx+Hr8vP9YMBKMBROBKZgKZoK5wBEsBEvBSiAEa8FGsBWEgp1gLzgIEkEqOApOglxwFlwEV4EU3AR3wUOgBE/BS/AWdIKP4Cv4if/YZ+Qz9pn4mD5Tn5nP3MfxWfgsfVY+wmfts/HZ+oQ+O5+9z8En8Ul9jj4nn9zn7HPxufpIn5vP3efho3yePi+ft0/n8/H5+vz8/zhgFDAOmASYAdOAWcA8wAlYBCwDVgEiYB2wCdgGhAG7gH3AISAJSAOOAaeAPOAccAm4BsiAW8A94BGgAp4Br4B3QBfwCfgG/IL/OGQUMg6ZhJgh05BZyDzECVmELENWISJkHbIJ2YaEIbuQfcghJAlJQ44hp5A85BxyCbmGyJBbyD3kEaJCniGvkHdIF/IJ+Yb8wv84YhQxjphEmBHTiFnEPMKJWEQsI1YRImIdsYnYRoQRu4h9xCEiiUgjjhGniDziHHGJuEbIiFvEPeIRoSKeEa+Id0QX8Yn4Rvyi/zhmFDOOmcSYMdOYWcw8xolZxCxjVjEiZh2zidnGhDG7mH3MISaJSWOOMaeYPOYcc4m5xsiYW8w95hGjYp4xr5h3TBfzifnG/OL/OGGUME6YJJgJ04RZwjzBSVgkLBNWCSJhnbBJ2CaECbuEfcIhIUlIE44Jp4Q84ZxwSbgmyIRbwj3hkaASngmvhHdCl/BJ+Cb8kv8YRjCGCZgwhRnMwYEFLGEFAtawgS2EsIM9HCCBFI5wghzOcIErSLjBHR6g4AkveEMHH/jCj/84Y5QxzphkmBnTjFnGPMPJWGQsM1YZImOdscnYZoQZu4x9xiEjyUgzjhmnjDzjnHHJuGbIjFvGPeORoTKeGa+Md0aX8cn4Zvyy/zhnlDPOmeSYOdOcWc48x8lZ5CxzVjkiZ52zydnmhDm7nH3OISfJSXOOOaecPOecc8m55sicW84955Gjcp45r5x3Tpfzyfnm/PL/uGBUMC6YFJgF04JZwbzAKVgULAtWBaJgXbAp2BaEBbuCfcGhIClIC44Fp4K84FxwKbgWyIJbwb3gUaAKngWvgndBV/Ap+Bb8iv+4ZFQyLpmUmCXTklnJvMQpWZQsS1YlomRdsinZloQlu5J9yaEkKUlLjiWnkrzkXHIpuZbIklvJveRRokqeJa+Sd0lX8in5lvzK/1gykowlE4kpmUpmkrnEkSwkS8lKIiRryUaylYSSnWQvOUgSSSo5Sk6SXHKWXCRXiZTcJHfJQ6IkT8lL8pZ0ko/kK/nJ/7hiVDGumFSYFdOKWcW8wqlYVCwrVhWiYl2xqdhWhBW7in3FoSKpSCuOFaeKvOJccam4VsiKW8W94lGhKp4Vr4p3RVfxqfhW/Kr/uGZUM66Z1Jg105pZzbzGqVnULGtWNaJmXbOp2daENbuafc2hJqlJa441p5q85lxzqbnWyJpbzb3mUaNqnjWvmndNV/Op+db86v9YMVKMFROFqZgqZoq5wlEsFEvFSiEUa8VGsVWEip1irzgoEkWqOCpOilxxVlwUV4VU3BR3xUOhFE/FS/FWdIqP4qv4qf+4YdQwbpg0mA3ThlnDvMFpWDQsG1YNomHdsGnYNoQNu4Z9w6EhaUgbjg2nhrzh3HBpuDbIhlvDveHRoBqeDa+Gd0PX8Gn4Nvya/7hl1DJumbSYLdOWWcu8xWlZtCxbVi2iZd2yadm2hC27ln3LoSVpSVuOLaeWvOXccmm5tsiWW8u95dGiWp4tr5Z3S9fyafm2/Nr/uGPUMe6YdJgd045Zx7zD6Vh0LDtWHaJj3bHp2HaEHbuOfcehI+lIO44dp46849xx6bh2yI5bx73j0aE6nh2vjndH1/Hp+Hb8uv+4Z9Qz7pn0mD3TnlnPvMfpWfQse1Y9omfds+nZ9oQ9u559z6En6Ul7jj2nnrzn3HPpufbInlvPvefRo3qePa+ed0/X8+n59vz6/3hgNDAemAyYA9OB2cB8wBlYDCwHVgNiYD2wGdgOhAO7gf3AYSAZSAeOA6eBfOA8cBm4DsiB28B94DGgBp4Dr4H3QDfwGfgO/Ab+ANhDnIuZSW/9AAAAAElFTkSuQmCC";

fn png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .expect("the test image")
}

async fn upload_raw(
    stack: &Stack,
    user: &User,
    name: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/uploads", stack.gateways[0].url()))
        .query(&[("name", name)])
        .bearer_auth(&user.token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("gateway answers");
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn download(
    stack: &Stack,
    user: &User,
    path: &str,
    range: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .get(format!("{}{path}", stack.gateways[1].url()))
        .bearer_auth(&user.token);
    if let Some(range) = range {
        request = request.header("range", range);
    }
    request.send().await.expect("gateway answers")
}

fn with_files() -> Options {
    Options {
        files: true,
        ..Options::default()
    }
}

fn with_files_in_s3() -> Options {
    Options {
        file_storage: FileStorage::S3,
        ..with_files()
    }
}

#[tokio::test]
async fn an_image_uploads_with_its_thumbnail_and_only_its_uploader_reads_it_while_pending() {
    an_image_uploads_with_its_thumbnail(with_files()).await;
}

#[tokio::test]
async fn an_image_uploads_with_its_thumbnail_into_s3() {
    an_image_uploads_with_its_thumbnail(with_files_in_s3()).await;
}

async fn an_image_uploads_with_its_thumbnail(options: Options) {
    let stack = stack::spawn_with(options).await;
    let (ada, eve) = (stack.user(), stack.user());

    // The bytes decide the type, not the name or the declared type.
    let (status, file) = upload_raw(&stack, &ada, "report.pdf", "application/pdf", png()).await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    assert_eq!(file["content_type"], "image/png");
    assert_eq!(file["kind"], "image");
    assert_eq!(
        (file["width"].as_u64(), file["height"].as_u64()),
        (Some(40), Some(30))
    );
    assert_eq!(file["name"], "report.pdf");
    let url = file["url"].as_str().unwrap().to_owned();
    let thumbnail = file["thumbnail"]["url"]
        .as_str()
        .expect("a thumbnail")
        .to_owned();

    let whole = download(&stack, &ada, &url, None).await;
    assert_eq!(whole.status(), StatusCode::OK);
    let headers = whole.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(headers["content-type"], "image/png");
    let bytes = whole.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, file["size"].as_u64().unwrap());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");

    let part = download(&stack, &ada, &url, Some("bytes=0-7")).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 0-7/{}", file["size"])
    );
    assert_eq!(&part.bytes().await.unwrap()[..], b"\x89PNG\r\n\x1a\n");
    let beyond = download(&stack, &ada, &url, Some("bytes=999999-")).await;
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    let small = download(&stack, &ada, &thumbnail, None).await;
    assert_eq!(small.status(), StatusCode::OK);

    // Nobody else reads a pending upload, nor can tell it exists.
    for path in [&url, &thumbnail] {
        let refused = download(&stack, &eve, path, None).await;
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "file_not_found");
    }
    let unknown = download(
        &stack,
        &ada,
        "/api/files/0193a6c1-0000-7000-8000-0000000000f1",
        None,
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn text_and_multipart_uploads_download_as_attachments() {
    let stack = stack::spawn_with(with_files()).await;
    let ada = stack.user();
    let (status, text) = upload_raw(
        &stack,
        &ada,
        "notes on the engine.txt",
        "text/plain",
        "Notes: the mill, the store.".into(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!(text["kind"], "file");
    assert!(
        text["content_type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(text["thumbnail"], Value::Null);
    let fetched = download(&stack, &ada, text["url"].as_str().unwrap(), None).await;
    let disposition = fetched.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert!(
        disposition.contains("notes%20on%20the%20engine.txt"),
        "{disposition}"
    );
    assert_eq!(fetched.text().await.unwrap(), "Notes: the mill, the store.");

    let form = reqwest::multipart::Form::new()
        .text("comment", "ignored")
        .part(
            "file",
            reqwest::multipart::Part::bytes(png())
                .file_name("lighthouse.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let response = reqwest::Client::new()
        .post(format!("{}/api/uploads", stack.gateways[0].url()))
        .bearer_auth(&ada.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let image: Value = response.json().await.unwrap();
    assert_eq!(
        (image["name"].as_str(), image["kind"].as_str()),
        (Some("lighthouse.png"), Some("image"))
    );
}

#[tokio::test]
async fn uploads_over_the_limit_and_without_a_name_are_refused() {
    let stack = stack::spawn_with(Options {
        files_max_size: Some("1KiB"),
        ..with_files()
    })
    .await;
    let ada = stack.user();
    let (status, body) = upload_raw(
        &stack,
        &ada,
        "big.bin",
        "application/octet-stream",
        vec![7; 4096],
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "file_too_large");

    let response = reqwest::Client::new()
        .post(format!("{}/api/uploads", stack.gateways[0].url()))
        .bearer_auth(&ada.token)
        .body("no name")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["fields"]["name"].is_string(), "{body}");

    let anonymous = reqwest::Client::new()
        .post(format!(
            "{}/api/uploads?name=a.txt",
            stack.gateways[0].url()
        ))
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// The messages page of `room` as `user` sees it.
async fn page(stack: &Stack, user: &User, room: uuid::Uuid) -> Value {
    let (status, page) = stack
        .api(
            1,
            user,
            reqwest::Method::GET,
            &format!("rooms/{room}/messages"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

#[tokio::test]
async fn a_message_carries_its_files_to_the_room_and_takes_them_away_when_deleted() {
    a_message_carries_its_files(with_files()).await;
}

#[tokio::test]
async fn a_message_carries_its_files_stored_in_s3() {
    a_message_carries_its_files(with_files_in_s3()).await;
}

async fn a_message_carries_its_files(options: Options) {
    let stack = stack::spawn_with(options).await;
    let (ada, bob, eve) = (stack.user(), stack.user(), stack.user());
    let room = stack.room(&ada, &[&bob]).await;
    let (_, image) = upload_raw(&stack, &ada, "cat.png", "image/png", png()).await;
    let (_, notes) = upload_raw(&stack, &ada, "notes.txt", "text/plain", b"milk".to_vec()).await;
    let (mut bob_socket, _) = stack.connect(1, &bob).await;
    let (mut ada_socket, _) = stack.connect(0, &ada).await;

    // Text is optional with attachments; the kind follows the files.
    ada_socket
        .send(serde_json::json!({
            "type": "send", "room": room, "client_msg_id": "pic-1", "content": "",
            "attachments": [image["id"]],
        }))
        .await;
    let (_, ack) = ada_socket.until("ack").await;
    let (_, created) = bob_socket.until("message.created").await;
    let message = &created["message"];
    assert_eq!(message["id"], ack["id"]);
    assert_eq!(message["kind"], "image");
    assert_eq!(message["attachments"][0]["id"], image["id"]);
    assert_eq!(message["attachments"][0]["width"], 40);
    assert_eq!(
        message["attachments"][0]["thumbnail"]["url"],
        image["thumbnail"]["url"]
    );

    // A REST send of several files, and its retry: the same message, not a second one.
    let send = serde_json::json!({
        "room_id": room, "client_msg_id": "files-2", "content": "both",
        "attachments": [notes["id"]],
    });
    let (status, first) = stack
        .api(
            0,
            &ada,
            reqwest::Method::POST,
            "messages",
            Some(send.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, retry) = stack
        .api(0, &ada, reqwest::Method::POST, "messages", Some(send))
        .await;
    assert_eq!(status, StatusCode::OK, "{retry}");
    assert_eq!(retry["id"], first["id"]);
    let (_, created) = bob_socket.until("message.created").await;
    assert_eq!(created["message"]["kind"], "file");
    assert_eq!(created["message"]["attachments"][0]["name"], "notes.txt");

    // Members read the files; others cannot tell they exist.
    let url = image["url"].as_str().unwrap();
    assert_eq!(
        download(&stack, &bob, url, None).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        download(&stack, &eve, url, None).await.status(),
        StatusCode::NOT_FOUND
    );
    stack
        .stored_through(room, first["position"].as_u64().unwrap())
        .await;
    let stored = page(&stack, &bob, room).await;
    assert_eq!(stored["messages"][0]["attachments"][0]["name"], "cat.png");
    assert_eq!(stored["messages"][1]["attachments"][0]["name"], "notes.txt");

    // An upload already sent cannot be sent again, nor someone else's.
    let (status, again) = stack
        .api(
            0,
            &ada,
            reqwest::Method::POST,
            "messages",
            Some(serde_json::json!({
                "room_id": room, "client_msg_id": "again", "attachments": [image["id"]],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{again}");
    assert!(
        again["error"]["fields"]["attachments"].is_string(),
        "{again}"
    );
    let (status, theirs) = stack
        .api(
            0,
            &bob,
            reqwest::Method::POST,
            "messages",
            Some(serde_json::json!({
                "room_id": room, "client_msg_id": "theirs", "attachments": [notes["id"]],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{theirs}");
    let eleven: Vec<&Value> = std::iter::repeat_n(&notes["id"], 11).collect();
    let (status, too_many) = stack
        .api(
            0,
            &ada,
            reqwest::Method::POST,
            "messages",
            Some(serde_json::json!({
                "room_id": room, "client_msg_id": "many", "attachments": eleven,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{too_many}");

    // Deleting the message takes its files away from everyone, blobs and all.
    let (status, deleted) = stack
        .api(
            0,
            &ada,
            reqwest::Method::DELETE,
            &format!("messages/{}", ack["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert!(deleted.get("attachments").is_none(), "{deleted}");
    for user in [&ada, &bob] {
        assert_eq!(
            download(&stack, user, url, None).await.status(),
            StatusCode::NOT_FOUND
        );
    }
    let deletion = bob_socket.until("message.deleted").await;
    stack
        .stored_through(room, deletion.1["position"].as_u64().unwrap())
        .await;
    let stored = page(&stack, &bob, room).await;
    assert!(
        stored["messages"][0].get("attachments").is_none(),
        "{stored}"
    );
}

#[tokio::test]
async fn an_avatar_is_a_square_picture_every_signed_in_user_sees() {
    let stack = stack::spawn_with(with_files()).await;
    let ada = stack
        .registered(&format!(
            "ada{}",
            &uuid::Uuid::now_v7().simple().to_string()[20..]
        ))
        .await;
    let bob = stack.user();
    let put = |body: Vec<u8>, content_type: &'static str| {
        reqwest::Client::new()
            .put(format!("{}/api/auth/me/avatar", stack.gateways[0].url()))
            .query(&[("name", "me.png")])
            .bearer_auth(&ada.token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let response = put(png(), "image/png").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    let avatar = me["avatar_url"].as_str().expect("an avatar").to_owned();
    assert!(
        avatar.starts_with("/api/files/") && avatar.ends_with("/thumbnail"),
        "{me}"
    );

    let seen = download(&stack, &bob, &avatar, None).await;
    assert_eq!(seen.status(), StatusCode::OK);
    assert!(
        seen.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/")
    );
    let picture = image::load_from_memory(&seen.bytes().await.unwrap()).unwrap();
    assert_eq!(picture.width(), picture.height(), "square");

    let refused = put(b"not a picture".to_vec(), "image/png").await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_an_image");
    let (_, still) = stack
        .api(0, &ada, reqwest::Method::GET, "auth/me", None)
        .await;
    assert_eq!(still["avatar_url"], avatar.as_str(), "unchanged");
}
