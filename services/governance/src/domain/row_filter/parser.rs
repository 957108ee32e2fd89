//! Recursive-descent parser of the row-filter language, type-checking as it goes against the
//! asset's columns, so that every error carries the position of its cause.
//!
//! ```text
//! or        := and ("OR" and)*
//! and       := unary ("AND" unary)*
//! unary     := "NOT" unary | predicate
//! predicate := "(" or ")" | operand [comparison | in | between | like | is-null]
//! operand   := column | literal
//! ```

use prost_types::Timestamp;
use weft_proto::weft::common::v1::{
    Between, Comparison, ComparisonOperator, Expr, ExprList, InList, IsNull, Like, Literal, expr,
    literal,
};

use super::lexer::{Spanned, Token, tokenize};
use super::{ColumnKind, FilterError};

/// Deepest nesting of parentheses and NOTs. The parser recurses once per level, so this bounds
/// the stack it needs whatever the input (3,000 parentheses overflowed it).
pub const MAX_NESTING: usize = 64;

/// Parses and type-checks `text`; `columns` resolves a column path to its kind.
pub fn parse(
    text: &str,
    columns: &dyn Fn(&str) -> Option<ColumnKind>,
) -> Result<Expr, FilterError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        end: text.chars().count() + 1,
        columns,
        depth: 0,
    };
    let expr = parser.or()?;
    if let Some(extra) = parser.peek() {
        return Err(FilterError::at(
            extra.position,
            format!("unexpected {}", describe(&extra.token)),
        ));
    }
    Ok(expr)
}

struct Parser<'a> {
    tokens: Vec<Spanned>,
    at: usize,
    /// Position just past the text, for "expected … at the end" errors.
    end: usize,
    columns: &'a dyn Fn(&str) -> Option<ColumnKind>,
    /// Levels of parentheses and NOTs open at the current token.
    depth: usize,
}

/// An operand with what is known of its type.
struct Operand {
    expr: Expr,
    position: usize,
    kind: OperandKind,
}

#[derive(Clone)]
enum OperandKind {
    Column { path: String, kind: ColumnKind },
    Literal(Literal),
}

fn describe(token: &Token) -> String {
    match token {
        Token::Identifier(name) => format!("column '{name}'"),
        Token::Keyword(keyword) => format!("keyword {keyword}"),
        Token::String(value) => format!("string '{value}'"),
        Token::Integer(value) => format!("number {value}"),
        Token::Double(value) => format!("number {value}"),
        Token::Operator(op) => format!("operator {op}"),
        Token::LeftParen => "'('".to_string(),
        Token::RightParen => "')'".to_string(),
        Token::Comma => "','".to_string(),
    }
}

