//! The column types Weft knows, parsed from their text form, and which changes of type widen
//! (every old value fits the new type) or not. The catalog checks schemas with them, governance
//! type-checks row filters.

use std::fmt;

/// A column's logical type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataType {
    String,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    /// decimal(precision, scale)
    Decimal(u32, u32),
    Boolean,
    Date,
    Timestamp,
    TimestampTz,
    Bytes,
    Json,
    Uuid,
    Array(Box<DataType>),
    Map(Box<DataType>, Box<DataType>),
    /// A struct: its fields are the column's nested `fields`.
    Struct,
}

/// The accepted spellings, for error messages.
pub const KNOWN_TYPES: &str = "string, smallint, int, bigint, float, double, decimal(p,s), boolean, date, \
     timestamp, timestamptz, bytes, json, uuid, array<T>, map<K,V>, struct";

const MAX_DECIMAL_PRECISION: u32 = 76;
/// Longest type text: real types (a map of arrays of decimals) are far shorter.
pub const MAX_TYPE_TEXT: usize = 1_000;
/// Deepest nesting of array<…> and map<…>: the parser recurses once per level, so the stack it
/// needs is bounded by this, not by the input.
pub const MAX_TYPE_DEPTH: usize = 16;

impl DataType {
    /// Parses a type, case-insensitively, with common aliases (integer, varchar, text, bool…).
    pub fn parse(text: &str) -> Result<DataType, String> {
        if text.len() > MAX_TYPE_TEXT {
            return Err(format!("a type must be at most {MAX_TYPE_TEXT} characters"));
        }
        let normalized: String = text
            .trim()
            .to_ascii_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let (value, rest) = parse_type(&normalized, 1)?;
        if !rest.trim().is_empty() {
            return Err(format!(
                "unexpected '{}' after the type",
                quote(rest.trim())
            ));
        }
        Ok(value)
    }

    /// Whether a column of this type has nested fields: a struct, or an array of structs (the
    /// fields of its elements).
    pub fn has_fields(&self) -> bool {
        match self {
            DataType::Struct => true,
            DataType::Array(element) => element.has_fields(),
            _ => false,
        }
    }

    /// Whether every value of `self` can be stored in `to` without loss.
    pub fn widens_to(&self, to: &DataType) -> bool {
        use DataType::*;
        match (self, to) {
            (a, b) if a == b => true,
            (SmallInt, Int | BigInt | Double) | (Int, BigInt | Double) | (Float, Double) => true,
            (SmallInt | Int | BigInt, Decimal(p, s)) => {
                let digits = match self {
                    SmallInt => 5,
                    Int => 10,
                    _ => 19,
                };
                p - s >= digits
            }
            (Decimal(p1, s1), Decimal(p2, s2)) => s2 >= s1 && p2 - s2 >= p1 - s1,
            (Date, Timestamp | TimestampTz) => true,
            (Array(a), Array(b)) => a.widens_to(b),
            (Map(k1, v1), Map(k2, v2)) => k1 == k2 && v1.widens_to(v2),
            _ => false,
        }
    }
}

/// At most 40 characters of `text`, to quote it in an error.
fn quote(text: &str) -> std::borrow::Cow<'_, str> {
    crate::text::clip(text, 40)
}

