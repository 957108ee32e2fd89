//! Tag expressions of tag-based grants: for every clause (key) one of its values must be among
//! the resource's tags (own and inherited); a clause without values accepts any value of its key.

use weft_proto::weft::governance::v1::TagExpression;

/// Whether `tags` ("key=value" or "key") satisfy `expression`.
pub fn matches<'a>(
    expression: &TagExpression,
    tags: impl Iterator<Item = &'a str> + Clone,
) -> bool {
    !expression.clauses.is_empty()
        && expression.clauses.iter().all(|clause| {
            tags.clone().any(|tag| {
                let (key, value) = tag.split_once('=').unwrap_or((tag, ""));
                key == clause.key
                    && (clause.values.is_empty() || clause.values.iter().any(|v| v == value))
            })
        })
}

/// Whether every resource matching `narrower` also matches `wider` (each clause of `wider` is in
/// `narrower` with no more values): a holder of a grant on `wider` may grant on `narrower`.
pub fn implies(narrower: &TagExpression, wider: &TagExpression) -> bool {
    wider.clauses.iter().all(|wide| {
        narrower.clauses.iter().any(|narrow| {
            narrow.key == wide.key
                && (wide.values.is_empty()
                    || (!narrow.values.is_empty()
                        && narrow.values.iter().all(|v| wide.values.contains(v))))
        })
    })
}

/// The expression as text, e.g. "pii IN (email, phone) AND tier IN (gold)".
pub fn describe(expression: &TagExpression) -> String {
    expression
        .clauses
        .iter()
        .map(|clause| {
            if clause.values.is_empty() {
                clause.key.clone()
            } else {
                format!("{} IN ({})", clause.key, clause.values.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

#[cfg(test)]
pub(crate) mod tests {
    use weft_proto::weft::governance::v1::TagClause;

    use super::*;

    /// A tag expression from (key, values) clauses.
    pub(crate) fn expression(clauses: &[(&str, &[&str])]) -> TagExpression {
        TagExpression {
            clauses: clauses
                .iter()
                .map(|(key, values)| TagClause {
                    key: key.to_string(),
                    values: values.iter().map(|v| v.to_string()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn keys_are_anded_and_values_ored() {
        let wanted = expression(&[("pii", &["email", "phone"]), ("tier", &[])]);
        let check = |tags: &[&str]| matches(&wanted, tags.iter().copied());
        assert!(check(&["pii=phone", "tier=gold"]));
        assert!(check(&["tier", "pii=email"]));
        assert!(!check(&["pii=phone"]));
        assert!(!check(&["pii=name", "tier=gold"]));
        assert!(!check(&[]));
        assert!(!matches(&expression(&[]), ["pii=email"].into_iter()));
    }

    #[test]
    fn implication_needs_every_wider_clause_no_looser() {
        let wide = expression(&[("pii", &["email", "phone"])]);
        assert!(implies(
            &expression(&[("pii", &["email"]), ("tier", &["gold"])]),
            &wide
        ));
        assert!(!implies(&expression(&[("pii", &["name"])]), &wide));
        assert!(!implies(&expression(&[("pii", &[])]), &wide));
        assert!(!implies(&expression(&[("tier", &["gold"])]), &wide));
        assert!(implies(
            &expression(&[("pii", &["x"])]),
            &expression(&[("pii", &[])])
        ));
    }
}
