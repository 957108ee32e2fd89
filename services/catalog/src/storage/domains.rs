//! Queries on `catalog_domains`.

use prost::Message;
use sea_orm::sea_query::SimpleExpr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use weft_proto::weft::catalog::v1::Domain;
use weft_runtime::ApiError;
use weft_storage::write::db_error;

use super::entities::{data_product, domain};
use super::{insert_error, labels};
use crate::domain::time::{from_timestamp, to_timestamp};

fn decode(row: domain::Model) -> Result<Domain, ApiError> {
    let mut domain = Domain::decode(row.body.as_slice()).map_err(ApiError::internal)?;
    domain.etag = row.revision.to_string();
    domain.create_time = Some(to_timestamp(row.create_time));
    domain.update_time = Some(to_timestamp(row.update_time));
    Ok(domain)
}

fn body(domain: &Domain) -> Vec<u8> {
    let mut stored = domain.clone();
    stored.etag.clear();
    stored.encode_to_vec()
}

fn parent_of(domain: &Domain) -> Option<String> {
    Some(domain.parent_domain.clone()).filter(|p| !p.is_empty())
}

/// Inserts a new domain (revision 1); ALREADY_EXISTS if the name is taken.
pub async fn insert<C: ConnectionTrait>(conn: &C, domain: &Domain) -> Result<Domain, ApiError> {
    let times = (
        from_timestamp(domain.create_time.as_ref()),
        from_timestamp(domain.update_time.as_ref()),
    );
    let row = domain::ActiveModel {
        name: Set(domain.name.clone()),
        uid: Set(domain.uid.clone()),
        parent_domain: Set(parent_of(domain)),
        revision: Set(1),
        create_time: Set(times.0),
        update_time: Set(times.1),
        body: Set(body(domain)),
    }
    .insert(conn)
    .await
    .map_err(insert_error(&domain.name))?;
    labels::replace(conn, &domain.name, &domain.owners, &domain.tags).await?;
    decode(row)
}

pub async fn find<C: ConnectionTrait>(conn: &C, name: &str) -> Result<Option<Domain>, ApiError> {
    domain::Entity::find_by_id(name)
        .one(conn)
        .await
        .map_err(db_error)?
        .map(decode)
        .transpose()
}

/// Domains matching every condition, by name, after `after`.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    conditions: Vec<SimpleExpr>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Domain>, ApiError> {
    let mut query = domain::Entity::find()
        .order_by_asc(domain::Column::Name)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(domain::Column::Name.gt(after));
    }
    for condition in conditions {
        query = query.filter(condition);
    }
    query
        .all(conn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(decode)
        .collect()
}

/// Writes `domain` if its stored revision is still `revision`; ABORTED otherwise.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    domain: &Domain,
    revision: i64,
) -> Result<Domain, ApiError> {
    let result = domain::Entity::update_many()
        .col_expr(domain::Column::ParentDomain, parent_of(domain).into())
        .col_expr(domain::Column::Revision, (revision + 1).into())
        .col_expr(
            domain::Column::UpdateTime,
            from_timestamp(domain.update_time.as_ref()).into(),
        )
        .col_expr(domain::Column::Body, body(domain).into())
        .filter(domain::Column::Name.eq(&domain.name))
        .filter(domain::Column::Revision.eq(revision))
        .exec(conn)
        .await
        .map_err(db_error)?;
    if result.rows_affected != 1 {
        return Err(ApiError::stale_etag(&domain.name));
    }
    labels::replace(conn, &domain.name, &domain.owners, &domain.tags).await?;
    find(conn, &domain.name)
        .await?
        .ok_or_else(|| ApiError::not_found(&domain.name))
}

pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    revision: i64,
) -> Result<(), ApiError> {
    let result = domain::Entity::delete_many()
        .filter(domain::Column::Name.eq(name))
        .filter(domain::Column::Revision.eq(revision))
        .exec(conn)
        .await
        .map_err(db_error)?;
    if result.rows_affected != 1 {
        return Err(ApiError::stale_etag(name));
    }
    labels::delete(conn, name).await
}

/// Sub-domains and data products directly in a domain.
pub async fn count_children<C: ConnectionTrait>(
    conn: &C,
    name: &str,
) -> Result<(u64, u64), ApiError> {
    let domains = domain::Entity::find()
        .filter(domain::Column::ParentDomain.eq(name))
        .count(conn)
        .await
        .map_err(db_error)?;
    let products = data_product::Entity::find()
        .filter(data_product::Column::Domain.eq(name))
        .count(conn)
        .await
        .map_err(db_error)?;
    Ok((domains, products))
}

/// Condition for List filters: the domain's parent (`None`: top-level domains).
pub fn with_parent(parent: Option<&str>) -> SimpleExpr {
    match parent {
        Some(parent) => domain::Column::ParentDomain.eq(parent),
        None => domain::Column::ParentDomain.is_null(),
    }
}

pub fn name_column() -> domain::Column {
    domain::Column::Name
}
