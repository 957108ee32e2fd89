//! Governance's move of its catalog projection into the shared projection tables, on SQLite and
//! PostgreSQL: a database with a projection and cursor from before the move keeps both (nothing
//! is read from the catalog again), and the move can be rolled back.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use sea_orm_migration::MigratorTrait;
use weft_governance::store::migrations::Migrator;

/// Migrations up to and including the governance-only projection tables.
const BEFORE_THE_MOVE: u32 = 3;

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<(String, String)> {
    db.query_all(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .into_iter()
        .map(|row| {
            (
                row.try_get_by_index::<String>(0).unwrap(),
                row.try_get_by_index::<i64>(1)
                    .map(|n| n.to_string())
                    .or_else(|_| row.try_get_by_index::<String>(1))
                    .unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_catalog_projection_moves_to_the_shared_tables_with_its_cursor() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let dir = tempfile::tempdir().unwrap();
        let url = weft_testkit::fresh_database(&backend, dir.path(), "governance")
            .await
            .unwrap();
        let db = Database::connect(url.as_str()).await.unwrap();
        Migrator::up(&db, Some(BEFORE_THE_MOVE)).await.unwrap();
        db.execute_unprepared(
            "INSERT INTO governance_catalog_nodes (name, kind, payload_type, payload) VALUES \
             ('domains/sales', 'domain', 'type.googleapis.com/weft.catalog.v1.Domain', ''), \
             ('tagKeys/pii', 'tag_key', 'type.googleapis.com/weft.catalog.v1.TagKey', '')",
        )
        .await
        .unwrap();
        db.execute_unprepared(
            "INSERT INTO governance_projection_cursors (source, sequence) VALUES \
             ('catalog', 42), ('default-rules', 1)",
        )
        .await
        .unwrap();

        Migrator::up(&db, None).await.unwrap();
        assert_eq!(
            rows(
                &db,
                "SELECT name, kind FROM weft_projected_resources \
                 WHERE source = 'catalog' ORDER BY name"
            )
            .await,
            [
                ("domains/sales".to_string(), "domain".to_string()),
                ("tagKeys/pii".to_string(), "tag_key".to_string())
            ]
        );
        let cursors = "SELECT source, sequence FROM weft_projection_cursors ORDER BY source";
        assert_eq!(
            rows(&db, cursors).await,
            [
                ("catalog".to_string(), "42".to_string()),
                ("default-rules".to_string(), "1".to_string())
            ]
        );
        let old_table = db
            .execute_unprepared("SELECT name FROM governance_catalog_nodes")
            .await;
        assert!(old_table.is_err(), "the old table is gone");

        // Rolled back (with the label tables that came after it): the governance tables hold
        // the projection again.
        Migrator::down(&db, Some(2)).await.unwrap();
        assert_eq!(
            rows(
                &db,
                "SELECT source, sequence FROM governance_projection_cursors ORDER BY source"
            )
            .await
            .len(),
            2
        );
        assert_eq!(
            rows(&db, "SELECT name, kind FROM governance_catalog_nodes")
                .await
                .len(),
            2
        );
    }
}
