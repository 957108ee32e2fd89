//! Governance's storage: its resources (users, groups, projects, service accounts, grants,
//! policies) in the shared resource table; the catalog projection is `weft_storage::projection`.
//! Nothing here builds SQL text from user input: every value is bound through sea-orm /
//! sea-query.

pub mod migrations;