fn node(kind: expr::Kind) -> Expr {
    Expr { kind: Some(kind) }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Spanned> {
        self.tokens.get(self.at)
    }

    fn position(&self) -> usize {
        self.peek().map_or(self.end, |t| t.position)
    }

    fn next(&mut self, expected: &str) -> Result<Spanned, FilterError> {
        match self.tokens.get(self.at) {
            Some(token) => {
                self.at += 1;
                Ok(token.clone())
            }
            None => Err(FilterError::at(
                self.end,
                format!("expected {expected} at the end"),
            )),
        }
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        if matches!(self.peek(), Some(Spanned { token: Token::Keyword(k), .. }) if *k == keyword) {
            self.at += 1;
            return true;
        }
        false
    }

    fn expect(&mut self, wanted: Token, expected: &str) -> Result<(), FilterError> {
        let token = self.next(expected)?;
        if token.token != wanted {
            return Err(FilterError::at(
                token.position,
                format!("expected {expected}, found {}", describe(&token.token)),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut operands = vec![self.and()?];
        while self.eat_keyword("OR") {
            operands.push(self.and()?);
        }
        Ok(if operands.len() == 1 {
            operands.remove(0)
        } else {
            node(expr::Kind::Or(ExprList { exprs: operands }))
        })
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut operands = vec![self.unary()?];
        while self.eat_keyword("AND") {
            operands.push(self.unary()?);
        }
        Ok(if operands.len() == 1 {
            operands.remove(0)
        } else {
            node(expr::Kind::And(ExprList { exprs: operands }))
        })
    }

    /// Runs `parse` one nesting level deeper, refusing past `MAX_NESTING`.
    fn nested(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<Expr, FilterError>,
    ) -> Result<Expr, FilterError> {
        if self.depth == MAX_NESTING {
            return Err(FilterError::at(
                self.position(),
                format!("parentheses and NOT nest at most {MAX_NESTING} levels"),
            ));
        }
        self.depth += 1;
        let parsed = parse(self);
        self.depth -= 1;
        parsed
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.eat_keyword("NOT") {
            let inner = self.nested(Self::unary)?;
            return Ok(node(expr::Kind::Not(Box::new(inner))));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, FilterError> {
        if matches!(self.peek().map(|t| &t.token), Some(Token::LeftParen)) {
            self.at += 1;
            let inner = self.nested(Self::or)?;
            self.expect(Token::RightParen, "')'")?;
            return Ok(inner);
        }
        let left = self.operand()?;
        let negated = self.eat_keyword("NOT");
        let Some(token) = self.peek().cloned() else {
            return self.bare(left, negated);
        };
        match token.token {
            Token::Operator(op) if !negated => {
                self.at += 1;
                let right = self.operand()?;
                self.comparison(left, op, right, token.position)
            }
            Token::Keyword("IN") => {
                self.at += 1;
                self.in_list(left, negated)
            }
            Token::Keyword("BETWEEN") => {
                self.at += 1;
                self.between(left, negated)
            }
            Token::Keyword("LIKE") => {
                self.at += 1;
                self.like(left, negated)
            }
            Token::Keyword("IS") if !negated => {
                self.at += 1;
                let negated = self.eat_keyword("NOT");
                let null = self.next("NULL")?;
                if null.token != Token::Keyword("NULL") {
                    return Err(FilterError::at(
                        null.position,
                        format!("expected NULL, found {}", describe(&null.token)),
                    ));
                }
                self.column_of(&left, "IS NULL")?;
                Ok(node(expr::Kind::IsNull(Box::new(IsNull {
                    expr: Some(Box::new(left.expr)),
                    negated,
                }))))
            }
            _ if negated => Err(FilterError::at(
                token.position,
                format!(
                    "expected IN, BETWEEN or LIKE after NOT, found {}",
                    describe(&token.token)
                ),
            )),
            _ => self.bare(left, negated),
        }
    }

    /// An operand standing alone as a condition: only a boolean column may.
    fn bare(&mut self, operand: Operand, negated: bool) -> Result<Expr, FilterError> {
        if negated {
            return Err(FilterError::at(
                self.position(),
                "expected IN, BETWEEN or LIKE after NOT",
            ));
        }
        match &operand.kind {
            OperandKind::Column {
                kind: ColumnKind::Boolean,
                ..
            } => Ok(operand.expr),
            OperandKind::Column { path, .. } => Err(FilterError::at(
                operand.position,
                format!("column '{path}' is not boolean: compare it with a value"),
            )),
            OperandKind::Literal(_) => Err(FilterError::at(
                operand.position,
                "a condition must test a column",
            )),
        }
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        let token = self.next("a column or a value")?;
        let position = token.position;
        let literal = |value: literal::Value| Literal { value: Some(value) };
        let literal = match token.token {
            Token::Identifier(path) => {
                if matches!(self.peek().map(|t| &t.token), Some(Token::LeftParen)) {
                    return Err(FilterError::at(
                        position,
                        format!("functions are not allowed ('{path}(…)')"),
                    ));
                }
                let Some(kind) = (self.columns)(&path) else {
                    return Err(FilterError::at(
                        position,
                        format!("unknown column '{path}'"),
                    ));
                };
                if let ColumnKind::Unfilterable(type_name) = &kind {
                    return Err(FilterError::at(
                        position,
                        format!("column '{path}' of type {type_name} cannot be filtered on"),
                    ));
                }
                return Ok(Operand {
                    expr: node(expr::Kind::Column(path.clone())),
                    position,
                    kind: OperandKind::Column { path, kind },
                });
            }
            Token::String(value) => literal(literal::Value::StringValue(value)),
            Token::Integer(value) => literal(literal::Value::IntValue(value)),
            Token::Double(value) => literal(literal::Value::DoubleValue(value)),
            Token::Keyword("TRUE") => literal(literal::Value::BoolValue(true)),
            Token::Keyword("FALSE") => literal(literal::Value::BoolValue(false)),
            Token::Keyword(keyword @ ("DATE" | "TIMESTAMP")) => {
                let text = self.next("a quoted value")?;
                let Token::String(text_value) = text.token else {
                    return Err(FilterError::at(
                        text.position,
                        format!("expected a quoted value after {keyword}"),
                    ));
                };
                let value = if keyword == "DATE" {
                    date_value(&text_value)
                } else {
                    timestamp_value(&text_value)
                };
                literal(value.ok_or_else(|| {
                    FilterError::at(
                        text.position,
                        format!("'{text_value}' is not a valid {}", keyword.to_lowercase()),
                    )
                })?)
            }
            Token::Keyword("NULL") => {
                return Err(FilterError::at(
                    position,
                    "NULL is tested with IS NULL / IS NOT NULL",
                ));
            }
            other => {
                return Err(FilterError::at(
                    position,
                    format!("expected a column or a value, found {}", describe(&other)),
                ));
            }
        };
        Ok(Operand {
            expr: node(expr::Kind::Literal(literal.clone())),
            position,
            kind: OperandKind::Literal(literal),
        })
    }

    /// The column an operator applies to, or an error naming the operator.
    fn column_of(&self, operand: &Operand, operator: &str) -> Result<ColumnKind, FilterError> {
        match &operand.kind {
            OperandKind::Column { kind, .. } => Ok(kind.clone()),
            OperandKind::Literal(_) => Err(FilterError::at(
                operand.position,
                format!("{operator} must test a column"),
            )),
        }
    }

    fn comparison(
        &mut self,
        left: Operand,
        op: &str,
        right: Operand,
        op_position: usize,
    ) -> Result<Expr, FilterError> {
        let (left_expr, right_expr) = match (&left.kind, &right.kind) {
            (
                OperandKind::Column { kind: a, path: pa },
                OperandKind::Column { kind: b, path: pb },
            ) => {
                if !a.comparable_with(b) {
                    return Err(FilterError::at(
                        op_position,
                        format!(
                            "cannot compare column '{pa}' ({}) with column '{pb}' ({})",
                            a.describe(),
                            b.describe()
                        ),
                    ));
                }
                (left.expr, right.expr)
            }
            (OperandKind::Column { .. }, OperandKind::Literal(_)) => {
                let right_expr = self.literal_for(&left, &right)?;
                (left.expr, right_expr)
            }
            (OperandKind::Literal(_), OperandKind::Column { .. }) => {
                let left_expr = self.literal_for(&right, &left)?;
                (left_expr, right.expr)
            }
            (OperandKind::Literal(_), OperandKind::Literal(_)) => {
                return Err(FilterError::at(
                    left.position,
                    "a comparison must involve a column",
                ));
            }
        };
        let op = match op {
            "=" => ComparisonOperator::Eq,
            "<>" => ComparisonOperator::Ne,
            "<" => ComparisonOperator::Lt,
            "<=" => ComparisonOperator::Le,
            ">" => ComparisonOperator::Gt,
            _ => ComparisonOperator::Ge,
        };
        Ok(node(expr::Kind::Comparison(Box::new(Comparison {
            op: op as i32,
            left: Some(Box::new(left_expr)),
            right: Some(Box::new(right_expr)),
        }))))
    }

    /// Checks that literal `value` fits `column`'s type and returns it as an expression
    /// (a date or timestamp column also takes its value as a quoted string).
    fn literal_for(&self, column: &Operand, value: &Operand) -> Result<Expr, FilterError> {
        let literal = self.coerce(column, value)?;
        Ok(node(expr::Kind::Literal(literal)))
    }

    fn coerce(&self, column: &Operand, value: &Operand) -> Result<Literal, FilterError> {
        let (OperandKind::Column { kind, path }, OperandKind::Literal(literal)) =
            (&column.kind, &value.kind)
        else {
            return Err(FilterError::at(value.position, "expected a value"));
        };
        let coerced = match (kind, &literal.value) {
            (ColumnKind::String, Some(literal::Value::StringValue(_)))
            | (
                ColumnKind::Number,
                Some(literal::Value::IntValue(_) | literal::Value::DoubleValue(_)),
            )
            | (ColumnKind::Boolean, Some(literal::Value::BoolValue(_)))
            | (ColumnKind::Date, Some(literal::Value::DateValue(_)))
            | (
                ColumnKind::Timestamp,
                Some(literal::Value::TimestampValue(_) | literal::Value::DateValue(_)),
            ) => Some(literal.value.clone()),
            (ColumnKind::Date, Some(literal::Value::StringValue(text))) => {
                date_value(text).map(Some)
            }
            (ColumnKind::Timestamp, Some(literal::Value::StringValue(text))) => {
                timestamp_value(text).map(Some)
            }
            _ => None,
        };
        match coerced {
            Some(value) => Ok(Literal { value }),
            None => Err(FilterError::at(
                value.position,
                format!(
                    "column '{path}' is {}; {} does not fit it",
                    kind.describe(),
                    describe_literal(literal)
                ),
            )),
        }
    }

    fn values(&mut self, column: &Operand, count: usize) -> Result<Vec<Literal>, FilterError> {
        let mut values = Vec::with_capacity(count);
        for index in 0..count {
            if index > 0 {
                self.expect(Token::Keyword("AND"), "AND")?;
            }
            let value = self.operand()?;
            values.push(self.coerce(column, &value)?);
        }
        Ok(values)
    }

    fn in_list(&mut self, left: Operand, negated: bool) -> Result<Expr, FilterError> {
        self.column_of(&left, "IN")?;
        self.expect(Token::LeftParen, "'(' after IN")?;
        let mut values = Vec::new();
        loop {
            let value = self.operand()?;
            values.push(self.coerce(&left, &value)?);
            let separator = self.next("',' or ')'")?;
            match separator.token {
                Token::Comma => continue,
                Token::RightParen => break,
                other => {
                    return Err(FilterError::at(
                        separator.position,
                        format!("expected ',' or ')', found {}", describe(&other)),
                    ));
                }
            }
        }
        Ok(node(expr::Kind::InList(Box::new(InList {
            expr: Some(Box::new(left.expr)),
            values,
            negated,
        }))))
    }

    fn between(&mut self, left: Operand, negated: bool) -> Result<Expr, FilterError> {
        self.column_of(&left, "BETWEEN")?;
        let mut bounds = self.values(&left, 2)?.into_iter();
        Ok(node(expr::Kind::Between(Box::new(Between {
            expr: Some(Box::new(left.expr)),
            low: bounds.next(),
            high: bounds.next(),
            negated,
        }))))
    }

    fn like(&mut self, left: Operand, negated: bool) -> Result<Expr, FilterError> {
        let kind = self.column_of(&left, "LIKE")?;
        if kind != ColumnKind::String {
            return Err(FilterError::at(
                left.position,
                format!("LIKE needs a string column, not {}", kind.describe()),
            ));
        }
        let pattern = self.next("a quoted pattern")?;
        let Token::String(pattern_text) = pattern.token else {
            return Err(FilterError::at(
                pattern.position,
                "LIKE takes a quoted pattern",
            ));
        };
        Ok(node(expr::Kind::Like(Box::new(Like {
            expr: Some(Box::new(left.expr)),
            pattern: pattern_text,
            negated,
        }))))
    }
}

fn describe_literal(literal: &Literal) -> String {
    match &literal.value {
        Some(literal::Value::StringValue(value)) => format!("the string '{value}'"),
        Some(literal::Value::IntValue(value)) => format!("the number {value}"),
        Some(literal::Value::DoubleValue(value)) => format!("the number {value}"),
        Some(literal::Value::BoolValue(value)) => format!("the boolean {value}"),
        Some(literal::Value::DateValue(value)) => format!("the date {value}"),
        Some(literal::Value::TimestampValue(_)) => "a timestamp".to_string(),
        None => "an empty value".to_string(),
    }
}

fn date_value(text: &str) -> Option<literal::Value> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(|date| literal::Value::DateValue(date.format("%Y-%m-%d").to_string()))
}

fn timestamp_value(text: &str) -> Option<literal::Value> {
    let time = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    Some(literal::Value::TimestampValue(Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }))
}
