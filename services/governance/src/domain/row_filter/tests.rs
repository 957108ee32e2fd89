use weft_proto::weft::catalog::v1::Column;
use weft_proto::weft::common::v1::{
    Comparison, ComparisonOperator, Expr, ExprList, Literal, expr, literal,
};

use super::*;
use crate::access::nodes::ColumnIndex;

fn column(name: &str, data_type: &str) -> Column {
    Column {
        name: name.to_string(),
        r#type: data_type.to_string(),
        ..Default::default()
    }
}

fn schema() -> ColumnIndex {
    ColumnIndex::of(&[
        column("region", "string"),
        column("amount", "decimal(12,2)"),
        column("quantity", "int"),
        column("active", "boolean"),
        column("order_date", "date"),
        column("created_at", "timestamptz"),
        column("payload", "json"),
        Column {
            fields: vec![column("city", "varchar(64)")],
            ..column("address", "struct")
        },
    ])
}

fn ok(text: &str) -> String {
    match check_text(text, &schema()) {
        Ok((_, normalized)) => normalized,
        Err(error) => panic!("{text}: {error}"),
    }
}

fn fault(text: &str) -> FilterError {
    check_text(text, &schema()).expect_err(text)
}

#[test]
fn parses_the_whole_language_and_normalizes_it() {
    assert_eq!(
        ok("region = 'EU' and amount > 100"),
        "region = 'EU' AND amount > 100"
    );
    assert_eq!(
        ok("NOT (region IN ('EU','US') OR quantity NOT BETWEEN 1 AND 10)"),
        "NOT (region IN ('EU', 'US') OR quantity NOT BETWEEN 1 AND 10)"
    );
    assert_eq!(
        ok("address.city LIKE 'Par%' AND created_at IS NOT NULL AND active"),
        "address.city LIKE 'Par%' AND created_at IS NOT NULL AND active"
    );
    // A date column takes a date literal or a quoted date; a timestamp column a date too.
    assert_eq!(
        ok("order_date >= '2024-01-31' AND created_at < DATE '2025-01-01'"),
        "order_date >= DATE '2024-01-31' AND created_at < DATE '2025-01-01'"
    );
    assert_eq!(
        ok("created_at >= TIMESTAMP '2024-05-01T10:00:00+02:00'"),
        "created_at >= TIMESTAMP '2024-05-01T08:00:00Z'"
    );
    assert_eq!(
        ok("amount <= -1.5 OR 3 < quantity"),
        "amount <= -1.5 OR 3 < quantity"
    );
    assert_eq!(ok("region = 'it''s'"), "region = 'it''s'");
}

#[test]
fn the_tree_keeps_precedence_of_and_over_or() {
    let (tree, _) = check_text("region = 'EU' OR region = 'US' AND active", &schema()).unwrap();
    let Some(expr::Kind::Or(list)) = tree.kind else {
        panic!("OR at the top: {tree:?}");
    };
    assert_eq!(list.exprs.len(), 2);
    assert!(matches!(list.exprs[1].kind, Some(expr::Kind::And(_))));
}

#[test]
fn a_tree_is_checked_like_text() {
    let comparison = |column: &str, value: literal::Value| Expr {
        kind: Some(expr::Kind::Comparison(Box::new(Comparison {
            op: ComparisonOperator::Eq as i32,
            left: Some(Box::new(Expr {
                kind: Some(expr::Kind::Column(column.to_string())),
            })),
            right: Some(Box::new(Expr {
                kind: Some(expr::Kind::Literal(Literal { value: Some(value) })),
            })),
        }))),
    };
    let good = Expr {
        kind: Some(expr::Kind::Or(ExprList {
            exprs: vec![
                comparison("region", literal::Value::StringValue("EU".into())),
                comparison("quantity", literal::Value::IntValue(3)),
            ],
        })),
    };
    let (tree, text) = check_tree(&good, &schema()).unwrap();
    assert_eq!(text, "region = 'EU' OR quantity = 3");
    assert_eq!(tree, good);

    let bad = comparison("region", literal::Value::IntValue(3));
    let error = check_tree(&bad, &schema()).unwrap_err();
    assert_eq!(error.position, 10, "{error}");
    assert!(
        error.message.contains("column 'region' is a string"),
        "{error}"
    );

    let empty = Expr {
        kind: Some(expr::Kind::And(ExprList { exprs: vec![] })),
    };
    assert!(check_tree(&empty, &schema()).is_err());
    assert!(check_tree(&Expr::default(), &schema()).is_err());
}

#[test]
fn refuses_each_fault_at_its_position() {
    let cases: &[(&str, usize, &str)] = &[
        ("nope = 1", 1, "unknown column 'nope'"),
        (
            "region = 3",
            10,
            "column 'region' is a string; the number 3 does not fit it",
        ),
        ("amount > 'x'", 10, "is a number"),
        ("lower(region) = 'eu'", 1, "functions are not allowed"),
        (
            "region = 'EU' AND",
            18,
            "expected a column or a value at the end",
        ),
        ("region = 'EU' extra", 15, "unexpected column 'extra'"),
        ("quantity LIKE '1%'", 1, "LIKE needs a string column"),
        ("payload = 'x'", 1, "cannot be filtered on"),
        ("region", 1, "is not boolean"),
        ("1 = 1", 1, "a comparison must involve a column"),
        ("region = NULL", 10, "IS NULL"),
        ("order_date = '2024-13-01'", 14, "does not fit"),
        ("created_at > DATE 'yesterday'", 19, "not a valid date"),
        ("(region = 'EU'", 15, "expected ')'"),
        ("region IN ('a' 'b')", 16, "expected ',' or ')'"),
        (
            "region NOT = 'a'",
            12,
            "expected IN, BETWEEN or LIKE after NOT",
        ),
        ("quantity BETWEEN 1 OR 2", 20, "expected AND"),
        (
            "region = 'EU'; DROP TABLE x",
            14,
            "unexpected character ';'",
        ),
        ("address = 'x'", 1, "cannot be filtered on"),
    ];
    for (text, position, message) in cases {
        let error = fault(text);
        assert!(
            error.message.contains(message),
            "{text}: expected '{message}', got {error}"
        );
        assert_eq!(error.position, *position, "{text}: {error}");
    }
}

#[test]
fn refuses_deep_nesting_and_long_filters_without_exhausting_the_stack() {
    let nested =
        |levels: usize| format!("{}region = 'EU'{}", "(".repeat(levels), ")".repeat(levels));
    assert_eq!(ok(&nested(MAX_NESTING)), "region = 'EU'");
    let error = fault(&nested(MAX_NESTING + 1));
    assert!(error.message.contains("nest at most"), "{error}");
    // 3,000 parentheses aborted governance with a stack overflow.
    let error = fault(&nested(3_000));
    assert!(error.message.contains("at most"), "{error}");
    let error = fault(&format!("{}active", "NOT ".repeat(MAX_NESTING + 1)));
    assert!(error.message.contains("nest at most"), "{error}");
    let error = fault(&format!("{}active", "NOT (".repeat(40)));
    assert!(error.message.contains("nest at most"), "{error}");
    let long = vec!["active"; 2_000].join(" AND ");
    assert!(fault(&long).message.contains("at most 10000 characters"));

    // A tree given directly: its rendering is held to the same limits.
    let mut tree = check_text("active", &schema()).unwrap().0;
    for _ in 0..MAX_NESTING + 1 {
        tree = Expr {
            kind: Some(expr::Kind::Not(Box::new(tree))),
        };
    }
    let error = check_tree(&tree, &schema()).unwrap_err();
    assert!(error.message.contains("nest at most"), "{error}");
}
