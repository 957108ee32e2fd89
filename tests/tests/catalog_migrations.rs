//! The catalog's move into the shared resource store (`weft_storage::resources`), on SQLite and
//! PostgreSQL: resources written to the catalog's own tables before the move keep their
//! revision, times and body, and their owners, tags and references still answer List filters
//! and in-use checks. (`services/cli/tests/upgrade.rs` does the same through the API with a
//! data directory of release 0.1.0, on SQLite.)

use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::sea_query::{Alias, InsertStatement, Query};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use weft_catalog::store::migrations::Migrator;
use weft_proto::weft::catalog::v1::{Asset, Domain};
use weft_storage::resources::{self, StandardFields, labels};

/// Migrations up to and including the catalog's last one before the move.
const BEFORE_THE_MOVE: u32 = 7;

async fn insert(db: &DatabaseConnection, statement: &mut InsertStatement) {
    db.execute(db.get_database_backend().build(&*statement))
        .await
        .unwrap();
}

#[tokio::test]
async fn catalog_resources_and_labels_move_to_the_shared_store() {
    let created: DateTime<Utc> = "2026-01-02T03:04:05.123456Z".parse().unwrap();
    let updated: DateTime<Utc> = "2026-02-03T04:05:06Z".parse().unwrap();
    let domain = Domain {
        name: "domains/sales".into(),
        display_name: "Sales".into(),
        owners: vec!["users/olivia".into()],
        ..Default::default()
    };
    let asset = Asset {
        name: "domains/sales/dataProducts/orders/assets/lines".into(),
        display_name: "Order lines".into(),
        ..Default::default()
    };
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let dir = tempfile::tempdir().unwrap();
        let url = weft_testkit::fresh_database(&backend, dir.path(), "catalog")
            .await
            .unwrap();
        let db = Database::connect(url.as_str()).await.unwrap();
        Migrator::up(&db, Some(BEFORE_THE_MOVE)).await.unwrap();
        let columns = [
            "name",
            "kind",
            "parent",
            "state",
            "revision",
            "create_time",
            "update_time",
            "body",
        ]
        .map(Alias::new);
        insert(
            &db,
            Query::insert()
                .into_table(Alias::new("catalog_resources"))
                .columns(columns)
                .values_panic([
                    domain.name.clone().into(),
                    "domain".into(),
                    None::<String>.into(),
                    None::<String>.into(),
                    3i64.into(),
                    created.into(),
                    updated.into(),
                    domain.encode_to_vec().into(),
                ])
                .values_panic([
                    asset.name.clone().into(),
                    "asset".into(),
                    "domains/sales/dataProducts/orders".into(),
                    "TABLE".into(),
                    1i64.into(),
                    created.into(),
                    created.into(),
                    asset.encode_to_vec().into(),
                ]),
        )
        .await;
        insert(
            &db,
            Query::insert()
                .into_table(Alias::new("catalog_owners"))
                .columns([Alias::new("resource"), Alias::new("principal")])
                .values_panic([domain.name.clone().into(), "users/olivia".into()]),
        )
        .await;
        insert(
            &db,
            Query::insert()
                .into_table(Alias::new("catalog_tags"))
                .columns(["resource", "key", "value"].map(Alias::new))
                .values_panic([
                    format!("{}#email", asset.name).into(),
                    "pii".into(),
                    "email".into(),
                ]),
        )
        .await;
        insert(
            &db,
            Query::insert()
                .into_table(Alias::new("catalog_term_links"))
                .columns([Alias::new("resource"), Alias::new("term")])
                .values_panic([
                    asset.name.clone().into(),
                    "glossaries/business/terms/order".into(),
                ]),
        )
        .await;

        Migrator::up(&db, None).await.unwrap();

        let moved: Domain = resources::get(&db, &domain.name).await.unwrap();
        assert_eq!(moved.etag(), "3", "the revision is kept");
        assert_eq!(moved.display_name, "Sales");
        assert_eq!(
            moved.create_time,
            Some(weft_proto::time::timestamp(created))
        );
        assert_eq!(
            moved.update_time,
            Some(weft_proto::time::timestamp(updated))
        );
        let owned: Vec<Domain> =
            resources::list(&db, vec![resources::owned_by("users/olivia")], None, 10)
                .await
                .unwrap();
        assert_eq!(owned.len(), 1);
        let children: Vec<Asset> =
            resources::all_children(&db, "domains/sales/dataProducts/orders")
                .await
                .unwrap();
        assert_eq!(children.len(), 1);
        assert_eq!(children[0].display_name, "Order lines");
        assert_eq!(
            labels::count_tag_uses(&db, "pii", Some("email"))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            labels::count_references(&db, "glossaries/business/terms/order")
                .await
                .unwrap(),
            1
        );
        for old in [
            "catalog_resources",
            "catalog_owners",
            "catalog_tags",
            "catalog_term_links",
        ] {
            let read = db.execute_unprepared(&format!("SELECT * FROM {old}")).await;
            assert!(read.is_err(), "{old} is gone");
        }
        // The move keeps no copy to go back to: undoing it is refused, and changes nothing.
        assert!(Migrator::down(&db, Some(1)).await.is_err());
        let still: Domain = resources::get(&db, &domain.name).await.unwrap();
        assert_eq!(still.etag(), "3");
    }
}
