//! Idempotent creates (AIP-155): the answer to a create with a `request_id` is stored in the same
//! transaction as the resource, and a retry with the same id and request gets it back.

use prost::Message;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use sha2::{Digest, Sha256};
use weft_runtime::ApiError;

use crate::entities::idempotency;
use crate::write::{db_error, now};

/// A validated idempotency key of one create request.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub request_id: String,
    pub method: &'static str,
    pub request_hash: String,
}

impl IdempotencyKey {
    /// `None` when the request has no `request_id`; INVALID_ARGUMENT when it is not a UUID.
    pub fn from_request(
        method: &'static str,
        request_id: &str,
        request: &impl Message,
    ) -> Result<Option<Self>, ApiError> {
        if request_id.is_empty() {
            return Ok(None);
        }
        if uuid::Uuid::parse_str(request_id).is_err() {
            return Err(ApiError::invalid("request_id", "must be a UUID"));
        }
        Ok(Some(Self {
            request_id: request_id.to_string(),
            method,
            request_hash: hex::encode(Sha256::digest(request.encode_to_vec())),
        }))
    }

    /// The stored answer of an earlier identical request, if any. The same id with a different
    /// request is refused.
    pub async fn replay<C: ConnectionTrait>(&self, conn: &C) -> Result<Option<Vec<u8>>, ApiError> {
        let found =
            idempotency::Entity::find_by_id((self.request_id.clone(), self.method.to_string()))
                .one(conn)
                .await
                .map_err(db_error)?;
        match found {
            None => Ok(None),
            Some(row) if row.request_hash == self.request_hash => Ok(Some(row.response)),
            Some(_) => Err(ApiError::invalid(
                "request_id",
                "was already used for a different request",
            )),
        }
    }

    /// Stores the answer, in the transaction that creates the resource.
    pub async fn remember<C: ConnectionTrait>(
        &self,
        conn: &C,
        response: &impl Message,
    ) -> Result<(), ApiError> {
        idempotency::ActiveModel {
            request_id: Set(self.request_id.clone()),
            method: Set(self.method.to_string()),
            request_hash: Set(self.request_hash.clone()),
            response: Set(response.encode_to_vec()),
            create_time: Set(now()),
        }
        .insert(conn)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}

/// Runs a create; if it fails with ALREADY_EXISTS because a concurrent request with the same
/// `request_id` won the race, returns that request's stored answer instead.
pub async fn replay_on_conflict<T: Message + Default>(
    store: &crate::Store,
    key: Option<&IdempotencyKey>,
    attempt: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    match attempt.await {
        Err(ApiError::AlreadyExists(resource)) => {
            if let Some(key) = key
                && let Some(stored) = key.replay(store.db()).await?
            {
                return T::decode(stored.as_slice()).map_err(ApiError::internal);
            }
            Err(ApiError::AlreadyExists(resource))
        }
        other => other,
    }
}

/// Decodes a replayed answer.
pub fn decode_replay<T: Message + Default>(stored: &[u8]) -> Result<T, ApiError> {
    T::decode(stored).map_err(ApiError::internal)
}
