//! The standard OpenLineage HTTP transport, on the gateway's port next to gRPC:
//! `POST /api/v1/lineage` (one event) and `POST /api/v1/lineage/batch` (a JSON array), JSON
//! bodies, optionally gzip-compressed, `Authorization: Bearer <token>`. Each request becomes a
//! `LineageService/IngestEvents` call through the same proxy as every gRPC call, so it is
//! authenticated, authorized and forwarded exactly like one.
//!
//! Answers: one event → 201, or 400 with the JSON path of the fault; a batch → 200 with
//! `status` `success` or `partial_success`, a summary and the failed events (400 with
//! `status: failure` when none was valid); 401 / 403 / 429 / 503 as the gRPC status says.

use std::io::Read;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tonic::Code;
use weft_proto::weft::lineage::v1::lineage_service_client::LineageServiceClient;
use weft_proto::weft::lineage::v1::{IngestEventsRequest, IngestEventsResponse};

use crate::proxy::{Lineage, Proxy};

pub const SINGLE_PATH: &str = "/api/v1/lineage";
pub const BATCH_PATH: &str = "/api/v1/lineage/batch";

#[derive(Clone)]
struct Transport {
    lineage: Proxy<Lineage>,
    max_body_bytes: usize,
}

/// The transport's routes, forwarding through `lineage`; bodies (after decompression) are
/// limited to `max_body_bytes`.
pub fn routes(lineage: Proxy<Lineage>, max_body_bytes: usize) -> Router {
    Router::new()
        .route(SINGLE_PATH, post(single))
        .route(BATCH_PATH, post(batch))
        // The compressed body is bounded too; decompression is bounded separately below.
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(Transport {
            lineage,
            max_body_bytes,
        })
}

async fn single(State(transport): State<Transport>, headers: HeaderMap, body: Bytes) -> Response {
    let text = match body_text(&headers, &body, transport.max_body_bytes) {
        Ok(text) => text,
        Err(fault) => return fault.into_response(),
    };
    match transport.ingest(&headers, vec![text]).await {
        Ok(outcome) => match outcome.failed.first() {
            None => StatusCode::CREATED.into_response(),
            Some(fault) => (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": fault.message, "path": fault.path})),
            )
                .into_response(),
        },
        Err(status) => status_response(&status),
    }
}

async fn batch(State(transport): State<Transport>, headers: HeaderMap, body: Bytes) -> Response {
    let text = match body_text(&headers, &body, transport.max_body_bytes) {
        Ok(text) => text,
        Err(fault) => return fault.into_response(),
    };
    let events = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(events)) => events,
        Ok(_) => return bad_request("$", "a batch must be a JSON array of events"),
        Err(error) => return bad_request("$", &format!("is not JSON: {error}")),
    };
    let received = events.len();
    let events: Vec<String> = events.iter().map(Value::to_string).collect();
    match transport.ingest(&headers, events).await {
        Ok(outcome) => {
            let failed = outcome.failed.len();
            let (code, status) = match (failed, received) {
                (0, _) => (StatusCode::OK, "success"),
                (f, r) if f == r => (StatusCode::BAD_REQUEST, "failure"),
                _ => (StatusCode::OK, "partial_success"),
            };
            let failed_events: Vec<Value> = outcome
                .failed
                .iter()
                .map(|f| json!({"index": f.index, "path": f.path, "error": f.message}))
                .collect();
            (
                code,
                axum::Json(json!({
                    "status": status,
                    "summary": {"received": received, "successful": outcome.succeeded, "failed": failed},
                    "failed_events": failed_events,
                })),
            )
                .into_response()
        }
        Err(status) => status_response(&status),
    }
}

impl Transport {
    async fn ingest(
        &self,
        headers: &HeaderMap,
        events: Vec<String>,
    ) -> Result<IngestEventsResponse, tonic::Status> {
        let mut request = tonic::Request::new(IngestEventsRequest {
            events_json: events,
        });
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let value = tonic::metadata::MetadataValue::try_from(value.as_bytes())
                .map_err(|_| tonic::Status::unauthenticated("malformed Authorization header"))?;
            request.metadata_mut().insert("authorization", value);
        }
        let mut client = LineageServiceClient::new(self.lineage.clone())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        Ok(client.ingest_events(request).await?.into_inner())
    }
}

/// Why a body could not be read.
enum BodyFault {
    TooLarge(usize),
    Malformed(String),
    UnsupportedEncoding(String),
}

impl IntoResponse for BodyFault {
    fn into_response(self) -> Response {
        match self {
            BodyFault::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                axum::Json(json!({"error": format!("the decompressed body exceeds {limit} bytes")})),
            )
                .into_response(),
            BodyFault::Malformed(message) => bad_request("$", &message),
            BodyFault::UnsupportedEncoding(encoding) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                axum::Json(
                    json!({"error": format!("Content-Encoding {encoding} is not supported (gzip is)")}),
                ),
            )
                .into_response(),
        }
    }
}

/// The body as UTF-8 text, gunzipped when `Content-Encoding: gzip`.
fn body_text(headers: &HeaderMap, body: &[u8], limit: usize) -> Result<String, BodyFault> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "identity" | "" => body.to_vec(),
        "gzip" => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|error| BodyFault::Malformed(format!("is not valid gzip: {error}")))?;
            if out.len() > limit {
                return Err(BodyFault::TooLarge(limit));
            }
            out
        }
        other => return Err(BodyFault::UnsupportedEncoding(other.to_string())),
    };
    String::from_utf8(bytes).map_err(|_| BodyFault::Malformed("is not UTF-8".to_string()))
}

fn bad_request(path: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": message, "path": path})),
    )
        .into_response()
}

fn status_response(status: &tonic::Status) -> Response {
    let code = match status.code() {
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut response = (code, axum::Json(json!({"error": status.message()}))).into_response();
    if code == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}
