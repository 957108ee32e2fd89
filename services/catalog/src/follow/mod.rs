//! The catalog's background followers (the search index tail).

pub mod search_index;
