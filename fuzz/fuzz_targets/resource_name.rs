//! Resource names (checked by the gateway before any lookup, and by every service): any text
//! is a name of the API's patterns or refused, in time linear in its length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_runtime::validate;

fuzz_target!(|name: &str| {
    let _ = validate::catalog_resource_name(name);
    let _ = validate::parse_name(name, &["domains", "dataProducts", "assets"]);
    let mut errors = weft_runtime::FieldErrors::new();
    validate::principal(&mut errors, "principal", name);
    validate::resource_id(&mut errors, "id", name);
});
