//! Reads the resource an RPC is about from its request message, so that a rule's
//! `resource_field` can be checked before the call is forwarded. The body of a unary call (one
//! gRPC frame) is read whole, bounded by the configured message size, and handed on unchanged.

use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Full, Limited};
use prost_reflect::{DynamicMessage, MessageDescriptor, Value};
use tonic::body::Body;
use weft_runtime::ApiError;

/// Length of a gRPC frame's header: a compression flag and a big-endian length.
const FRAME_HEADER: usize = 5;

/// The value of `field_path` (dotted) in the request, and the request to forward.
pub async fn read(
    request: http::Request<Body>,
    input: &MessageDescriptor,
    field_path: &str,
    max_message_bytes: usize,
) -> Result<(String, http::Request<Body>), ApiError> {
    let (parts, body) = request.into_parts();
    let bytes = Limited::new(body, max_message_bytes + FRAME_HEADER)
        .collect()
        .await
        .map_err(|error| {
            if error.is::<http_body_util::LengthLimitError>() {
                ApiError::invalid(
                    "request",
                    format!("is larger than the limit of {max_message_bytes} bytes"),
                )
            } else {
                ApiError::invalid("request", "the request body could not be read")
            }
        })?
        .to_bytes();
    let message = single_message(&bytes)?;
    let decoded = DynamicMessage::decode(input.clone(), message)
        .map_err(|_| ApiError::invalid("request", "is not a valid request message"))?;
    let resource = field(&decoded, field_path);
    Ok((
        resource,
        http::Request::from_parts(parts, Body::new(Full::new(bytes))),
    ))
}

/// The message of a body holding exactly one uncompressed gRPC frame.
fn single_message(body: &Bytes) -> Result<Bytes, ApiError> {
    let mut frame = body.clone();
    if frame.len() < FRAME_HEADER {
        return Err(ApiError::invalid("request", "holds no request message"));
    }
    let compressed = frame.get_u8();
    let length = frame.get_u32() as usize;
    if compressed != 0 {
        return Err(ApiError::invalid(
            "request",
            "compressed request messages are not accepted",
        ));
    }
    if frame.len() != length {
        return Err(ApiError::invalid(
            "request",
            "must hold exactly one request message",
        ));
    }
    Ok(frame)
}

/// The string at a dotted path; "" when a message on the way is not set.
fn field(message: &DynamicMessage, path: &str) -> String {
    let mut current = message.clone();
    let mut segments = path.split('.').peekable();
    while let Some(segment) = segments.next() {
        let Some(value) = current.get_field_by_name(segment) else {
            return String::new();
        };
        match (value.as_ref(), segments.peek().is_none()) {
            (Value::String(text), true) => return text.clone(),
            (Value::Message(next), false) => {
                let next = next.clone();
                current = next;
            }
            _ => return String::new(),
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use weft_proto::weft::catalog::v1::{CreateDomainRequest, Domain, GetDomainRequest};

    fn framed(message: &impl Message) -> Bytes {
        let encoded = message.encode_to_vec();
        let mut frame = vec![0u8];
        frame.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
        frame.extend_from_slice(&encoded);
        Bytes::from(frame)
    }

    fn descriptor(name: &str) -> MessageDescriptor {
        weft_proto::descriptor_pool()
            .get_message_by_name(name)
            .unwrap()
    }

    fn request(body: Bytes) -> http::Request<Body> {
        http::Request::new(Body::new(Full::new(body)))
    }

    #[tokio::test]
    async fn reads_a_nested_field_and_forwards_the_body_unchanged() {
        let body = framed(&CreateDomainRequest {
            domain_id: "eu".into(),
            domain: Some(Domain {
                parent_domain: "domains/sales".into(),
                ..Default::default()
            }),
            ..Default::default()
        });
        let input = descriptor("weft.catalog.v1.CreateDomainRequest");
        let (resource, forwarded) = read(
            request(body.clone()),
            &input,
            "domain.parent_domain",
            1 << 20,
        )
        .await
        .unwrap();
        assert_eq!(resource, "domains/sales");
        let forwarded = forwarded.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(forwarded, body);

        // A message not set on the way: the catalog root.
        let body = framed(&CreateDomainRequest::default());
        let (resource, _) = read(request(body), &input, "domain.parent_domain", 1 << 20)
            .await
            .unwrap();
        assert_eq!(resource, "");
    }

    #[tokio::test]
    async fn refuses_bodies_that_are_not_one_plain_message() {
        let input = descriptor("weft.catalog.v1.GetDomainRequest");
        let message = framed(&GetDomainRequest {
            name: "domains/sales".into(),
        });
        let mut compressed = message.to_vec();
        compressed[0] = 1;
        let mut two = message.to_vec();
        two.extend_from_slice(&message);
        let cases: Vec<(Bytes, usize, &str)> = vec![
            (Bytes::new(), 1 << 20, "holds no request message"),
            (Bytes::from(compressed), 1 << 20, "compressed"),
            (Bytes::from(two), 1 << 20, "exactly one"),
            (
                Bytes::from_static(&[0, 0, 0, 0, 2, 0xff, 0xff]),
                1 << 20,
                "not a valid",
            ),
            (message, 4, "larger than the limit"),
        ];
        for (body, limit, expected) in cases {
            let error = read(request(body), &input, "name", limit)
                .await
                .unwrap_err();
            assert!(
                error.to_string().contains(expected),
                "{error} should say {expected}"
            );
        }
    }
}
