//! Row filters (governance's data filters): any text is parsed and type-checked or refused
//! with a position; never a panic or a stack overflow. A tree that parses is rendered and
//! parsed again to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_governance::access::nodes::ColumnIndex;
use weft_governance::domain::row_filter;
use weft_proto::weft::catalog::v1::Column;

fn columns() -> ColumnIndex {
    let column = |name: &str, data_type: &str| Column {
        name: name.into(),
        r#type: data_type.into(),
        ..Default::default()
    };
    ColumnIndex::of(&[
        column("region", "string"),
        column("amount", "decimal(12,2)"),
        column("quantity", "int"),
        column("active", "boolean"),
        column("order_date", "date"),
        column("created_at", "timestamptz"),
        Column {
            fields: vec![column("city", "string")],
            ..column("address", "struct")
        },
    ])
}

fuzz_target!(|text: &str| {
    let columns = columns();
    if let Ok((tree, normalized)) = row_filter::check_text(text, &columns) {
        let (again, renormalized) =
            row_filter::check_text(&normalized, &columns).expect("a normalized filter parses");
        assert_eq!(tree, again);
        assert_eq!(normalized, renormalized);
    }
});
