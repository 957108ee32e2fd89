//! The catalog's storage besides the shared resource store: entities, migrations and the queries
//! domain code runs. Nothing here builds SQL text from user input: every value is bound through
//! sea-orm / sea-query.

pub mod assets;
pub mod entities;
pub mod migrations;
pub mod revisions;
