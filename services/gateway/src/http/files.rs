//! Files over REST: `POST /api/uploads` streams a body (raw, or the first file of a
//! multipart form) to the files service; `GET /api/files/{id}` and its thumbnail serve a
//! file to those who may see it, with ranges, and headers that keep a browser from
//! running what it downloads.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::response::Response;
use chat_proto::v1::ByteRange;
use chat_protocol::file::FileView;
use chat_protocol::{ErrorBody, ErrorCode, FileId};
use futures::TryStreamExt as _;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path, Query};
use crate::access::AuthenticatedUser;
use crate::client_error::ClientError;
use crate::core::files::{Download, FileError, Purpose, UploadMeta};
use crate::state::AppState;

/// Bodies up to this are read; the files service refuses past its limit per kind
/// (`file_too_large`), this only bounds what is read before it does.
pub(super) const UPLOAD_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Content types a browser may show inline: images that run nothing.
const INLINE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Every file response: nothing in it may run, load or be sniffed into something else.
const FILE_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT))
        .routes(routes!(download))
        .routes(routes!(download_thumbnail))
}

/// The name of a raw upload.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct UploadParams {
    /// The file's name (raw bodies; a multipart part carries its own).
    pub(super) name: Option<String>,
}

/// Uploads a file, to send in a message (it stays pending, visible to the uploader only,
/// until a message carries it; unused uploads are removed after a day). The body is either
/// the file itself, with its `Content-Type` and `?name=`, or `multipart/form-data` whose
/// first file part is taken. The type is read from the bytes; images (PNG, JPEG, GIF,
/// WebP) are checked within size limits, stored without their metadata (EXIF, GPS) and get
/// a thumbnail.
#[utoipa::path(
    post,
    path = "/api/uploads",
    tag = "files",
    params(UploadParams),
    request_body(content = Vec<u8>, description = "The file, or a multipart form with it", content_type = "application/octet-stream"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = FileView),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 413, description = "`file_too_large` (25 MB for files by default): nothing stored", body = ErrorBody),
        (status = 422, description = "`validation_failed` (no name, no file part, an empty file), `invalid_image` or `image_too_large`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn upload(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Query(params): Query<UploadParams>,
    request: Request,
) -> Result<(StatusCode, Json<FileView>), ClientError> {
    let view = read_upload(&state, &user, params.name, request, Purpose::File).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Streams an upload's body (raw, named `name`, or the first file part of a multipart
/// form) to the files service for `purpose`.
pub(super) async fn read_upload(
    state: &AppState,
    user: &AuthenticatedUser,
    name: Option<String>,
    request: Request,
    purpose: Purpose,
) -> Result<FileView, ClientError> {
    let user_id = user.id()?;
    let files = state.realtime.files().clone();
    let declared = content_type(request.headers());
    let view = if declared.starts_with("multipart/form-data") {
        let mut form = Multipart::from_request(request, state)
            .await
            .map_err(|err| invalid("body", err.body_text()))?;
        let field = loop {
            match form.next_field().await {
                Ok(Some(field)) if field.file_name().is_some() => break field,
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(invalid("file", "a multipart form needs a file part".into()));
                }
                Err(err) => return Err(invalid("body", err.body_text())),
            }
        };
        let meta = UploadMeta {
            name: field.file_name().unwrap_or_default().to_owned(),
            declared_content_type: field.content_type().unwrap_or_default().to_owned(),
            purpose,
            size: None,
        };
        // The part borrows the form: read it here into the upload's queue.
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let pump = async move {
            let mut field = field;
            loop {
                match field.chunk().await {
                    Ok(Some(bytes)) => {
                        if sender.send(Ok(bytes)).await.is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(err) => {
                        let _ = sender.send(Err(err.body_text())).await;
                        break;
                    }
                }
            }
        };
        let upload = files.upload(
            user_id,
            meta,
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        );
        let ((), view) = tokio::join!(pump, upload);
        view?
    } else {
        let name = name
            .filter(|name| !name.trim().is_empty())
            .ok_or_else(|| invalid("name", "a raw upload needs ?name=".into()))?;
        let size = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse().ok());
        let meta = UploadMeta {
            name,
            declared_content_type: declared,
            purpose,
            size,
        };
        let body = request.into_body().into_data_stream();
        files.upload(user_id, meta, body).await?
    };
    Ok(view)
}

