//! ODCS contracts (ImportDataContract): any YAML is parsed within its expansion budget,
//! validated against the ODCS schema and planned into a product, or refused.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|yaml: &str| {
    let tag_keys: HashMap<String, Vec<String>> =
        HashMap::from([("pii".to_string(), vec!["email".to_string()])]);
    let _ = weft_catalog::domain::contracts::plan_contract(yaml, "fuzzed", &tag_keys);
});
