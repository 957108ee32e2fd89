//! Renders a row-filter tree as the language's text (which parses back to the same tree).

use weft_proto::weft::common::v1::{ComparisonOperator, Expr, Literal, expr, literal};

/// The text of `expr`. A malformed tree (a missing operand, an empty AND) renders as text the
/// parser refuses, so that checking the rendered text reports it.
pub fn render(expr: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, expr);
    out
}

/// Whether `expr` needs parentheses as an operand of AND / OR / NOT.
fn compound(expr: &Expr) -> bool {
    matches!(
        expr.kind,
        Some(expr::Kind::And(_) | expr::Kind::Or(_) | expr::Kind::Not(_))
    )
}

fn write_operand(out: &mut String, expr: Option<&Expr>) {
    match expr {
        Some(expr) if compound(expr) => {
            out.push('(');
            write_expr(out, expr);
            out.push(')');
        }
        Some(expr) => write_expr(out, expr),
        None => out.push_str("()"),
    }
}

fn write_expr(out: &mut String, expr: &Expr) {
    match &expr.kind {
        None => out.push_str("()"),
        Some(expr::Kind::Column(path)) => write_column(out, path),
        Some(expr::Kind::Literal(literal)) => write_literal(out, literal),
        Some(expr::Kind::Comparison(comparison)) => {
            write_operand(out, comparison.left.as_deref());
            let op = match comparison.op() {
                ComparisonOperator::Eq => "=",
                ComparisonOperator::Ne => "<>",
                ComparisonOperator::Lt => "<",
                ComparisonOperator::Le => "<=",
                ComparisonOperator::Gt => ">",
                ComparisonOperator::Ge => ">=",
                ComparisonOperator::Unspecified => "?",
            };
            out.push_str(&format!(" {op} "));
            write_operand(out, comparison.right.as_deref());
        }
        Some(expr::Kind::InList(list)) => {
            write_operand(out, list.expr.as_deref());
            out.push_str(if list.negated { " NOT IN (" } else { " IN (" });
            for (index, value) in list.values.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_literal(out, value);
            }
            out.push(')');
        }
        Some(expr::Kind::Between(between)) => {
            write_operand(out, between.expr.as_deref());
            out.push_str(if between.negated {
                " NOT BETWEEN "
            } else {
                " BETWEEN "
            });
            write_optional_literal(out, between.low.as_ref());
            out.push_str(" AND ");
            write_optional_literal(out, between.high.as_ref());
        }
        Some(expr::Kind::Like(like)) => {
            write_operand(out, like.expr.as_deref());
            out.push_str(if like.negated { " NOT LIKE " } else { " LIKE " });
            write_string(out, &like.pattern);
        }
        Some(expr::Kind::IsNull(is_null)) => {
            write_operand(out, is_null.expr.as_deref());
            out.push_str(if is_null.negated {
                " IS NOT NULL"
            } else {
                " IS NULL"
            });
        }
        Some(expr::Kind::And(list)) => write_list(out, &list.exprs, " AND "),
        Some(expr::Kind::Or(list)) => write_list(out, &list.exprs, " OR "),
        Some(expr::Kind::Not(inner)) => {
            out.push_str("NOT ");
            write_operand(out, Some(inner));
        }
    }
}

fn write_list(out: &mut String, operands: &[Expr], separator: &str) {
    if operands.is_empty() {
        out.push_str("()");
    }
    for (index, operand) in operands.iter().enumerate() {
        if index > 0 {
            out.push_str(separator);
        }
        write_operand(out, Some(operand));
    }
}

fn write_column(out: &mut String, path: &str) {
    let plain = path.split('.').all(|part| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    }) && !is_keyword(path);
    if plain {
        out.push_str(path);
    } else {
        out.push('"');
        out.push_str(&path.replace('"', "\"\""));
        out.push('"');
    }
}

fn is_keyword(word: &str) -> bool {
    matches!(
        word.to_ascii_uppercase().as_str(),
        "AND"
            | "OR"
            | "NOT"
            | "IN"
            | "BETWEEN"
            | "LIKE"
            | "IS"
            | "NULL"
            | "TRUE"
            | "FALSE"
            | "DATE"
            | "TIMESTAMP"
    )
}

fn write_string(out: &mut String, value: &str) {
    out.push('\'');
    out.push_str(&value.replace('\'', "''"));
    out.push('\'');
}

fn write_optional_literal(out: &mut String, literal: Option<&Literal>) {
    match literal {
        Some(literal) => write_literal(out, literal),
        None => out.push_str("()"),
    }
}

fn write_literal(out: &mut String, literal: &Literal) {
    match &literal.value {
        None => out.push_str("()"),
        Some(literal::Value::StringValue(value)) => write_string(out, value),
        Some(literal::Value::IntValue(value)) => out.push_str(&value.to_string()),
        Some(literal::Value::DoubleValue(value)) if value.is_finite() => {
            // `{:?}` always keeps a '.' or an exponent, so the text reads back as a double.
            out.push_str(&format!("{value:?}"));
        }
        Some(literal::Value::DoubleValue(_)) => out.push_str("()"),
        Some(literal::Value::BoolValue(value)) => {
            out.push_str(if *value { "TRUE" } else { "FALSE" })
        }
        Some(literal::Value::DateValue(value)) => {
            out.push_str("DATE ");
            write_string(out, value);
        }
        Some(literal::Value::TimestampValue(value)) => {
            let text = chrono::DateTime::from_timestamp(value.seconds, value.nanos.max(0) as u32)
                .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                .unwrap_or_default();
            out.push_str("TIMESTAMP ");
            write_string(out, &text);
        }
    }
}
