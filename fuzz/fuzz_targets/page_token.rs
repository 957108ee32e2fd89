//! Page tokens and list filters (every List RPC): any token or filter text is accepted or
//! refused with INVALID_ARGUMENT.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_runtime::{filter, paging::PageRequest};

fuzz_target!(|input: (i32, &str, &str)| {
    let (page_size, token, filter_text) = input;
    if let Ok(page) = PageRequest::parse(page_size, token, filter_text) {
        let _ = page.after_number();
        let _ = page.fetch_limit();
    }
    let _ = filter::parse(filter_text, &["parent", "owner", "tag", "state"]);
});
