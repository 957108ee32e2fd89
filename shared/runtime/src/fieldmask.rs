//! AIP-134 update masks: which fields of a resource an Update sets.

use crate::error::ApiError;

/// The fields to update: those in the mask, or every mutable field when the mask is empty or `*`.
pub fn resolve(
    mask: Option<&prost_types::FieldMask>,
    mutable_fields: &[&'static str],
) -> Result<Vec<&'static str>, ApiError> {
    let paths: Vec<&str> = mask
        .map(|m| m.paths.iter().map(String::as_str).collect())
        .unwrap_or_default();
    if paths.is_empty() || paths == ["*"] {
        return Ok(mutable_fields.to_vec());
    }
    paths
        .into_iter()
        .map(|path| {
            mutable_fields
                .iter()
                .find(|field| **field == path)
                .copied()
                .ok_or_else(|| {
                    ApiError::invalid(
                        "update_mask",
                        format!(
                            "'{path}' cannot be updated; updatable fields: {}",
                            mutable_fields.join(", ")
                        ),
                    )
                })
        })
        .collect()
}

/// The error of an update that meets a mask path it has no arm for: `resolve` lets through only
/// the paths an RPC lists, so this is a path listed and not handled (a field added to the list
/// and forgotten below), refused rather than written somewhere else.
pub fn unhandled(path: &str) -> ApiError {
    ApiError::invalid(
        "update_mask",
        format!("'{path}' cannot be updated by this RPC"),
    )
}
