//! Bounds what a YAML document expands to. YAML aliases repeat an anchored node wherever they
//! appear, so a small document can stand for an enormous one (an anchor reused in nested lists:
//! 200 KB became 10M values and over 1 GB). The YAML parser limits how often it follows aliases,
//! not what they add up to, so the document is first walked once, values counted as the aliases
//! expand them, without building anything, and refused past a budget.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

/// Most values (mappings, sequences and scalars) a document may expand to: a large contract
/// (dozens of tables of 2,000 columns) has a few hundred thousand.
pub const MAX_VALUES: usize = 500_000;
/// Most bytes of scalars a document may expand to.
pub const MAX_SCALAR_BYTES: usize = 16 * 1024 * 1024;

/// `Ok` when `yaml` expands to at most `MAX_VALUES` values and `MAX_SCALAR_BYTES` of text; the
/// error says which bound was passed. A YAML syntax error is left to the real parse.
pub fn check(yaml: &str) -> Result<(), String> {
    let budget = Budget::default();
    let counted =
        (Counter { budget: &budget }).deserialize(yaml_serde::Deserializer::from_str(yaml));
    match (counted, budget.exceeded.get()) {
        (Err(_), Some(Exceeded::Values)) => Err(format!(
            "expands to more than {MAX_VALUES} values (aliases included)"
        )),
        (Err(_), Some(Exceeded::ScalarBytes)) => Err(format!(
            "expands to more than {} MiB of text (aliases included)",
            MAX_SCALAR_BYTES >> 20
        )),
        _ => Ok(()),
    }
}

#[derive(Default)]
struct Budget {
    values: Cell<usize>,
    scalar_bytes: Cell<usize>,
    exceeded: Cell<Option<Exceeded>>,
}

#[derive(Clone, Copy)]
enum Exceeded {
    Values,
    ScalarBytes,
}

#[derive(Clone, Copy)]
struct Counter<'a> {
    budget: &'a Budget,
}

impl Counter<'_> {
    fn count<E: de::Error>(self, scalar_bytes: usize) -> Result<(), E> {
        let budget = self.budget;
        budget.values.set(budget.values.get() + 1);
        budget
            .scalar_bytes
            .set(budget.scalar_bytes.get() + scalar_bytes);
        let exceeded = if budget.values.get() > MAX_VALUES {
            Some(Exceeded::Values)
        } else if budget.scalar_bytes.get() > MAX_SCALAR_BYTES {
            Some(Exceeded::ScalarBytes)
        } else {
            None
        };
        match exceeded {
            Some(exceeded) => {
                budget.exceeded.set(Some(exceeded));
                Err(E::custom("the expansion budget is spent"))
            }
            None => Ok(()),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Counter<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Counter<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.count(1)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.count(8)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.count(8)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.count(8)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.count(value.len())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.count(0)
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.count(0)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_newtype_struct<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<(), D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<(), A::Error> {
        self.count(0)?;
        while sequence.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.count(0)?;
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged YAML value (`!tag value`): count the value under it.
        use de::VariantAccess;
        let ((), variant) = data.variant_seed(self)?;
        variant.newtype_variant_seed(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "billion laughs" document: each level's list repeats the previous level's anchor
    /// `width` times, so it expands to width^levels values.
    fn laughs(levels: usize, width: usize) -> String {
        let mut yaml = String::from("a0: &a0 [\"lol\"]\n");
        for level in 1..=levels {
            let items = vec![format!("*a{}", level - 1); width].join(", ");
            yaml.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        yaml
    }

    #[test]
    fn refuses_documents_whose_aliases_expand_past_the_budget() {
        // The parser follows at most 100 aliases per event of the document, so a small
        // document stops by itself; a larger one (here ~250 KB of padding) lets aliases expand
        // it a million times over: 6 levels of 10.
        let padding: String = (0..20_000).map(|i| format!("- p{i}\n")).collect();
        let yaml = format!("{}pad:\n{}", laughs(6, 10), padding.replace("- ", "  - "));
        assert!(yaml.len() < 300_000, "{}", yaml.len());
        let error = check(&yaml).unwrap_err();
        assert!(error.contains("500000 values"), "{error}");
        // A long scalar repeated by aliases: few values, much text.
        let long = "x".repeat(1 << 20);
        let mut yaml = format!("a: &big \"{long}\"\nb: [");
        yaml.push_str(&vec!["*big"; 20].join(", "));
        yaml.push_str("]\n");
        let error = check(&yaml).unwrap_err();
        assert!(error.contains("16 MiB"), "{error}");
    }

    #[test]
    fn accepts_documents_within_the_budget_and_leaves_syntax_errors_to_the_parser() {
        assert_eq!(check(&laughs(3, 10)), Ok(()));
        assert_eq!(check("id: [unclosed\n"), Ok(()));
        assert_eq!(
            check("kind: !custom {a: 1}\nlist: [1, 2.5, true, null, x]\n"),
            Ok(())
        );
    }
}
