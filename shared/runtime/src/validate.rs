//! Checks of request fields every service shares (AIP-122 ids and names, principals, tags, text
//! sizes), each reporting into `FieldErrors` under the field's path.

use std::sync::LazyLock;

use regex::Regex;
use weft_proto::weft::common::v1::Tag;

use crate::error::FieldErrors;

/// Longest display name.
pub const MAX_DISPLAY_NAME: usize = 200;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 10_000;
/// Most owners of one resource.
pub const MAX_OWNERS: usize = 50;
/// Most tags of one resource.
pub const MAX_TAGS: usize = 100;

static RESOURCE_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$").expect("valid regex"));
static PRINCIPAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(users|groups|projects|serviceAccounts)/[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
        .expect("valid regex")
});

/// An AIP-122 resource id: lowercase letters, digits and hyphens, 1–63 characters, starting with
/// a letter and not ending with a hyphen.
pub fn resource_id(errors: &mut FieldErrors, field: &str, id: &str) -> bool {
    if id.is_empty() {
        errors.add(field, "is required");
        return false;
    }
    if !RESOURCE_ID.is_match(id) {
        errors.add(
            field,
            "must be 1-63 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen",
        );
        return false;
    }
    true
}

/// Parses a resource name made of `collection/id` pairs against the expected collections,
/// e.g. `["domains", "dataProducts"]` for `domains/sales/dataProducts/orders`; returns the ids.
pub fn parse_name<'a>(name: &'a str, collections: &[&str]) -> Option<Vec<&'a str>> {
    let parts: Vec<&str> = name.split('/').collect();
    if parts.len() != collections.len() * 2 {
        return None;
    }
    let mut ids = Vec::with_capacity(collections.len());
    for (pair, collection) in parts.chunks(2).zip(collections) {
        if pair[0] != *collection || !RESOURCE_ID.is_match(pair[1]) {
            return None;
        }
        ids.push(pair[1]);
    }
    Some(ids)
}

/// Longest catalog resource name a request may carry, column path included: ids are at most 63
/// characters and column paths at most 8 names of 128.
pub const MAX_RESOURCE_NAME: usize = 2_048;
/// Most names in a column path (`asset#address.city`).
const MAX_COLUMN_PATH_NAMES: usize = 8;

/// The collections a catalog resource name may hold, each with those that may follow it: the
/// resource patterns of the API (`domains/{domain}/dataProducts/{product}/assets/{asset}`…).
const CATALOG_COLLECTIONS: &[(&str, &[&str])] = &[
    ("domains", &["dataProducts"]),
    ("dataProducts", &["assets", "revisions", "dataSources"]),
    ("assets", &["schemaVersions"]),
    ("dataSources", &["runs"]),
    ("revisions", &[]),
    ("schemaVersions", &[]),
    ("runs", &[]),
];

static NAME_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(-|[A-Za-z0-9][A-Za-z0-9_-]{0,62})$").expect("valid regex"));

/// Whether `name` has the shape of a catalog resource the API names in an access rule (a
/// domain, product, asset or one of their sub-resources, optionally `#column.path`), checked
/// in time linear in its length before anything looks it up. The error says what is wrong.
pub fn catalog_resource_name(name: &str) -> Result<(), String> {
    if name.len() > MAX_RESOURCE_NAME {
        return Err(format!(
            "must be a resource name of at most {MAX_RESOURCE_NAME} characters"
        ));
    }
    let (path, column) = match name.split_once('#') {
        Some((path, column)) => (path, Some(column)),
        None => (name, None),
    };
    let mut expected: &[&str] = &["domains"];
    let mut segments = path.split('/');
    let mut pairs = 0;
    while let Some(collection) = segments.next() {
        let Some(&(_, next)) = CATALOG_COLLECTIONS
            .iter()
            .find(|(known, _)| *known == collection)
            .filter(|(known, _)| expected.contains(known))
        else {
            return Err(format!(
                "must be a catalog resource name (domains/{{domain}}[/dataProducts/{{product}}[/assets/{{asset}}]]…); found '{}' where {} was expected",
                crate::error::clip(collection, 40),
                expected.join(" or ")
            ));
        };
        match segments.next() {
            Some(id) if NAME_ID.is_match(id) => {}
            _ => {
                return Err(format!(
                    "must be a catalog resource name: {collection}/ needs an id of letters, digits, '-' or '_'"
                ));
            }
        }
        pairs += 1;
        expected = next;
    }
    if pairs == 0 {
        return Err("must be a catalog resource name".to_string());
    }
    if let Some(column) = column {
        let names: Vec<&str> = column.split('.').collect();
        if names.len() > MAX_COLUMN_PATH_NAMES || names.iter().any(|n| n.is_empty()) {
            return Err(format!(
                "a column path (after '#') must be 1-{MAX_COLUMN_PATH_NAMES} column names joined by '.'"
            ));
        }
    }
    Ok(())
}

