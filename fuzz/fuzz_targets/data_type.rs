//! Column types (asset schemas, ODCS import, row filters): any text is a type or refused; a
//! type's canonical text parses to the same type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_proto::data_type::DataType;

fuzz_target!(|text: &str| {
    if let Ok(parsed) = DataType::parse(text) {
        let canonical = parsed.to_string();
        assert_eq!(DataType::parse(&canonical), Ok(parsed.clone()));
        let _ = parsed.widens_to(&parsed);
    }
});