/// Downloads a file: its uploader while it is pending, afterwards the members of a room
/// where a message carries it. Images safe to show are served inline, everything else as
/// an attachment. `Range` (one range) is honoured.
#[utoipa::path(
    get,
    path = "/api/files/{id}",
    tag = "files",
    params(("id" = String, Path, description = "The file")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 206, description = "The range asked for"),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 404, description = "`file_not_found` (or one the caller may not see)", body = ErrorBody),
        (status = 416, description = "`range_not_satisfiable`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn download(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ClientError> {
    serve(&state, &user, &id, false, &headers).await
}

/// An image's thumbnail (at most 320 px a side), to the same people as the file.
#[utoipa::path(
    get,
    path = "/api/files/{id}/thumbnail",
    tag = "files",
    params(("id" = String, Path, description = "The file")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The thumbnail (JPEG, or PNG for an image with transparency)", content_type = "image/jpeg"),
        (status = 401, description = "`unauthenticated`, `invalid_token` or `token_expired`", body = ErrorBody),
        (status = 404, description = "`file_not_found`, or a file without a thumbnail", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody),
    )
)]
async fn download_thumbnail(
    State(state): State<AppState>,
    user: AuthenticatedUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ClientError> {
    serve(&state, &user, &id, true, &headers).await
}

async fn serve(
    state: &AppState,
    user: &AuthenticatedUser,
    id: &str,
    thumbnail: bool,
    headers: &HeaderMap,
) -> Result<Response, ClientError> {
    let user_id = user.id()?;
    let file: FileId = id
        .parse()
        .map_err(|_| ClientError::from(FileError::NotFound))?;
    let range = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_range);
    let partial = range.is_some();
    let Download { header, bytes } = state
        .realtime
        .files()
        .open(user_id, file, thumbnail, range)
        .await?;
    let name = header
        .file
        .as_ref()
        .map_or("file", |file| file.name.as_str());
    let inline = INLINE_TYPES.contains(&header.content_type.as_str());
    let disposition = format!(
        "{}; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        utf8_percent_encode(name, FILENAME)
    );
    let mut response = Response::builder()
        .status(if partial {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        })
        .header(header::CONTENT_TYPE, &header.content_type)
        .header(header::CONTENT_LENGTH, header.end - header.start)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_DISPOSITION, disposition)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CONTENT_SECURITY_POLICY, FILE_CSP)
        .header(header::CACHE_CONTROL, "private, max-age=3600");
    if partial {
        response = response.header(
            header::CONTENT_RANGE,
            format!(
                "bytes {}-{}/{}",
                header.start,
                header.end.saturating_sub(1),
                header.total_size
            ),
        );
    }
    response
        .body(Body::from_stream(bytes.map_err(|status| {
            tracing::warn!(error = %status, "download broke off");
            std::io::Error::other(status.message().to_owned())
        })))
        .map_err(|err| ClientError::internal(&anyhow::Error::from(err)))
}

/// What `filename*` may hold unescaped (RFC 8187's attr-char).
const FILENAME: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// One range of a `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`); anything else
/// (several ranges, another unit) is ignored and the whole file served, as RFC 9110
/// allows.
fn parse_range(value: &str) -> Option<ByteRange> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let number = |text: &str| text.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, false) => Some(ByteRange {
            first: None,
            last: None,
            suffix: Some(number(last)?),
        }),
        (false, true) => Some(ByteRange {
            first: Some(number(first)?),
            last: None,
            suffix: None,
        }),
        (false, false) => Some(ByteRange {
            first: Some(number(first)?),
            last: Some(number(last)?),
            suffix: None,
        }),
        (true, true) => None,
    }
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value: &HeaderValue| value.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned()
}

fn invalid(field: &str, why: String) -> ClientError {
    ClientError::new(ErrorCode::ValidationFailed, format!("{field}: {why}"))
        .with_fields([(field, why)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_of_one_span_are_read_and_others_ignored() {
        let range = |first, last, suffix| {
            Some(ByteRange {
                first,
                last,
                suffix,
            })
        };
        assert_eq!(parse_range("bytes=0-99"), range(Some(0), Some(99), None));
        assert_eq!(parse_range("bytes=100-"), range(Some(100), None, None));
        assert_eq!(parse_range("bytes=-500"), range(None, None, Some(500)));
        assert_eq!(parse_range("bytes=0-1,5-9"), None);
        assert_eq!(parse_range("items=0-1"), None);
        assert_eq!(parse_range("bytes=-"), None);
        assert_eq!(parse_range("bytes=a-b"), None);
    }
}
