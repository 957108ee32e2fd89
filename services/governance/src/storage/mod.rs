//! Governance's storage: its resources (users, groups, projects, service accounts, grants,
//! policies) in the shared resource table, and the catalog projection with its cursor. Nothing
//! here builds SQL text from user input: every value is bound through sea-orm / sea-query.

pub mod migrations;
pub mod projection;
