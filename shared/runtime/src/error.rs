//! The one error type of Weft's domain code and its one mapping to `tonic::Status`, with
//! `google.rpc` details (BadRequest field violations, PreconditionFailure, ErrorInfo).

use tonic::Code;
use tonic_types::{ErrorDetails, FieldViolation, PreconditionViolation, StatusExt};

/// Domain of the `google.rpc.ErrorInfo` attached to every error.
const ERROR_DOMAIN: &str = "weft.dev";

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
                details.set_bad_request(
                    fields
                        .into_iter()
                        .map(|(field, description)| FieldViolation::new(field, description))
                        .collect::<Vec<_>>(),
                );
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
                    details.set_precondition_failure(
                        violations
                            .into_iter()
                            .map(|v| PreconditionViolation::new(v.kind, v.subject, v.description))
                            .collect::<Vec<_>>(),
                    );
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
        tonic::Status::with_error_details(code, message, details)
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
    fn internal_errors_hide_their_detail() {
        let status = ApiError::internal("connection string postgres://secret@db").into_status();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }
}