/// Parses one type at nesting `depth` (1 for the outermost).
fn parse_type(input: &str, depth: usize) -> Result<(DataType, &str), String> {
    if depth > MAX_TYPE_DEPTH {
        return Err(format!(
            "types nest at most {MAX_TYPE_DEPTH} levels of array<…> and map<…>"
        ));
    }
    let input = input.trim_start();
    let end = input
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ' '))
        .unwrap_or(input.len());
    let word = input[..end].trim();
    let rest = &input[end..];
    let simple = match word {
        "string" | "text" | "varchar" | "char" | "character varying" => Some(DataType::String),
        "smallint" | "int2" | "short" => Some(DataType::SmallInt),
        "int" | "integer" | "int4" => Some(DataType::Int),
        "bigint" | "int8" | "long" => Some(DataType::BigInt),
        "float" | "real" | "float4" => Some(DataType::Float),
        "double" | "double precision" | "float8" => Some(DataType::Double),
        "boolean" | "bool" => Some(DataType::Boolean),
        "date" => Some(DataType::Date),
        "timestamp" | "timestamp without time zone" | "datetime" => Some(DataType::Timestamp),
        "timestamptz" | "timestamp with time zone" => Some(DataType::TimestampTz),
        "bytes" | "binary" | "bytea" => Some(DataType::Bytes),
        "json" | "jsonb" => Some(DataType::Json),
        "uuid" => Some(DataType::Uuid),
        "struct" | "record" | "object" => Some(DataType::Struct),
        _ => None,
    };
    if let Some(simple) = simple {
        // varchar(n) / char(n): the length does not change the logical type.
        if matches!(simple, DataType::String)
            && let Some(after) = rest.strip_prefix('(')
        {
            let close = after.find(')').ok_or("unclosed '(' in the type")?;
            after[..close]
                .trim()
                .parse::<u32>()
                .map_err(|_| "a string length must be a number")?;
            return Ok((simple, &after[close + 1..]));
        }
        return Ok((simple, rest));
    }
    match word {
        "decimal" | "numeric" => {
            let Some(after) = rest.strip_prefix('(') else {
                return Ok((DataType::Decimal(38, 0), rest));
            };
            let close = after.find(')').ok_or("unclosed '(' in decimal(p,s)")?;
            let mut parts = after[..close].split(',').map(|p| p.trim().parse::<u32>());
            let precision = parts
                .next()
                .and_then(Result::ok)
                .ok_or("decimal precision must be a number")?;
            let scale = match parts.next() {
                None => 0,
                Some(scale) => scale.map_err(|_| "decimal scale must be a number")?,
            };
            if parts.next().is_some()
                || precision == 0
                || precision > MAX_DECIMAL_PRECISION
                || scale > precision
            {
                return Err(format!(
                    "decimal(p,s) needs 1 <= p <= {MAX_DECIMAL_PRECISION} and 0 <= s <= p"
                ));
            }
            Ok((DataType::Decimal(precision, scale), &after[close + 1..]))
        }
        "array" => {
            let after = rest
                .strip_prefix('<')
                .ok_or("array needs an element type: array<T>")?;
            let (element, after) = parse_type(after, depth + 1)?;
            let after = after
                .trim_start()
                .strip_prefix('>')
                .ok_or("array<T> is missing '>'")?;
            Ok((DataType::Array(Box::new(element)), after))
        }
        "map" => {
            let after = rest
                .strip_prefix('<')
                .ok_or("map needs key and value types: map<K,V>")?;
            let (key, after) = parse_type(after, depth + 1)?;
            let after = after
                .trim_start()
                .strip_prefix(',')
                .ok_or("map<K,V> is missing ','")?;
            let (value, after) = parse_type(after, depth + 1)?;
            let after = after
                .trim_start()
                .strip_prefix('>')
                .ok_or("map<K,V> is missing '>'")?;
            Ok((DataType::Map(Box::new(key), Box::new(value)), after))
        }
        "" => Err("a type is required".to_string()),
        other => Err(format!(
            "unknown type '{}'; known types: {KNOWN_TYPES}",
            quote(other)
        )),
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::String => f.write_str("string"),
            DataType::SmallInt => f.write_str("smallint"),
            DataType::Int => f.write_str("int"),
            DataType::BigInt => f.write_str("bigint"),
            DataType::Float => f.write_str("float"),
            DataType::Double => f.write_str("double"),
            DataType::Decimal(p, s) => write!(f, "decimal({p},{s})"),
            DataType::Boolean => f.write_str("boolean"),
            DataType::Date => f.write_str("date"),
            DataType::Timestamp => f.write_str("timestamp"),
            DataType::TimestampTz => f.write_str("timestamptz"),
            DataType::Bytes => f.write_str("bytes"),
            DataType::Json => f.write_str("json"),
            DataType::Uuid => f.write_str("uuid"),
            DataType::Array(element) => write!(f, "array<{element}>"),
            DataType::Map(key, value) => write!(f, "map<{key},{value}>"),
            DataType::Struct => f.write_str("struct"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DataType::*;
    use super::*;

    #[test]
    fn parses_canonical_forms_and_aliases() {
        assert_eq!(DataType::parse("BIGINT").unwrap(), BigInt);
        assert_eq!(DataType::parse("varchar(255)").unwrap(), String);
        assert_eq!(DataType::parse("numeric(10, 2)").unwrap(), Decimal(10, 2));
        assert_eq!(
            DataType::parse("timestamp with time zone").unwrap(),
            TimestampTz
        );
        assert_eq!(
            DataType::parse("map<string, array<decimal(5,1)>>").unwrap(),
            Map(Box::new(String), Box::new(Array(Box::new(Decimal(5, 1)))))
        );
        assert_eq!(
            DataType::parse("array<int>").unwrap().to_string(),
            "array<int>"
        );
    }

    #[test]
    fn refuses_unknown_and_malformed_types() {
        for bad in [
            "varchar2",
            "",
            "decimal(0,0)",
            "decimal(5,6)",
            "array<int",
            "map<int>",
            "int int",
            "decimal(x)",
        ] {
            assert!(DataType::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_deep_and_long_types_without_recursing_into_them() {
        let deepest_allowed = format!(
            "{}int{}",
            "array<".repeat(MAX_TYPE_DEPTH - 1),
            ">".repeat(MAX_TYPE_DEPTH - 1)
        );
        assert!(DataType::parse(&deepest_allowed).is_ok());
        let too_deep = format!(
            "{}int{}",
            "array<".repeat(MAX_TYPE_DEPTH),
            ">".repeat(MAX_TYPE_DEPTH)
        );
        assert!(
            DataType::parse(&too_deep)
                .unwrap_err()
                .contains("nest at most")
        );
        let map_too_deep = format!("{}int,int{}", "map<int,".repeat(20), ">".repeat(21));
        assert!(
            DataType::parse(&map_too_deep)
                .unwrap_err()
                .contains("nest at most")
        );
        // 100,000 levels: refused by size before any parsing (it aborted the catalog).
        let huge = "array<".repeat(100_000);
        assert!(DataType::parse(&huge).unwrap_err().contains("at most 1000"));
        // What an error quotes is bounded.
        let unknown = DataType::parse(&"x".repeat(900)).unwrap_err();
        assert!(unknown.len() < 400, "{unknown}");
    }

    #[test]
    fn widening_only_goes_towards_wider_types() {
        assert!(Int.widens_to(&BigInt));
        assert!(!BigInt.widens_to(&Int));
        assert!(Decimal(10, 2).widens_to(&Decimal(12, 2)));
        assert!(!Decimal(10, 2).widens_to(&Decimal(10, 3)));
        assert!(Int.widens_to(&Decimal(12, 2)));
        assert!(!String.widens_to(&Int));
        assert!(Array(Box::new(Int)).widens_to(&Array(Box::new(BigInt))));
    }
}
