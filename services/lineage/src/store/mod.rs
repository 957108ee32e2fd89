//! Lineage's storage: entities, migrations, the queries the domain runs and the unit of work a
//! batch of events is written through. Nothing here builds SQL text from user input: every value
//! is bound through sea-orm / sea-query.

pub mod entities;
pub mod migrations;
pub mod reads;
pub mod unit_of_work;
