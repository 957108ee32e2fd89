//! Metadata rules (CreateRule): any expression compiles or is refused, within the size and
//! nesting bounds that keep CEL's parser on its stack.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|expression: &str| {
    let _ = weft_governance::domain::rules::check_expression(expression);
});
