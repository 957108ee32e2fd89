//! Tag-based grants indexed by what they can match: a grant matches only resources carrying
//! one of the values its first clause accepts (or any value of its key, when it lists none).
//! A decision looks up the resource's tags instead of testing every tag-based grant of every
//! principal the subject acts as (a user in a few groups had hundreds of them).

use std::collections::HashMap;
use std::sync::Arc;

use weft_proto::weft::governance::v1::{Grant, TagExpression};

/// One principal's tag-based grants.
#[derive(Default)]
pub struct TagGrants {
    by_key: HashMap<String, KeyGrants>,
}

/// The grants whose first clause is on one key.
#[derive(Default)]
struct KeyGrants {
    /// Clauses without values: any value of the key.
    any_value: Vec<Arc<Grant>>,
    /// By accepted value ("" for the key as a flag).
    by_value: HashMap<String, Vec<Arc<Grant>>>,
}

impl TagGrants {
    pub fn insert(&mut self, expression: &TagExpression, grant: Arc<Grant>) {
        let Some(first) = expression.clauses.first() else {
            return; // An empty expression matches nothing.
        };
        let key = self.by_key.entry(first.key.clone()).or_default();
        if first.values.is_empty() {
            key.any_value.push(grant);
        } else {
            for value in &first.values {
                key.by_value
                    .entry(value.clone())
                    .or_default()
                    .push(grant.clone());
            }
        }
    }

    pub fn remove(&mut self, expression: &TagExpression, name: &str) {
        let Some(first) = expression.clauses.first() else {
            return;
        };
        let Some(key) = self.by_key.get_mut(&first.key) else {
            return;
        };
        key.any_value.retain(|grant| grant.name != name);
        key.by_value.retain(|_, grants| {
            grants.retain(|grant| grant.name != name);
            !grants.is_empty()
        });
        if key.any_value.is_empty() && key.by_value.is_empty() {
            self.by_key.remove(&first.key);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The grants that may match a resource with `tags` ("key=value" or "key"), each once,
    /// pushed onto `found`.
    pub fn candidates<'a>(&'a self, tags: &[String], found: &mut Vec<&'a Arc<Grant>>) {
        let mut pairs: Vec<(&str, &str)> = tags.iter().map(|tag| split(tag)).collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut rest = pairs.as_slice();
        while let Some(&(key, _)) = rest.first() {
            let count = rest.iter().take_while(|(k, _)| *k == key).count();
            let (same_key, after) = rest.split_at(count);
            rest = after;
            let Some(grants) = self.by_key.get(key) else {
                continue;
            };
            found.extend(grants.any_value.iter());
            let start = found.len();
            for (_, value) in same_key {
                for grant in grants.by_value.get(*value).into_iter().flatten() {
                    // A grant accepting several of the values this resource has is found once.
                    if count == 1 || !found[start..].iter().any(|g| Arc::ptr_eq(g, grant)) {
                        found.push(grant);
                    }
                }
            }
        }
    }
}

fn split(tag: &str) -> (&str, &str) {
    tag.split_once('=').unwrap_or((tag, ""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::tags::tests::expression;

    fn grant(name: &str, clauses: &[(&str, &[&str])]) -> (TagExpression, Arc<Grant>) {
        let grant = Grant {
            name: name.to_string(),
            ..Default::default()
        };
        (expression(clauses), Arc::new(grant))
    }

    fn found(index: &TagGrants, tags: &[&str]) -> Vec<String> {
        let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        let mut found = Vec::new();
        index.candidates(&tags, &mut found);
        let mut names: Vec<String> = found.iter().map(|g| g.name.clone()).collect();
        names.sort();
        names
    }

    #[test]
    fn grants_are_found_by_the_tags_their_first_clause_accepts_once_each() {
        let mut index = TagGrants::default();
        for (name, clauses) in [
            ("gold", &[("tier", &["gold"][..])][..]),
            ("gold-or-silver", &[("tier", &["gold", "silver"][..])][..]),
            ("any-tier", &[("tier", &[][..])][..]),
            (
                "pii-and-gold",
                &[("pii", &["email"][..]), ("tier", &["gold"][..])][..],
            ),
            ("flag", &[("restricted", &[""][..])][..]),
            ("nothing", &[][..]),
        ] {
            let (expression, grant) = grant(name, clauses);
            index.insert(&expression, grant);
        }
        assert_eq!(found(&index, &["tier=bronze"]), ["any-tier"]);
        assert_eq!(
            found(&index, &["tier=gold", "tier=silver", "tier2=x"]),
            ["any-tier", "gold", "gold-or-silver"]
        );
        // Only the first clause is looked up: the rest is the matcher's to check.
        assert_eq!(found(&index, &["pii=email"]), ["pii-and-gold"]);
        assert_eq!(found(&index, &["restricted"]), ["flag"]);
        assert!(found(&index, &[]).is_empty());

        let (expression, _) = grant("gold-or-silver", &[("tier", &["gold", "silver"])]);
        index.remove(&expression, "gold-or-silver");
        assert_eq!(found(&index, &["tier=silver"]), ["any-tier"]);
    }
}
