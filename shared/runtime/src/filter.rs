//! The list filter language of Weft's List RPCs: a conjunction of `field = "value"` terms,
//! e.g. `parent_domain = "domains/sales" AND tag = "tier=gold"` (a subset of AIP-160). Parsed
//! into terms that storage binds as parameters, never spliced into SQL.

use crate::error::ApiError;

/// One `field = value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub field: String,
    pub value: String,
}

/// Parses a filter, allowing only the given fields.
pub fn parse(filter: &str, allowed_fields: &[&str]) -> Result<Vec<Term>, ApiError> {
    let invalid = |message: String| ApiError::invalid("filter", message);
    let mut terms = Vec::new();
    let mut rest = filter.trim();
    while !rest.is_empty() {
        let field_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        let field = &rest[..field_end];
        if field.is_empty() {
            return Err(invalid(format!(
                "expected a field name at '{}'",
                preview(rest)
            )));
        }
        if !allowed_fields.contains(&field) {
            return Err(invalid(format!(
                "unknown field '{field}'; filterable fields: {}",
                allowed_fields.join(", ")
            )));
        }
        rest = rest[field_end..].trim_start();
        rest = rest
            .strip_prefix('=')
            .ok_or_else(|| invalid(format!("expected '=' after '{field}'")))?
            .trim_start();
        let (value, remaining) = parse_value(rest).ok_or_else(|| {
            invalid(format!(
                "expected a value after '{field} =': a quoted string or a word"
            ))
        })?;
        terms.push(Term {
            field: field.to_string(),
            value,
        });
        rest = remaining.trim_start();
        if rest.is_empty() {
            break;
        }
        let after_and = rest
            .strip_prefix("AND")
            .filter(|r| r.starts_with(char::is_whitespace))
            .ok_or_else(|| invalid(format!("expected AND at '{}'", preview(rest))))?;
        rest = after_and.trim_start();
        if rest.is_empty() {
            return Err(invalid("a term must follow AND".to_string()));
        }
    }
    Ok(terms)
}

fn parse_value(input: &str) -> Option<(String, &str)> {
    let mut chars = input.char_indices();
    match chars.next()? {
        (_, quote @ ('"' | '\'')) => {
            let mut value = String::new();
            let mut escaped = false;
            for (index, c) in chars {
                if escaped {
                    value.push(c);
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == quote {
                    return Some((value, &input[index + 1..]));
                } else {
                    value.push(c);
                }
            }
            None
        }
        _ => {
            let end = input.find(char::is_whitespace).unwrap_or(input.len());
            Some((input[..end].to_string(), &input[end..]))
        }
    }
}

fn preview(text: &str) -> String {
    text.chars().take(20).collect()
}

/// The error of a listing that meets a filter field it has no condition for (see
/// `fieldmask::unhandled`: a field allowed and forgotten is refused, never taken for another).
pub fn unhandled(field: &str) -> ApiError {
    ApiError::invalid(
        "filter",
        format!("'{field}' is not a field this listing filters on"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_conjunctions_of_quoted_and_bare_values() {
        let terms = parse(
            r#"parent_domain = "domains/sales" AND tag=tier=gold"#,
            &["parent_domain", "tag"],
        )
        .unwrap();
        assert_eq!(terms.len(), 2);
        assert_eq!(terms[0].value, "domains/sales");
        assert_eq!(terms[1].value, "tier=gold");
        assert!(parse("", &["tag"]).unwrap().is_empty());
    }

    #[test]
    fn refuses_unknown_fields_and_broken_syntax() {
        for bad in [
            "owner = x",
            "tag x",
            "tag = \"open",
            "tag = a OR tag = b",
            "tag = a AND",
        ] {
            assert!(parse(bad, &["tag"]).is_err(), "{bad}");
        }
    }
}
