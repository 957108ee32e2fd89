//! Columns of a catalog schema addressed by dotted path ("address.city" is field `city` of
//! struct column `address`): the one walk the catalog, governance and lineage share.

use crate::weft::catalog::v1::Column;

/// Every column with its dotted path, nested fields included, in schema order (a struct before
/// its fields).
pub fn flatten(columns: &[Column]) -> Vec<(String, &Column)> {
    fn walk<'a>(prefix: &str, columns: &'a [Column], out: &mut Vec<(String, &'a Column)>) {
        for column in columns {
            let path = if prefix.is_empty() {
                column.name.clone()
            } else {
                format!("{prefix}.{}", column.name)
            };
            out.push((path.clone(), column));
            walk(&path, &column.fields, out);
        }
    }
    let mut out = Vec::new();
    walk("", columns, &mut out);
    out
}

/// The column at a dotted path, to change it.
pub fn find_mut<'a>(columns: &'a mut [Column], path: &str) -> Option<&'a mut Column> {
    let (first, rest) = split(path);
    let column = columns.iter_mut().find(|column| column.name == first)?;
    match rest {
        Some(rest) => find_mut(&mut column.fields, rest),
        None => Some(column),
    }
}

fn split(path: &str) -> (&str, Option<&str>) {
    match path.split_once('.') {
        Some((first, rest)) => (first, Some(rest)),
        None => (path, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, fields: Vec<Column>) -> Column {
        Column {
            name: name.into(),
            fields,
            ..Default::default()
        }
    }

    #[test]
    fn nested_fields_are_addressed_by_dotted_paths() {
        let mut columns = vec![
            column("id", vec![]),
            column("address", vec![column("city", vec![])]),
        ];
        let paths: Vec<String> = flatten(&columns).into_iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["id", "address", "address.city"]);
        assert_eq!(find_mut(&mut columns, "address.city").unwrap().name, "city");
        assert!(find_mut(&mut columns, "address.zip").is_none());
        assert!(find_mut(&mut columns, "id.x").is_none());
        find_mut(&mut columns, "address.city").unwrap().description = "Town".into();
        assert_eq!(columns[1].fields[0].description, "Town");
    }
}
