//! Lineage's storage: entities, migrations, and the queries the domain runs. Nothing here
//! builds SQL text from user input: every value is bound through sea-orm / sea-query.

pub mod entities;
pub mod migrations;
pub mod reads;
