//! AIP-158 pagination: page sizes with a default and a maximum, and opaque page tokens that
//! carry the last name returned and a fingerprint of the query they belong to.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 1000;

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Return names strictly after this one.
    pub after: Option<String>,
    /// Rows to return.
    pub size: u64,
    fingerprint: String,
}

#[derive(Serialize, Deserialize)]
struct Token {
    after: String,
    query: String,
}

impl PageRequest {
    /// `query` identifies the listing (parent and filter): a token is only valid for the same one.
    pub fn parse(page_size: i32, page_token: &str, query: &str) -> Result<Self, ApiError> {
        if page_size < 0 {
            return Err(ApiError::invalid("page_size", "must not be negative"));
        }
        let size = match page_size as u64 {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        let fingerprint = hex::encode(&Sha256::digest(query.as_bytes())[..8]);
        let after = if page_token.is_empty() {
            None
        } else {
            let invalid = || ApiError::invalid("page_token", "is not a token from this listing");
            let bytes = URL_SAFE_NO_PAD.decode(page_token).map_err(|_| invalid())?;
            let token: Token = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
            if token.query != fingerprint {
                return Err(ApiError::invalid(
                    "page_token",
                    "belongs to a listing with another parent or filter",
                ));
            }
            Some(token.after)
        };
        Ok(Self {
            after,
            size,
            fingerprint,
        })
    }

    /// For listings paged by number (versions, revisions; newest first): the number the next
    /// page continues below.
    pub fn after_number(&self) -> Result<Option<i64>, ApiError> {
        self.after
            .as_deref()
            .map(str::parse::<i64>)
            .transpose()
            .map_err(|_| ApiError::invalid("page_token", "is not a token from this listing"))
    }

    /// The next page's token, given the rows fetched (ask for `size + 1` rows to know whether
    /// there is a next page); truncates `rows` to the page size.
    pub fn finish<T>(&self, rows: &mut Vec<T>, name_of: impl Fn(&T) -> &str) -> String {
        if rows.len() as u64 <= self.size {
            return String::new();
        }
        rows.truncate(self.size as usize);
        let last = rows.last().map(name_of).unwrap_or_default();
        let token = Token {
            after: last.to_string(),
            query: self.fingerprint.clone(),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
    }

    /// Rows to fetch: one more than the page, to detect a next page.
    pub fn fetch_limit(&self) -> u64 {
        self.size + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_query() {
        let page = PageRequest::parse(2, "", "parent=a").unwrap();
        let mut rows = vec!["a", "b", "c"];
        let token = page.finish(&mut rows, |r| r);
        assert_eq!(rows, ["a", "b"]);
        let next = PageRequest::parse(2, &token, "parent=a").unwrap();
        assert_eq!(next.after.as_deref(), Some("b"));
        assert!(PageRequest::parse(2, &token, "parent=b").is_err());
        assert!(PageRequest::parse(2, "garbage!", "parent=a").is_err());
        assert!(PageRequest::parse(-1, "", "parent=a").is_err());
        assert_eq!(
            PageRequest::parse(5000, "", "q").unwrap().size,
            MAX_PAGE_SIZE
        );
    }
}
