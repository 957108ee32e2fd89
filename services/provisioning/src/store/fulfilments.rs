//! What fulfilment did per environment, asset and grant: its state, the statements applied
//! (identifiers and filter values only, never a secret) and the error; what
//! ListGrantFulfilments shows and what tells a later round which grants it must report revoked.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{OnConflict, SimpleExpr};
use sea_orm::{ConnectionTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use weft_runtime::ApiError;
use weft_storage::write::db_error;

pub mod fulfilment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "provisioning_fulfilments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub environment: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub asset: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub grant: String,
        /// A `weft.governance.v1.FulfilmentState` name without its prefix, e.g. "GRANTED".
        pub state: String,
        /// The statements applied, as a JSON array of strings.
        pub statements: String,
        pub error: String,
        pub update_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use fulfilment::Model as Fulfilment;

/// Writes (or replaces) one fulfilment.
pub async fn put<C: ConnectionTrait>(conn: &C, row: Fulfilment) -> Result<(), ApiError> {
    fulfilment::Entity::insert(fulfilment::ActiveModel {
        environment: Set(row.environment),
        asset: Set(row.asset),
        grant: Set(row.grant),
        state: Set(row.state),
        statements: Set(row.statements),
        error: Set(row.error),
        update_time: Set(row.update_time),
    })
    .on_conflict(
        OnConflict::columns([
            fulfilment::Column::Environment,
            fulfilment::Column::Asset,
            fulfilment::Column::Grant,
        ])
        .update_columns([
            fulfilment::Column::State,
            fulfilment::Column::Statements,
            fulfilment::Column::Error,
            fulfilment::Column::UpdateTime,
        ])
        .to_owned(),
    )
    .exec(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// The fulfilments of `environment`.
pub async fn of_environment<C: ConnectionTrait>(
    conn: &C,
    environment: &str,
) -> Result<Vec<Fulfilment>, ApiError> {
    fulfilment::Entity::find()
        .filter(fulfilment::Column::Environment.eq(environment))
        .all(conn)
        .await
        .map_err(db_error)
}

/// What a listing keeps: rows matching every field set.
#[derive(Debug, Default)]
pub struct Filter {
    pub grant: Option<String>,
    pub asset: Option<String>,
    pub environment: Option<String>,
    /// A state name without its prefix, e.g. "GRANTED".
    pub state: Option<String>,
    /// Only these environments (the caller's), when set.
    pub environments: Option<Vec<String>>,
}

impl Filter {
    fn conditions(self) -> Vec<SimpleExpr> {
        use fulfilment::Column;
        let mut conditions = Vec::new();
        for (column, value) in [
            (Column::Grant, self.grant),
            (Column::Asset, self.asset),
            (Column::Environment, self.environment),
            (Column::State, self.state),
        ] {
            if let Some(value) = value {
                conditions.push(column.eq(value));
            }
        }
        if let Some(environments) = self.environments {
            conditions.push(Column::Environment.is_in(environments));
        }
        conditions
    }
}

/// Fulfilments matching `filter`, ordered by (environment, asset, grant), after `after`
/// (the key of the last row of the previous page), at most `limit`.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: Filter,
    after: Option<(String, String, String)>,
    limit: u64,
) -> Result<Vec<Fulfilment>, ApiError> {
    use fulfilment::Column;
    let mut query = fulfilment::Entity::find()
        .order_by_asc(Column::Environment)
        .order_by_asc(Column::Asset)
        .order_by_asc(Column::Grant)
        .limit(limit);
    if let Some((environment, asset, grant)) = after {
        query = query.filter(
            Column::Environment
                .gt(environment.clone())
                .or(Column::Environment
                    .eq(environment.clone())
                    .and(Column::Asset.gt(asset.clone()))
                    .or(Column::Environment
                        .eq(environment)
                        .and(Column::Asset.eq(asset))
                        .and(Column::Grant.gt(grant)))),
        );
    }
    for condition in filter.conditions() {
        query = query.filter(condition);
    }
    query.all(conn).await.map_err(db_error)
}
