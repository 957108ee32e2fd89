//! Checks that what a resource refers to exists: tag keys and their allowed values, glossary
//! terms (enabled, for new attachments), domains.

use std::collections::HashMap;
use weft_storage::Conn;

use weft_proto::weft::catalog::v1::{GlossaryTerm, TagKey, TermState};
use weft_proto::weft::common::v1::Tag;
use weft_runtime::{ApiError, FieldErrors};

use weft_storage::resources;

/// Tag keys already looked up (None: not declared), shared by the checks of one write.
pub type KnownTagKeys = HashMap<String, Option<TagKey>>;

/// Every tag must use a declared key and, when the key restricts them, an allowed value.
pub async fn check_tags<C: Conn>(
    conn: &C,
    errors: &mut FieldErrors,
    field: &str,
    tags: &[Tag],
) -> Result<(), ApiError> {
    check_tags_with(conn, &mut KnownTagKeys::new(), errors, field, tags).await
}

/// `check_tags`, looking each key up once across calls sharing `keys`.
pub async fn check_tags_with<C: Conn>(
    conn: &C,
    keys: &mut KnownTagKeys,
    errors: &mut FieldErrors,
    field: &str,
    tags: &[Tag],
) -> Result<(), ApiError> {
    for (index, tag) in tags.iter().enumerate() {
        if !keys.contains_key(&tag.key) {
            let declared =
                resources::find::<TagKey, _>(conn, &format!("tagKeys/{}", tag.key)).await?;
            keys.insert(tag.key.clone(), declared);
        }
        match &keys[&tag.key] {
            None => errors.add(
                format!("{field}[{index}].key"),
                format!(
                    "tag key '{}' is not declared (create tagKeys/{} first)",
                    tag.key, tag.key
                ),
            ),
            Some(key)
                if !key.allowed_values.is_empty() && !key.allowed_values.contains(&tag.value) =>
            {
                errors.add(
                    format!("{field}[{index}].value"),
                    format!(
                        "'{}' is not an allowed value of {}: {}",
                        tag.value,
                        key.name,
                        key.allowed_values.join(", ")
                    ),
                )
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Every term must exist; a disabled term may stay where it was (`already`) but not be added.
pub async fn check_terms<C: Conn>(
    conn: &C,
    errors: &mut FieldErrors,
    field: &str,
    terms: &[String],
    already: &[String],
) -> Result<(), ApiError> {
    for (index, term) in terms.iter().enumerate() {
        match resources::find::<GlossaryTerm, _>(conn, term).await? {
            None => errors.add(
                format!("{field}[{index}]"),
                format!("{term} does not exist"),
            ),
            Some(found) if found.state() == TermState::Disabled && !already.contains(term) => {
                errors.add(
                    format!("{field}[{index}]"),
                    format!("{term} is disabled and cannot be newly attached"),
                )
            }
            Some(_) => {}
        }
    }
    Ok(())
}
