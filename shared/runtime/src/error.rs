//! The one error type of Weft's domain code and its one mapping to `tonic::Status`, with
//! `google.rpc` details (BadRequest field violations, PreconditionFailure, ErrorInfo).

use tonic::Code;
use tonic_types::{ErrorDetails, FieldViolation, PreconditionViolation, StatusExt};

/// Domain of the `google.rpc.ErrorInfo` attached to every error.
const ERROR_DOMAIN: &str = "weft.dev";

/// Bounds of what a status carries. Its message and details travel as HTTP/2 headers, which
/// peers refuse above 16 KiB (the gateway then answered UNAVAILABLE instead of the error), and
/// much of a message can be the caller's own input quoted back.
const MAX_MESSAGE_CHARS: usize = 1_024;
/// Longest field path (or precondition kind and subject) of one violation.
const MAX_FIELD_CHARS: usize = 128;
/// Longest description of one violation.
const MAX_DETAIL_CHARS: usize = 200;
/// Most violations listed; past them one more says how many were left out.
const MAX_VIOLATIONS: usize = 16;

pub use weft_proto::text::clip;

/// At most `MAX_VIOLATIONS` items, the last of them saying how many more there were.
fn bounded<T>(mut items: Vec<T>, more: impl FnOnce(usize) -> T) -> Vec<T> {
    if items.len() > MAX_VIOLATIONS {
        let left_out = items.len() - (MAX_VIOLATIONS - 1);
        items.truncate(MAX_VIOLATIONS - 1);
        items.push(more(left_out));
    }
    items
}

/// One precondition that did not hold (a breaking schema change, a rule violation…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Kind of violation, e.g. "COLUMN_REMOVED" or "HAS_CHILDREN".
    pub kind: String,
    /// What it is about, e.g. a resource name or a column path.
    pub subject: String,
    /// Human-readable explanation.
    pub description: String,
}

/// The errors domain code returns. Adapters turn them into `tonic::Status` with `into_status`.
/// Clone: one failure can be the answer to several callers (a group commit's).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("invalid argument: {}", describe_fields(.0))]
    InvalidArgument(Vec<(String, String)>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0}")]
    Aborted(String),
    #[error("{message}")]
    FailedPrecondition {
        message: String,
        violations: Vec<Violation>,
    },
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Unavailable(String),
    /// An unexpected failure; the detail is logged, never sent to the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

