//! AIP-134 update masks: which fields of a resource an Update sets.

use crate::error::ApiError;

/// The fields to update: those in the mask, or every mutable field when the mask is empty or `*`.
pub fn resolve<'a>(
    mask: Option<&'a prost_types::FieldMask>,
    mutable_fields: &[&'a str],
) -> Result<Vec<&'a str>, ApiError> {
    let paths: Vec<&str> = mask
        .map(|m| m.paths.iter().map(String::as_str).collect())
        .unwrap_or_default();
    if paths.is_empty() || paths == ["*"] {
        return Ok(mutable_fields.to_vec());
    }
    let mut fields = Vec::with_capacity(paths.len());
    for path in paths {
        if !mutable_fields.contains(&path) {
            return Err(ApiError::invalid(
                "update_mask",
                format!(
                    "'{path}' cannot be updated; updatable fields: {}",
                    mutable_fields.join(", ")
                ),
            ));
        }
        fields.push(path);
    }
    Ok(fields)
}
