//! The row-filter language of data filters: comparisons, IN, BETWEEN, LIKE, IS [NOT] NULL and
//! AND / OR / NOT over columns and literals. Text is parsed into the `weft.common.v1.Expr` tree
//! and type-checked against the asset's columns; a tree given directly is checked the same way
//! (it is rendered and parsed again, so both paths share one checker and both report positions
//! in the rendered text). The tree is what is stored and what the data plane translates: filter
//! text is never spliced into SQL.

mod lexer;
mod parser;
mod render;

pub use parser::{MAX_NESTING, parse};
pub use render::render;

use weft_proto::data_type::DataType;
use weft_proto::weft::common::v1::Expr;

use crate::access::nodes::ColumnIndex;

/// A fault in a row filter, at a 1-based character position of its text.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterError {
    pub position: usize,
    pub message: String,
}

impl FilterError {
    pub fn at(position: usize, message: impl Into<String>) -> Self {
        Self {
            position,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at position {}: {}", self.position, self.message)
    }
}

/// What a column's values can be compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnKind {
    String,
    Number,
    Boolean,
    Date,
    Timestamp,
    /// Bytes, JSON, arrays, maps, structs: no comparison is defined. Holds the type's name.
    Unfilterable(String),
}

impl ColumnKind {
    pub fn of(data_type: &DataType) -> Self {
        match data_type {
            DataType::String | DataType::Uuid => ColumnKind::String,
            DataType::SmallInt
            | DataType::Int
            | DataType::BigInt
            | DataType::Float
            | DataType::Double
            | DataType::Decimal(..) => ColumnKind::Number,
            DataType::Boolean => ColumnKind::Boolean,
            DataType::Date => ColumnKind::Date,
            DataType::Timestamp | DataType::TimestampTz => ColumnKind::Timestamp,
            other => ColumnKind::Unfilterable(other.to_string()),
        }
    }

    fn describe(&self) -> String {
        match self {
            ColumnKind::String => "a string".to_string(),
            ColumnKind::Number => "a number".to_string(),
            ColumnKind::Boolean => "a boolean".to_string(),
            ColumnKind::Date => "a date".to_string(),
            ColumnKind::Timestamp => "a timestamp".to_string(),
            ColumnKind::Unfilterable(name) => name.clone(),
        }
    }

    fn comparable_with(&self, other: &ColumnKind) -> bool {
        self == other
            || matches!(
                (self, other),
                (ColumnKind::Date, ColumnKind::Timestamp)
                    | (ColumnKind::Timestamp, ColumnKind::Date)
            )
    }
}

/// The kind of the column at `path` of an asset, if it exists.
pub fn column_kind(columns: &ColumnIndex, path: &str) -> Option<ColumnKind> {
    let column_type = columns.column_type(path)?;
    Some(match DataType::parse(column_type) {
        Ok(data_type) => ColumnKind::of(&data_type),
        Err(_) => ColumnKind::Unfilterable(column_type.to_string()),
    })
}

/// Longest row filter, as text or rendered from a tree.
pub const MAX_TEXT: usize = 10_000;

fn check_length(text: &str) -> Result<(), FilterError> {
    if text.len() > MAX_TEXT {
        return Err(FilterError::at(
            1,
            format!("a row filter must be at most {MAX_TEXT} characters"),
        ));
    }
    Ok(())
}

/// Checks a filter given as a tree: returns the normalized tree and its text. (The tree's depth
/// is bounded by protobuf decoding's recursion limit, its rendering by `MAX_NESTING` when
/// parsed again.)
pub fn check_tree(expr: &Expr, columns: &ColumnIndex) -> Result<(Expr, String), FilterError> {
    let text = render(expr);
    check_length(&text)?;
    let parsed = parse(&text, &|path| column_kind(columns, path))?;
    Ok((parsed, text))
}

/// Parses a filter given as text: returns the tree and its normalized text.
pub fn check_text(text: &str, columns: &ColumnIndex) -> Result<(Expr, String), FilterError> {
    check_length(text)?;
    let parsed = parse(text, &|path| column_kind(columns, path))?;
    let normalized = render(&parsed);
    Ok((parsed, normalized))
}

#[cfg(test)]
mod tests;
