//! A governance row-filter tree (never the user's text) as a PostgreSQL predicate for a
//! row-level security policy. Column names and text values are quoted by the database itself
//! (`quote_ident`, `quote_literal`, asked in one round trip), numbers are written from their
//! typed values, so a value holding quotes, backslashes or `--` reads as data.

use std::collections::HashMap;

use sqlx::postgres::PgConnection;
use weft_proto::weft::common::v1::{ComparisonOperator, Expr, Literal, expr, literal};

/// Deepest tree compiled (governance bounds its parser too; this holds without it).
const MAX_DEPTH: usize = 64;

/// The texts a predicate quotes, collected first so the database quotes them all at once.
#[derive(Default)]
pub struct Quotes {
    identifiers: Vec<String>,
    literals: Vec<String>,
    quoted_identifiers: HashMap<String, String>,
    quoted_literals: HashMap<String, String>,
}

impl Quotes {
    /// Asks the database to quote everything collected.
    pub async fn resolve(&mut self, connection: &mut PgConnection) -> Result<(), String> {
        let (identifiers, literals): (Vec<String>, Vec<String>) = sqlx::query_as(
            "SELECT \
               ARRAY(SELECT quote_ident(v) FROM unnest($1::text[]) WITH ORDINALITY AS u(v, n) ORDER BY n), \
               ARRAY(SELECT quote_literal(v) FROM unnest($2::text[]) WITH ORDINALITY AS u(v, n) ORDER BY n)",
        )
        .bind(&self.identifiers)
        .bind(&self.literals)
        .fetch_one(connection)
        .await
        .map_err(|error| format!("quoting failed: {error}"))?;
        self.quoted_identifiers = self.identifiers.iter().cloned().zip(identifiers).collect();
        self.quoted_literals = self.literals.iter().cloned().zip(literals).collect();
        Ok(())
    }

    pub fn identifier(&mut self, raw: &str) -> String {
        self.identifiers.push(raw.to_string());
        raw.to_string()
    }

    fn literal(&mut self, raw: &str) {
        self.literals.push(raw.to_string());
    }

    pub fn quoted_identifier(&self, raw: &str) -> Result<&str, String> {
        self.quoted_identifiers
            .get(raw)
            .map(String::as_str)
            .ok_or_else(|| format!("{raw} was not quoted"))
    }

    fn quoted_literal(&self, raw: &str) -> Result<&str, String> {
        self.quoted_literals
            .get(raw)
            .map(String::as_str)
            .ok_or_else(|| "a value was not quoted".to_string())
    }
}

/// Notes the identifiers and text values of `expr` in `quotes` (first pass).
pub fn collect(expr: &Expr, quotes: &mut Quotes, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("the row filter is nested deeper than {MAX_DEPTH}"));
    }
    let sub = |e: &Option<Box<Expr>>, quotes: &mut Quotes| match e {
        Some(e) => collect(e, quotes, depth + 1),
        None => Err("the row filter has a missing operand".to_string()),
    };
    match &expr.kind {
        None => Err("the row filter has an empty node".to_string()),
        Some(expr::Kind::Column(path)) => {
            if path.contains('.') {
                return Err(format!(
                    "column {path}: nested fields can not be filtered on PostgreSQL"
                ));
            }
            quotes.identifier(path);
            Ok(())
        }
        Some(expr::Kind::Literal(value)) => collect_literal(value, quotes),
        Some(expr::Kind::Comparison(c)) => {
            sub(&c.left, quotes)?;
            sub(&c.right, quotes)
        }
        Some(expr::Kind::InList(list)) => {
            sub(&list.expr, quotes)?;
            list.values
                .iter()
                .try_for_each(|v| collect_literal(v, quotes))
        }
        Some(expr::Kind::Between(b)) => {
            sub(&b.expr, quotes)?;
            for bound in [&b.low, &b.high] {
                match bound {
                    Some(bound) => collect_literal(bound, quotes)?,
                    None => return Err("BETWEEN needs both bounds".to_string()),
                }
            }
            Ok(())
        }
        Some(expr::Kind::Like(like)) => {
            sub(&like.expr, quotes)?;
            quotes.literal(&like.pattern);
            Ok(())
        }
        Some(expr::Kind::IsNull(is_null)) => sub(&is_null.expr, quotes),
        Some(expr::Kind::And(list) | expr::Kind::Or(list)) => {
            if list.exprs.is_empty() {
                return Err("AND / OR need an operand".to_string());
            }
            list.exprs
                .iter()
                .try_for_each(|e| collect(e, quotes, depth + 1))
        }
        Some(expr::Kind::Not(inner)) => collect(inner, quotes, depth + 1),
    }
}

