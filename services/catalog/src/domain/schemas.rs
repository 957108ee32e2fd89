//! Asset schemas: validation, the differences between two versions, and which differences break
//! a compatibility mode.
//!
//! Modes, for a data product whose consumers keep reading while the producer evolves:
//! - BACKWARD (default): the new schema can hold all data written with the previous one and keeps
//!   what consumers read: no column removed, no type narrowed or changed incompatibly, no nullable
//!   column made required, no required column added.
//! - FORWARD: readers of the previous schema can read data written with the new one: no required
//!   column removed, no type widened or changed incompatibly, no required column made nullable.
//! - FULL: both. NONE: anything goes.

use std::collections::BTreeMap;

use weft_proto::weft::catalog::v1::{
    Column, CompatibilityMode, Schema, SchemaChange, SchemaChangeKind,
};
use weft_runtime::{FieldErrors, Violation, validate};

use super::custom_properties;
use weft_proto::data_type::DataType;

const MAX_COLUMNS: usize = 2_000;
const MAX_DEPTH: usize = 8;
const MAX_COLUMN_NAME: usize = 128;
const GLOSSARY_TERMS: &[&str] = &["glossaries", "terms"];

/// Checks every column (recursively) and reports each fault under its field path.
pub fn validate_schema(errors: &mut FieldErrors, field: &str, schema: &Schema) {
    let total = count_columns(&schema.columns);
    if total > MAX_COLUMNS {
        errors.add(
            format!("{field}.columns"),
            format!("at most {MAX_COLUMNS} columns (found {total})"),
        );
        return;
    }
    validate_columns(errors, &format!("{field}.columns"), &schema.columns, 1);
}

fn count_columns(columns: &[Column]) -> usize {
    columns.iter().map(|c| 1 + count_columns(&c.fields)).sum()
}

fn validate_columns(errors: &mut FieldErrors, field: &str, columns: &[Column], depth: usize) {
    let mut seen = std::collections::HashSet::new();
    for (index, column) in columns.iter().enumerate() {
        let at = format!("{field}[{index}]");
        if column.name.is_empty() {
            errors.add(format!("{at}.name"), "is required");
        } else if column.name.chars().count() > MAX_COLUMN_NAME
            || column.name.contains(['.', '#'])
            || column.name.chars().any(char::is_control)
        {
            errors.add(
                format!("{at}.name"),
                format!(
                    "must be at most {MAX_COLUMN_NAME} printable characters without '.' or '#'"
                ),
            );
        } else if !seen.insert(column.name.to_ascii_lowercase()) {
            errors.add(
                format!("{at}.name"),
                format!("'{}' appears twice", column.name),
            );
        }
        match DataType::parse(&column.r#type) {
            Err(message) => errors.add(format!("{at}.type"), message),
            Ok(t) if t.has_fields() && column.fields.is_empty() => errors.add(
                format!("{at}.fields"),
                "a struct (or array<struct>) column needs fields",
            ),
            Ok(t) if t.has_fields() && depth >= MAX_DEPTH => errors.add(
                format!("{at}.fields"),
                format!("fields nest at most {MAX_DEPTH} levels"),
            ),
            Ok(t) if t.has_fields() => {
                validate_columns(errors, &format!("{at}.fields"), &column.fields, depth + 1)
            }
            Ok(_) if !column.fields.is_empty() => errors.add(
                format!("{at}.fields"),
                "only struct (and array<struct>) columns have fields",
            ),
            Ok(_) => {}
        }
        validate::description(errors, &format!("{at}.description"), &column.description);
        validate::tags(errors, &format!("{at}.tags"), &column.tags);
        custom_properties::validate(
            errors,
            &format!("{at}.custom_properties"),
            &column.custom_properties,
        );
        for (term_index, term) in column.glossary_terms.iter().enumerate() {
            validate::name(
                errors,
                &format!("{at}.glossary_terms[{term_index}]"),
                term,
                GLOSSARY_TERMS,
            );
        }
    }
}