fn describe_fields(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(field, description)| format!("{field}: {description}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApiError {
    /// A single invalid field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![(field.into(), description.into())])
    }

    pub fn not_found(resource: impl Into<String>) -> Self {
        Self::NotFound(resource.into())
    }

    pub fn already_exists(resource: impl Into<String>) -> Self {
        Self::AlreadyExists(resource.into())
    }

    /// The etag a client sent does not match the resource's current one.
    pub fn stale_etag(resource: &str) -> Self {
        Self::Aborted(format!(
            "etag mismatch: {resource} was changed since it was read; get it again and retry"
        ))
    }

    pub fn precondition(message: impl Into<String>, violations: Vec<Violation>) -> Self {
        Self::FailedPrecondition {
            message: message.into(),
            violations,
        }
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }

    /// The same error about one part of a larger request (a batch's `requests[3]`): field paths
    /// get `prefix.` in front; other errors name their resource already and stay as they are.
    pub fn within(self, prefix: &str) -> Self {
        match self {
            Self::InvalidArgument(fields) => Self::InvalidArgument(
                fields
                    .into_iter()
                    .map(|(field, description)| (format!("{prefix}.{field}"), description))
                    .collect(),
            ),
            other => other,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            Self::InvalidArgument(_) => "INVALID_ARGUMENT",
            Self::NotFound(_) => "NOT_FOUND",
            Self::AlreadyExists(_) => "ALREADY_EXISTS",
            Self::Aborted(_) => "ETAG_MISMATCH",
            Self::FailedPrecondition { .. } => "FAILED_PRECONDITION",
            Self::PermissionDenied(_) => "PERMISSION_DENIED",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// Maps the error to a gRPC status with `google.rpc` details.
    pub fn into_status(self) -> tonic::Status {
        let reason = self.reason();
        let mut details = ErrorDetails::new();
        details.set_error_info(reason, ERROR_DOMAIN, std::collections::HashMap::new());
        let (code, message) = match self {
            Self::InvalidArgument(fields) => {
                let message = format!("invalid argument: {}", describe_fields(&fields));
                let violations = fields
                    .into_iter()
                    .map(|(field, description)| {
                        FieldViolation::new(
                            clip(&field, MAX_FIELD_CHARS),
                            clip(&description, MAX_DETAIL_CHARS),
                        )
                    })
                    .collect::<Vec<_>>();
                details.set_bad_request(bounded(violations, |left_out| {
                    FieldViolation::new("", format!("and {left_out} more faults"))
                }));
                (Code::InvalidArgument, message)
            }
            Self::NotFound(resource) => (Code::NotFound, format!("{resource} not found")),
            Self::AlreadyExists(resource) => {
                (Code::AlreadyExists, format!("{resource} already exists"))
            }
            Self::Aborted(message) => (Code::Aborted, message),
            Self::FailedPrecondition {
                message,
                violations,
            } => {
                if !violations.is_empty() {
                    let violations = violations
                        .into_iter()
                        .map(|v| {
                            PreconditionViolation::new(
                                clip(&v.kind, MAX_FIELD_CHARS),
                                clip(&v.subject, MAX_FIELD_CHARS),
                                clip(&v.description, MAX_DETAIL_CHARS),
                            )
                        })
                        .collect::<Vec<_>>();
                    details.set_precondition_failure(bounded(violations, |left_out| {
                        PreconditionViolation::new(
                            "MORE",
                            "",
                            format!("and {left_out} more violations"),
                        )
                    }));
                }
                (Code::FailedPrecondition, message)
            }
            Self::PermissionDenied(message) => (Code::PermissionDenied, message),
            Self::Unauthenticated(message) => (Code::Unauthenticated, message),
            Self::Unavailable(message) => (Code::Unavailable, message),
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                (Code::Internal, "internal error".to_string())
            }
        };
        tonic::Status::with_error_details(code, clip(&message, MAX_MESSAGE_CHARS), details)
    }
}

impl From<ApiError> for tonic::Status {
    fn from(error: ApiError) -> Self {
        error.into_status()
    }
}

/// Collects field violations so that a request reports all its faults at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push((field.into(), description.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many faults were added.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The fields named so far, in order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(field, _)| field.as_str())
    }

    /// Adds the faults of one part of a larger request, their paths under `prefix`.
    pub fn nest(&mut self, prefix: &str, part: FieldErrors) {
        self.0.extend(
            part.0
                .into_iter()
                .map(|(field, description)| (format!("{prefix}.{field}"), description)),
        );
    }

    /// `Ok(())` when nothing was added, else INVALID_ARGUMENT listing every field.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidArgument(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_each_field_as_a_bad_request_violation() {
        let mut errors = FieldErrors::new();
        errors.add("domain.display_name", "is required");
        errors.add("domain_id", "must match ^[a-z][a-z0-9-]{0,62}$");
        let status = errors.into_result().unwrap_err().into_status();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, ["domain.display_name", "domain_id"]);
        assert_eq!(details.error_info().unwrap().reason, "INVALID_ARGUMENT");
    }

    #[test]
    fn faults_of_a_part_are_reported_under_its_path() {
        let mut part = FieldErrors::new();
        part.add("asset.kind", "is required");
        let mut errors = FieldErrors::new();
        errors.add("parent", "is required");
        errors.nest("requests[2]", part);
        let ApiError::InvalidArgument(fields) = errors.into_result().unwrap_err() else {
            panic!("not INVALID_ARGUMENT");
        };
        let paths: Vec<_> = fields.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(paths, ["parent", "requests[2].asset.kind"]);

        let nested = ApiError::invalid("asset.tags[0].key", "not declared").within("requests[7]");
        assert!(
            matches!(&nested, ApiError::InvalidArgument(f) if f[0].0 == "requests[7].asset.tags[0].key")
        );
        let other = ApiError::not_found("domains/a").within("requests[7]");
        assert!(matches!(other, ApiError::NotFound(name) if name == "domains/a"));
    }

    #[test]
    fn a_status_quotes_a_bounded_part_of_long_input() {
        let huge = "x".repeat(100_000);
        let mut errors = FieldErrors::new();
        for index in 0..1_000 {
            errors.add(format!("{huge}[{index}]"), format!("'{huge}' is not valid"));
        }
        let status = errors.into_result().unwrap_err().into_status();
        assert!(status.message().chars().count() <= MAX_MESSAGE_CHARS + 1);
        let violations = status.get_error_details().bad_request().unwrap().clone();
        assert_eq!(violations.field_violations.len(), MAX_VIOLATIONS);
        assert!(
            violations.field_violations[..MAX_VIOLATIONS - 1]
                .iter()
                .all(|v| v.field.chars().count() <= MAX_FIELD_CHARS + 1
                    && v.description.chars().count() <= MAX_DETAIL_CHARS + 1)
        );
        assert_eq!(
            violations.field_violations[MAX_VIOLATIONS - 1].description,
            "and 985 more faults"
        );
        // Everything a peer receives as headers stays far below HTTP/2's usual 16 KiB.
        let headers = status
            .into_http::<tonic::body::Body>()
            .into_parts()
            .0
            .headers;
        let size: usize = headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len())
            .sum();
        assert!(size < 10 * 1024, "{size} bytes of headers");

        let not_found = ApiError::not_found(huge.as_str()).into_status();
        assert!(not_found.message().chars().count() <= MAX_MESSAGE_CHARS + 1);
        assert_eq!(clip("héllo", 2), "hé…");
        assert_eq!(clip("hé", 2), "hé");
    }

    #[test]
    fn internal_errors_hide_their_detail() {
        let status = ApiError::internal("connection string postgres://secret@db").into_status();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }
}
