//! OpenLineage events (the HTTP transport and IngestEvent): any text is validated against the
//! spec's schemas or refused at a JSON path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_lineage::openlineage::ParsedEvent;

fuzz_target!(|text: &str| {
    let _ = ParsedEvent::parse(text);
});