/// The schema with canonical type names and output-only fields cleared (call after validation).
pub fn normalize(schema: &Schema) -> Schema {
    fn columns(input: &[Column]) -> Vec<Column> {
        input
            .iter()
            .map(|column| Column {
                r#type: DataType::parse(&column.r#type)
                    .map_or_else(|_| column.r#type.clone(), |t| t.to_string()),
                fields: columns(&column.fields),
                inherited_tags: Vec::new(),
                ..column.clone()
            })
            .collect()
    }
    Schema {
        columns: columns(&schema.columns),
    }
}

/// Every column by dotted path, with its parsed type.
fn flatten(schema: &Schema) -> BTreeMap<String, (&Column, Option<DataType>)> {
    weft_proto::columns::flatten(&schema.columns)
        .into_iter()
        .map(|(path, column)| (path, (column, DataType::parse(&column.r#type).ok())))
        .collect()
}

/// One difference, and whether it breaks BACKWARD and FORWARD compatibility.
struct Difference {
    kind: SchemaChangeKind,
    column: String,
    detail: String,
    breaks_backward: bool,
    breaks_forward: bool,
}

fn differences(old: &Schema, new: &Schema) -> Vec<Difference> {
    let before = flatten(old);
    let after = flatten(new);
    let mut out = Vec::new();
    let mut push = |kind, column: &str, detail: String, breaks_backward, breaks_forward| {
        out.push(Difference {
            kind,
            column: column.to_string(),
            detail,
            breaks_backward,
            breaks_forward,
        })
    };
    for (path, (old_column, old_type)) in &before {
        let Some((new_column, new_type)) = after.get(path) else {
            push(
                SchemaChangeKind::ColumnRemoved,
                path,
                "column removed".into(),
                true,
                !old_column.nullable,
            );
            continue;
        };
        if old_type != new_type {
            let (from, to) = (old_column.r#type.as_str(), new_column.r#type.as_str());
            match (old_type, new_type) {
                (Some(a), Some(b)) if a.widens_to(b) => push(
                    SchemaChangeKind::TypeWidened,
                    path,
                    format!("type widened from {from} to {to}"),
                    false,
                    true,
                ),
                (Some(a), Some(b)) if b.widens_to(a) => push(
                    SchemaChangeKind::TypeNarrowed,
                    path,
                    format!("type narrowed from {from} to {to}"),
                    true,
                    false,
                ),
                _ => push(
                    SchemaChangeKind::TypeNarrowed,
                    path,
                    format!("type changed incompatibly from {from} to {to}"),
                    true,
                    true,
                ),
            }
        }
        if old_column.nullable && !new_column.nullable {
            push(
                SchemaChangeKind::MadeRequired,
                path,
                "nullable column made required".into(),
                true,
                false,
            );
        }
        if !old_column.nullable && new_column.nullable {
            push(
                SchemaChangeKind::MadeNullable,
                path,
                "required column made nullable".into(),
                false,
                true,
            );
        }
        if old_column.description != new_column.description
            || old_column.tags != new_column.tags
            || old_column.glossary_terms != new_column.glossary_terms
        {
            push(
                SchemaChangeKind::MetadataChanged,
                path,
                "description, tags or terms changed".into(),
                false,
                false,
            );
        }
    }
    for (path, (new_column, _)) in &after {
        if !before.contains_key(path) {
            let detail = if new_column.nullable {
                "nullable column added"
            } else {
                "required column added"
            };
            push(
                SchemaChangeKind::ColumnAdded,
                path,
                detail.into(),
                !new_column.nullable,
                false,
            );
        }
    }
    out
}

fn breaks(difference: &Difference, mode: CompatibilityMode) -> bool {
    match mode {
        CompatibilityMode::None => false,
        CompatibilityMode::Forward => difference.breaks_forward,
        CompatibilityMode::Full => difference.breaks_backward || difference.breaks_forward,
        CompatibilityMode::Backward | CompatibilityMode::Unspecified => difference.breaks_backward,
    }
}

/// The changes from `old` to `new` (by column path, then added columns), each marked breaking
/// or not under `mode`.
pub fn diff(old: &Schema, new: &Schema, mode: CompatibilityMode) -> Vec<SchemaChange> {
    differences(old, new)
        .into_iter()
        .map(|d| SchemaChange {
            breaking: breaks(&d, mode),
            kind: d.kind as i32,
            column: d.column,
            detail: d.detail,
        })
        .collect()
}

/// The violations of `mode` when moving from `old` to `new` (empty when compatible).
pub fn violations(old: &Schema, new: &Schema, mode: CompatibilityMode) -> Vec<Violation> {
    diff(old, new, mode)
        .into_iter()
        .filter(|change| change.breaking)
        .map(|change| Violation {
            kind: change
                .kind()
                .as_str_name()
                .trim_start_matches("SCHEMA_CHANGE_KIND_")
                .to_string(),
            subject: change.column,
            description: change.detail,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, r#type: &str, nullable: bool) -> Column {
        Column {
            name: name.into(),
            r#type: r#type.into(),
            nullable,
            ..Default::default()
        }
    }

    fn schema(columns: Vec<Column>) -> Schema {
        Schema { columns }
    }

    fn kinds(old: &Schema, new: &Schema, mode: CompatibilityMode) -> Vec<(String, String)> {
        violations(old, new, mode)
            .into_iter()
            .map(|v| (v.kind, v.subject))
            .collect()
    }

    #[test]
    fn backward_refuses_removals_narrowing_and_new_requirements() {
        let old = schema(vec![
            column("id", "bigint", false),
            column("amount", "decimal(10,2)", true),
            column("note", "string", true),
        ]);
        let new = schema(vec![
            column("id", "int", false),
            column("amount", "decimal(10,2)", false),
            column("region", "string", false),
        ]);
        assert_eq!(
            kinds(&old, &new, CompatibilityMode::Backward),
            [
                ("MADE_REQUIRED".to_string(), "amount".to_string()),
                ("TYPE_NARROWED".to_string(), "id".to_string()),
                ("COLUMN_REMOVED".to_string(), "note".to_string()),
                ("COLUMN_ADDED".to_string(), "region".to_string()),
            ]
        );
        assert!(kinds(&old, &new, CompatibilityMode::None).is_empty());
    }

    #[test]
    fn compatible_evolutions_pass_and_forward_mirrors_backward() {
        let old = schema(vec![
            column("id", "int", false),
            column("name", "string", false),
        ]);
        let new = schema(vec![
            column("id", "bigint", false),
            column("name", "string", true),
            column("email", "string", true),
        ]);
        assert!(kinds(&old, &new, CompatibilityMode::Backward).is_empty());
        assert_eq!(
            kinds(&old, &new, CompatibilityMode::Forward),
            [
                ("TYPE_WIDENED".to_string(), "id".to_string()),
                ("MADE_NULLABLE".to_string(), "name".to_string())
            ]
        );
        assert_eq!(kinds(&old, &new, CompatibilityMode::Full).len(), 2);
    }

    #[test]
    fn nested_fields_are_compared_by_path() {
        let address = |zip: &str| Column {
            fields: vec![column("zip", zip, true)],
            ..column("address", "struct", true)
        };
        let old = schema(vec![address("int")]);
        let new = schema(vec![address("string")]);
        assert_eq!(
            kinds(&old, &new, CompatibilityMode::Backward),
            [("TYPE_NARROWED".to_string(), "address.zip".to_string())]
        );
    }

    #[test]
    fn validation_names_each_faulty_column() {
        let mut errors = FieldErrors::new();
        let bad = schema(vec![
            column("id", "varchar2", false),
            column("id", "int", false),
            Column {
                fields: vec![],
                ..column("address", "struct", true)
            },
            Column {
                fields: vec![column("x", "int", true)],
                ..column("flat", "int", true)
            },
            column("a.b", "int", true),
        ]);
        validate_schema(&mut errors, "asset.schema", &bad);
        let status = errors.into_result().unwrap_err().into_status();
        let details = tonic_types::StatusExt::get_error_details(&status);
        let fields: Vec<_> = details
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(
            fields,
            [
                "asset.schema.columns[0].type",
                "asset.schema.columns[1].name",
                "asset.schema.columns[2].fields",
                "asset.schema.columns[3].fields",
                "asset.schema.columns[4].name",
            ]
        );
    }
}