/// A required resource name of the given shape.
pub fn name<'a>(
    errors: &mut FieldErrors,
    field: &str,
    value: &'a str,
    collections: &[&str],
) -> Option<Vec<&'a str>> {
    if value.is_empty() {
        errors.add(field, "is required");
        return None;
    }
    let parsed = parse_name(value, collections);
    if parsed.is_none() {
        let pattern: Vec<String> = collections.iter().map(|c| format!("{c}/{{id}}")).collect();
        errors.add(
            field,
            format!("must be a resource name of the form {}", pattern.join("/")),
        );
    }
    parsed
}

pub fn display_name(errors: &mut FieldErrors, field: &str, value: &str) {
    if value.trim().is_empty() {
        errors.add(field, "is required");
    } else if value.chars().count() > MAX_DISPLAY_NAME {
        errors.add(
            field,
            format!("must be at most {MAX_DISPLAY_NAME} characters"),
        );
    }
}

pub fn description(errors: &mut FieldErrors, field: &str, value: &str) {
    if value.chars().count() > MAX_DESCRIPTION {
        errors.add(
            field,
            format!("must be at most {MAX_DESCRIPTION} characters"),
        );
    }
}

/// A principal name: users/…, groups/…, projects/… or serviceAccounts/….
pub fn principal(errors: &mut FieldErrors, field: &str, value: &str) -> bool {
    if PRINCIPAL.is_match(value) {
        return true;
    }
    errors.add(
        field,
        "must be a principal: users/{id}, groups/{id}, projects/{id} or serviceAccounts/{id}",
    );
    false
}

pub fn principals(errors: &mut FieldErrors, field: &str, values: &[String]) {
    if values.len() > MAX_OWNERS {
        errors.add(field, format!("must list at most {MAX_OWNERS} principals"));
        return;
    }
    for (index, value) in values.iter().enumerate() {
        principal(errors, &format!("{field}[{index}]"), value);
    }
    if has_duplicates(values.iter()) {
        errors.add(field, "must not repeat a principal");
    }
}

pub fn tags(errors: &mut FieldErrors, field: &str, tags: &[Tag]) {
    if tags.len() > MAX_TAGS {
        errors.add(field, format!("must have at most {MAX_TAGS} tags"));
        return;
    }
    for (index, tag) in tags.iter().enumerate() {
        // Tag keys are the ids of declared `tagKeys/{key}` resources.
        if !RESOURCE_ID.is_match(&tag.key) {
            errors.add(
                format!("{field}[{index}].key"),
                "must be a tag key id: 1-63 lowercase letters, digits or hyphens, starting with a letter",
            );
        }
        if tag.value.chars().count() > 256 || tag.value.chars().any(char::is_control) {
            errors.add(
                format!("{field}[{index}].value"),
                "must be at most 256 printable characters",
            );
        }
    }
    if has_duplicates(tags.iter().map(|tag| (&tag.key, &tag.value))) {
        errors.add(field, "must not repeat a tag");
    }
}

fn has_duplicates<T: Ord>(items: impl Iterator<Item = T>) -> bool {
    let mut items: Vec<T> = items.collect();
    let count = items.len();
    items.sort();
    items.dedup();
    items.len() != count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_follow_aip_122() {
        for ok in ["a", "sales", "sales-eu-2"] {
            assert!(resource_id(&mut FieldErrors::new(), "id", ok), "{ok}");
        }
        for bad in ["", "Sales", "1sales", "sales-", "sa_les", &"a".repeat(64)] {
            assert!(!resource_id(&mut FieldErrors::new(), "id", bad), "{bad}");
        }
    }

    #[test]
    fn names_are_parsed_against_their_collections() {
        assert_eq!(
            parse_name(
                "domains/sales/dataProducts/orders",
                &["domains", "dataProducts"]
            ),
            Some(vec!["sales", "orders"])
        );
        assert_eq!(
            parse_name("domains/sales", &["domains", "dataProducts"]),
            None
        );
        assert_eq!(parse_name("domain/sales", &["domains"]), None);
        assert_eq!(parse_name("domains/Sales", &["domains"]), None);
    }

    #[test]
    fn catalog_resource_names_follow_the_api_patterns() {
        for ok in [
            "domains/sales",
            "domains/-",
            "domains/sales/dataProducts/orders/assets/lines",
            "domains/sales/dataProducts/orders/assets/lines/schemaVersions/3",
            "domains/sales/dataProducts/orders/revisions/2",
            "domains/sales/dataProducts/orders/assets/lines#address.city",
        ] {
            assert_eq!(catalog_resource_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "sales",
            "domains",
            "domains/",
            "domains/sales/",
            "projects/churn",
            "domains/sales/assets/lines",
            "domains/sales/dataProducts/orders/assets/lines/schemaVersions/3/x/y",
            "domains/sa les",
            "domains/sales#",
            "domains/sales#a..b",
            "domains/sales#a.b.c.d.e.f.g.h.i",
        ] {
            assert!(catalog_resource_name(bad).is_err(), "{bad}");
        }
        // A few MB of "a/" segments is refused by its length, before anything walks it.
        let huge = "domains/a/".repeat(300_000);
        assert!(
            catalog_resource_name(&huge)
                .unwrap_err()
                .contains("at most 2048")
        );
        let long_but_bounded = format!("domains/{}", "a/dataProducts/".repeat(100));
        assert!(catalog_resource_name(&long_but_bounded).is_err());
    }
}
