//! Tokens of the row-filter language, each with the 1-based character position it starts at
//! (what an error message points to).

use super::FilterError;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A column name, possibly dotted (`address.city`), bare or "double quoted".
    Identifier(String),
    /// A keyword, upper-cased: AND OR NOT IN BETWEEN LIKE IS NULL TRUE FALSE DATE TIMESTAMP.
    Keyword(&'static str),
    /// 'single quoted', with '' for a quote inside.
    String(String),
    Integer(i64),
    Double(f64),
    /// = <> != < <= > >=
    Operator(&'static str),
    LeftParen,
    RightParen,
    Comma,
}

#[derive(Debug, Clone)]
pub struct Spanned {
    pub token: Token,
    /// 1-based character position.
    pub position: usize,
}

const KEYWORDS: &[&str] = &[
    "AND",
    "OR",
    "NOT",
    "IN",
    "BETWEEN",
    "LIKE",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "DATE",
    "TIMESTAMP",
];

/// Splits `text` into tokens.
pub fn tokenize(text: &str) -> Result<Vec<Spanned>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        let position = index + 1;
        if c.is_whitespace() {
            index += 1;
            continue;
        }
        let (token, next) = match c {
            '(' => (Token::LeftParen, index + 1),
            ')' => (Token::RightParen, index + 1),
            ',' => (Token::Comma, index + 1),
            '=' => (Token::Operator("="), index + 1),
            '<' | '>' | '!' => operator(&chars, index)?,
            '\'' => {
                let (value, next) = quoted(&chars, index, '\'', "string")?;
                (Token::String(value), next)
            }
            '"' => {
                let (value, next) = quoted(&chars, index, '"', "quoted column name")?;
                if value.is_empty() {
                    return Err(FilterError::at(position, "empty quoted column name"));
                }
                (Token::Identifier(value), next)
            }
            c if c.is_ascii_digit() || (c == '-' && next_is_digit(&chars, index)) => {
                number(&chars, index)?
            }
            c if c.is_alphabetic() || c == '_' => word(&chars, index),
            other => {
                return Err(FilterError::at(
                    position,
                    format!("unexpected character '{other}'"),
                ));
            }
        };
        tokens.push(Spanned { token, position });
        index = next;
    }
    Ok(tokens)
}

fn next_is_digit(chars: &[char], index: usize) -> bool {
    chars.get(index + 1).is_some_and(char::is_ascii_digit)
}

fn operator(chars: &[char], index: usize) -> Result<(Token, usize), FilterError> {
    let next = chars.get(index + 1).copied();
    let (op, width) = match (chars[index], next) {
        ('<', Some('=')) => ("<=", 2),
        ('<', Some('>')) => ("<>", 2),
        ('<', _) => ("<", 1),
        ('>', Some('=')) => (">=", 2),
        ('>', _) => (">", 1),
        ('!', Some('=')) => ("<>", 2),
        _ => return Err(FilterError::at(index + 1, "unexpected character '!'")),
    };
    Ok((Token::Operator(op), index + width))
}

/// A quoted run starting at `index` (the opening quote); a doubled quote stands for one.
fn quoted(
    chars: &[char],
    index: usize,
    quote: char,
    what: &str,
) -> Result<(String, usize), FilterError> {
    let mut value = String::new();
    let mut at = index + 1;
    loop {
        match chars.get(at) {
            None => return Err(FilterError::at(index + 1, format!("unterminated {what}"))),
            Some(&c) if c == quote => {
                if chars.get(at + 1) == Some(&quote) {
                    value.push(quote);
                    at += 2;
                } else {
                    return Ok((value, at + 1));
                }
            }
            Some(&c) => {
                value.push(c);
                at += 1;
            }
        }
    }
}

fn number(chars: &[char], index: usize) -> Result<(Token, usize), FilterError> {
    let mut end = index + 1;
    while end < chars.len()
        && (chars[end].is_ascii_alphanumeric()
            || chars[end] == '.'
            || (matches!(chars[end], '+' | '-') && matches!(chars[end - 1], 'e' | 'E')))
    {
        end += 1;
    }
    let text: String = chars[index..end].iter().collect();
    let invalid = || FilterError::at(index + 1, format!("invalid number '{text}'"));
    let token = if text.contains(['.', 'e', 'E']) {
        let value: f64 = text.parse().map_err(|_| invalid())?;
        if !value.is_finite() {
            return Err(invalid());
        }
        Token::Double(value)
    } else {
        Token::Integer(text.parse().map_err(|_| invalid())?)
    };
    Ok((token, end))
}

fn word(chars: &[char], index: usize) -> (Token, usize) {
    let mut end = index;
    while end < chars.len() && (chars[end].is_alphanumeric() || matches!(chars[end], '_' | '.')) {
        end += 1;
    }
    let text: String = chars[index..end].iter().collect();
    let upper = text.to_ascii_uppercase();
    let token = match KEYWORDS.iter().find(|keyword| **keyword == upper) {
        Some(keyword) => Token::Keyword(keyword),
        None => Token::Identifier(text),
    };
    (token, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Token> {
        tokenize(text)
            .expect("tokens")
            .into_iter()
            .map(|t| t.token)
            .collect()
    }

    #[test]
    fn reads_every_token_kind() {
        assert_eq!(
            kinds("a.b >= -1.5e2 AND \"x y\" <> 'it''s' OR n != 3"),
            vec![
                Token::Identifier("a.b".into()),
                Token::Operator(">="),
                Token::Double(-150.0),
                Token::Keyword("AND"),
                Token::Identifier("x y".into()),
                Token::Operator("<>"),
                Token::String("it's".into()),
                Token::Keyword("OR"),
                Token::Identifier("n".into()),
                Token::Operator("<>"),
                Token::Integer(3),
            ]
        );
    }

    #[test]
    fn points_at_the_fault() {
        assert_eq!(tokenize("a = 'x").unwrap_err().position, 5);
        assert_eq!(tokenize("a ; b").unwrap_err().position, 3);
        assert_eq!(tokenize("a = 12x").unwrap_err().position, 5);
        assert_eq!(
            tokenize("a = 99999999999999999999").unwrap_err().position,
            5
        );
    }
}
