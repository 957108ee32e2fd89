//! The catalog's storage: entities, migrations and the queries domain code runs. Nothing here
//! builds SQL text from user input: every value is bound through sea-orm / sea-query.

pub mod assets;
pub mod entities;
pub mod kinds;
pub mod labels;
pub mod migrations;
pub mod resources;
pub mod revisions;

use sea_orm::{DbErr, SqlErr};
use weft_runtime::ApiError;
use weft_storage::write::db_error;

/// Maps an insert's unique-key violation to ALREADY_EXISTS, anything else to INTERNAL.
pub(crate) fn insert_error(resource: &str) -> impl Fn(DbErr) -> ApiError + '_ {
    move |error| match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::already_exists(resource),
        _ => db_error(error),
    }
}
