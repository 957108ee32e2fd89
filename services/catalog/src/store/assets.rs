//! Asset-only tables: schema versions (immutable, one row per version) and the unique locations.

use prost::Message;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr,
};
use weft_proto::weft::catalog::v1::{Location, Schema, SchemaVersion};
use weft_runtime::ApiError;
use weft_storage::write::{db_error, now};

use super::entities::{asset_location, schema_version};
use weft_proto::time::timestamp as to_timestamp;

/// Records that `asset` is at `location`; ALREADY_EXISTS naming the holder if another asset is.
pub async fn claim_location<C: ConnectionTrait>(
    conn: &C,
    location: &Location,
    asset: &str,
) -> Result<(), ApiError> {
    let holder =
        asset_location::Entity::find_by_id((location.namespace.clone(), location.name.clone()))
            .one(conn)
            .await
            .map_err(db_error)?;
    if let Some(holder) = holder {
        if holder.asset == asset {
            return Ok(());
        }
        return Err(ApiError::AlreadyExists(format!(
            "location {} {} (used by {})",
            location.namespace, location.name, holder.asset
        )));
    }
    asset_location::ActiveModel {
        namespace: Set(location.namespace.clone()),
        name: Set(location.name.clone()),
        asset: Set(asset.to_string()),
    }
    .insert(conn)
    .await
    .map_err(weft_storage::resources::insert_error(&format!(
        "location {} {}",
        location.namespace, location.name
    )))?;
    Ok(())
}

/// The asset at `location`, if any.
pub async fn asset_at<C: ConnectionTrait>(
    conn: &C,
    location: &Location,
) -> Result<Option<String>, ApiError> {
    Ok(
        asset_location::Entity::find_by_id((location.namespace.clone(), location.name.clone()))
            .one(conn)
            .await
            .map_err(db_error)?
            .map(|row| row.asset),
    )
}

/// Forgets the location of `asset`.
pub async fn release_location<C: ConnectionTrait>(conn: &C, asset: &str) -> Result<(), ApiError> {
    asset_location::Entity::delete_many()
        .filter(asset_location::Column::Asset.eq(asset))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub async fn insert_schema_version<C: ConnectionTrait>(
    conn: &C,
    asset: &str,
    version: i64,
    created_by: &str,
    schema: &Schema,
) -> Result<(), ApiError> {
    schema_version::ActiveModel {
        asset: Set(asset.to_string()),
        version: Set(version),
        created_by: Set(created_by.to_string()),
        create_time: Set(now()),
        body: Set(schema.encode_to_vec()),
    }
    .insert(conn)
    .await
    .map_err(|error| match error.sql_err() {
        // Version 1 is written with the asset: it exists already (a concurrent create on
        // PostgreSQL gets here rather than to the resource row).
        Some(SqlErr::UniqueConstraintViolation(_)) if version == 1 => {
            ApiError::already_exists(asset)
        }
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::Aborted(format!(
            "{asset} was changed concurrently; get it again and retry"
        )),
        _ => db_error(error),
    })?;
    Ok(())
}

fn decode(row: schema_version::Model) -> Result<SchemaVersion, ApiError> {
    Ok(SchemaVersion {
        name: format!("{}/schemaVersions/{}", row.asset, row.version),
        version: row.version,
        schema: Some(Schema::decode(row.body.as_slice()).map_err(ApiError::internal)?),
        created_by: row.created_by,
        create_time: Some(to_timestamp(row.create_time)),
    })
}

pub async fn find_schema_version<C: ConnectionTrait>(
    conn: &C,
    asset: &str,
    version: i64,
) -> Result<Option<SchemaVersion>, ApiError> {
    schema_version::Entity::find_by_id((asset.to_string(), version))
        .one(conn)
        .await
        .map_err(db_error)?
        .map(decode)
        .transpose()
}

/// Versions of `asset`, newest first, below `before` if given.
pub async fn list_schema_versions<C: ConnectionTrait>(
    conn: &C,
    asset: &str,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<SchemaVersion>, ApiError> {
    let mut query = schema_version::Entity::find()
        .filter(schema_version::Column::Asset.eq(asset))
        .order_by_desc(schema_version::Column::Version)
        .limit(limit);
    if let Some(before) = before {
        query = query.filter(schema_version::Column::Version.lt(before));
    }
    query
        .all(conn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(decode)
        .collect()
}

pub async fn delete_schema_versions<C: ConnectionTrait>(
    conn: &C,
    asset: &str,
) -> Result<(), ApiError> {
    schema_version::Entity::delete_many()
        .filter(schema_version::Column::Asset.eq(asset))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}
