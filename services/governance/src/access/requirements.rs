//! What a guardrail statement requires of the resource for its `when` conditions to hold, read
//! from the statement's JSON form: `resource.tags.contains("…")` and
//! `resource.classification.contains("…")` (the resource must carry the tag; a classification
//! is one of its tags) and `resource.lifecycle == "…"`, when they are conjuncts (`&&`) of a
//! `when` clause. A statement is not satisfied by a resource that misses one of them (its
//! condition is false, or an error, which Cedar also counts as not satisfied), so such a
//! question is not given to Cedar, as for a statement whose scope does not match: most
//! resources carry no classification, and guardrails are mostly about classified data.
//!
//! Anything else (`||`, `unless`, other attributes, other entities) requires nothing here and
//! is left to Cedar: the requirements are necessary conditions, never sufficient ones.

use serde_json::Value;

/// Necessary conditions of one statement on the resource.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Requirements {
    /// Tags ("key=value") the resource must carry, own or inherited.
    pub tags: Vec<String>,
    /// The lifecycle the resource must have.
    pub lifecycle: Option<String>,
}

impl Requirements {
    /// Reads them from a statement; nothing when its JSON form cannot be had.
    pub fn of(statement: &cedar_policy::Policy) -> Self {
        let mut requirements = Requirements::default();
        let Ok(json) = statement.to_json() else {
            return requirements;
        };
        for condition in json["conditions"].as_array().into_iter().flatten() {
            if condition["kind"] == "when" {
                requirements.collect(&condition["body"]);
            }
        }
        requirements
    }

    fn collect(&mut self, expression: &Value) {
        if let Some(both) = expression.get("&&") {
            self.collect(&both["left"]);
            self.collect(&both["right"]);
        } else if let Some(contains) = expression.get("contains") {
            if let (Some("tags" | "classification"), Some(tag)) = (
                resource_attribute(&contains["left"]),
                string_literal(&contains["right"]),
            ) {
                self.tags.push(tag.to_string());
            }
        } else if let Some(equal) = expression.get("==") {
            let (left, right) = (&equal["left"], &equal["right"]);
            let pair = match (resource_attribute(left), resource_attribute(right)) {
                (Some(attribute), None) => Some((attribute, string_literal(right))),
                (None, Some(attribute)) => Some((attribute, string_literal(left))),
                _ => None,
            };
            if let Some(("lifecycle", Some(lifecycle))) = pair {
                // Two different required lifecycles: the statement can never hold; requiring
                // the first is still only a necessary condition.
                self.lifecycle.get_or_insert_with(|| lifecycle.to_string());
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.lifecycle.is_none()
    }

    /// Whether a resource with these (sorted) tags and this lifecycle meets them.
    pub fn met_by(&self, sorted_tags: &[String], lifecycle: &str) -> bool {
        self.lifecycle
            .as_deref()
            .is_none_or(|wanted| wanted == lifecycle)
            && self
                .tags
                .iter()
                .all(|tag| sorted_tags.binary_search(tag).is_ok())
    }
}

/// `resource.<attribute>` → the attribute.
fn resource_attribute(expression: &Value) -> Option<&str> {
    let access = expression.get(".")?;
    (access["left"]["Var"] == "resource").then_some(())?;
    access["attr"].as_str()
}

/// A string literal's text.
fn string_literal(expression: &Value) -> Option<&str> {
    expression.get("Value")?.as_str()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn of(text: &str) -> Requirements {
        let set = cedar_policy::PolicySet::from_str(text).unwrap();
        Requirements::of(set.policies().next().unwrap())
    }

    #[test]
    fn conjuncts_of_when_clauses_are_requirements() {
        let read = of(r#"forbid (principal, action, resource)
            when { resource.classification.contains("pii=phone") && "PUBLISHED" == resource.lifecycle }
            when { resource.tags.contains("tier=gold") };"#);
        assert_eq!(read.tags, ["pii=phone", "tier=gold"]);
        assert_eq!(read.lifecycle.as_deref(), Some("PUBLISHED"));
        let tags = vec!["pii=phone".to_string(), "tier=gold".to_string()];
        assert!(read.met_by(&tags, "PUBLISHED"));
        assert!(!read.met_by(&tags, "DRAFT"));
        assert!(!read.met_by(&tags[..1], "PUBLISHED"));
    }

    #[test]
    fn what_is_not_a_necessary_condition_requires_nothing() {
        for text in [
            r#"permit (principal, action, resource) when { resource.tags.contains("a") || resource.tags.contains("b") };"#,
            r#"permit (principal, action, resource) unless { resource.tags.contains("a") };"#,
            r#"permit (principal, action, resource) when { !resource.tags.contains("a") };"#,
            r#"permit (principal, action, resource) when { resource.owners.contains("users/a") };"#,
            r#"permit (principal, action, resource) when { resource.domain == "domains/a" };"#,
            r#"permit (principal, action, resource) when { resource.lifecycle != "RETIRED" };"#,
            r#"permit (principal, action, resource in Weft::Domain::"domains/a") when { Weft::Domain::"domains/a".tags.contains("x") };"#,
            r#"permit (principal, action, resource);"#,
        ] {
            assert!(of(text).is_empty(), "{text}: {:?}", of(text));
        }
    }
}