fn collect_literal(value: &Literal, quotes: &mut Quotes) -> Result<(), String> {
    match &value.value {
        Some(literal::Value::StringValue(text) | literal::Value::DateValue(text)) => {
            quotes.literal(text)
        }
        Some(literal::Value::TimestampValue(time)) => quotes.literal(&timestamp_text(time)?),
        Some(_) => {}
        None => return Err("the row filter has an empty value".to_string()),
    }
    Ok(())
}

/// The predicate of `expr` (second pass, once `quotes` is resolved).
pub fn render(expr: &Expr, quotes: &Quotes) -> Result<String, String> {
    let operand = |e: &Option<Box<Expr>>| match e {
        Some(e) => render(e, quotes),
        None => Err("the row filter has a missing operand".to_string()),
    };
    Ok(match &expr.kind {
        None => return Err("the row filter has an empty node".to_string()),
        Some(expr::Kind::Column(path)) => quotes.quoted_identifier(path)?.to_string(),
        Some(expr::Kind::Literal(value)) => render_literal(value, quotes)?,
        Some(expr::Kind::Comparison(c)) => {
            let op = match c.op() {
                ComparisonOperator::Eq => "=",
                ComparisonOperator::Ne => "<>",
                ComparisonOperator::Lt => "<",
                ComparisonOperator::Le => "<=",
                ComparisonOperator::Gt => ">",
                ComparisonOperator::Ge => ">=",
                ComparisonOperator::Unspecified => {
                    return Err("a comparison has no operator".to_string());
                }
            };
            format!("({} {op} {})", operand(&c.left)?, operand(&c.right)?)
        }
        Some(expr::Kind::InList(list)) => {
            let values: Vec<String> = list
                .values
                .iter()
                .map(|v| render_literal(v, quotes))
                .collect::<Result<_, _>>()?;
            if values.is_empty() {
                // IN () matches nothing, NOT IN () everything.
                return Ok(if list.negated { "TRUE" } else { "FALSE" }.to_string());
            }
            let not = if list.negated { "NOT " } else { "" };
            format!("({} {not}IN ({}))", operand(&list.expr)?, values.join(", "))
        }
        Some(expr::Kind::Between(b)) => {
            let (Some(low), Some(high)) = (&b.low, &b.high) else {
                return Err("BETWEEN needs both bounds".to_string());
            };
            let not = if b.negated { "NOT " } else { "" };
            format!(
                "({} {not}BETWEEN {} AND {})",
                operand(&b.expr)?,
                render_literal(low, quotes)?,
                render_literal(high, quotes)?
            )
        }
        Some(expr::Kind::Like(like)) => {
            let not = if like.negated { "NOT " } else { "" };
            format!(
                "({} {not}LIKE {})",
                operand(&like.expr)?,
                quotes.quoted_literal(&like.pattern)?
            )
        }
        Some(expr::Kind::IsNull(is_null)) => {
            let not = if is_null.negated { "NOT " } else { "" };
            format!("({} IS {not}NULL)", operand(&is_null.expr)?)
        }
        Some(expr::Kind::And(list)) => join(&list.exprs, " AND ", quotes)?,
        Some(expr::Kind::Or(list)) => join(&list.exprs, " OR ", quotes)?,
        Some(expr::Kind::Not(inner)) => format!("(NOT {})", render(inner, quotes)?),
    })
}

fn join(exprs: &[Expr], separator: &str, quotes: &Quotes) -> Result<String, String> {
    let parts: Vec<String> = exprs
        .iter()
        .map(|e| render(e, quotes))
        .collect::<Result<_, _>>()?;
    if parts.is_empty() {
        return Err("AND / OR need an operand".to_string());
    }
    Ok(format!("({})", parts.join(separator)))
}

fn render_literal(value: &Literal, quotes: &Quotes) -> Result<String, String> {
    Ok(match &value.value {
        Some(literal::Value::StringValue(text)) => quotes.quoted_literal(text)?.to_string(),
        Some(literal::Value::DateValue(text)) => format!("{}::date", quotes.quoted_literal(text)?),
        Some(literal::Value::TimestampValue(time)) => format!(
            "{}::timestamptz",
            quotes.quoted_literal(&timestamp_text(time)?)?
        ),
        Some(literal::Value::IntValue(number)) => number.to_string(),
        Some(literal::Value::DoubleValue(number)) if number.is_finite() => {
            format!("{number:?}::double precision")
        }
        Some(literal::Value::DoubleValue(_)) => {
            return Err("a row filter number must be finite".to_string());
        }
        Some(literal::Value::BoolValue(value)) => if *value { "TRUE" } else { "FALSE" }.to_string(),
        None => return Err("the row filter has an empty value".to_string()),
    })
}

fn timestamp_text(time: &prost_types::Timestamp) -> Result<String, String> {
    chrono::DateTime::from_timestamp(time.seconds, time.nanos.max(0) as u32)
        .map(|time| time.to_rfc3339())
        .ok_or_else(|| "a row filter timestamp is out of range".to_string())
}
