//! A list of short strings packed into one allocation. Governance and lineage keep such lists
//! for every asset of the catalog (its column paths, types, descriptions); as `Vec<String>` each
//! string cost 24 bytes plus an allocation of its own, which at the 1M-asset scale was most of
//! those services' memory.

/// Strings in order, their text end to end with the end offset of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedStrs {
    text: Box<str>,
    ends: Box<[u32]>,
}

impl PackedStrs {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The string at `position`, if there is one.
    pub fn get(&self, position: usize) -> Option<&str> {
        let end = *self.ends.get(position)? as usize;
        let start = match position {
            0 => 0,
            _ => self.ends[position - 1] as usize,
        };
        Some(&self.text[start..end])
    }

    /// The strings in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + Clone + '_ {
        (0..self.len()).map(|position| self.get(position).expect("in range"))
    }

    /// The position of `wanted`, if the list holds it.
    pub fn position(&self, wanted: &str) -> Option<usize> {
        self.iter().position(|known| known == wanted)
    }
}

impl<'a> FromIterator<&'a str> for PackedStrs {
    fn from_iter<I: IntoIterator<Item = &'a str>>(strings: I) -> Self {
        let mut text = String::new();
        let mut ends = Vec::new();
        for string in strings {
            let before = text.len();
            text.push_str(string);
            match u32::try_from(text.len()) {
                Ok(end) => ends.push(end),
                // Past 4 GiB, far beyond any message the catalog accepts: the rest is dropped.
                Err(_) => {
                    text.truncate(before);
                    break;
                }
            }
        }
        Self {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PackedStrs;

    #[test]
    fn keeps_each_string_in_order_empty_ones_too() {
        let packed: PackedStrs = ["region", "", "address.city", "é"].into_iter().collect();
        assert_eq!(packed.len(), 4);
        assert_eq!(
            packed.iter().collect::<Vec<_>>(),
            ["region", "", "address.city", "é"]
        );
        assert_eq!(packed.get(2), Some("address.city"));
        assert_eq!(packed.get(4), None);
        assert_eq!(packed.position("address.city"), Some(2));
        assert_eq!(packed.position("address"), None);
        let empty = PackedStrs::default();
        assert!(empty.is_empty());
        assert_eq!(empty.iter().count(), 0);
    }
}
