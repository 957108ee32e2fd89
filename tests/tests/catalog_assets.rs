//! Assets with versioned schemas through the gateway, on SQLite and PostgreSQL: unique locations,
//! column types and tags, compatibility checks on every schema change, versions and diffs.

use prost_types::FieldMask;
use tonic::Code;
use weft_proto::weft::catalog::v1::catalog_internal_service_client::CatalogInternalServiceClient;
use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, Column, CompatibilityMode, CreateAssetRequest, CreateDataProductRequest,
    CreateDomainRequest, DataProduct, DeleteAssetRequest, DeleteDataProductRequest,
    DeleteTagKeyRequest, DiffSchemaVersionsRequest, Domain, GetSchemaVersionRequest,
    ListAssetsRequest, ListSchemaVersionsRequest, Location, ResolveLocationsRequest, Schema,
    SchemaChangeKind, UpdateAssetRequest,
};
use weft_proto::weft::common::v1::Tag;
use weft_runtime::ServiceKind;
use weft_tests::{
    Catalog, bad_fields, catalog, declare_tag_keys, disable_default_rules, on_every_backend,
    precondition_violations,
};

const PRODUCT: &str = "domains/sales/dataProducts/orders";

fn column(name: &str, r#type: &str, nullable: bool) -> Column {
    Column {
        name: name.into(),
        r#type: r#type.into(),
        nullable,
        description: format!("The {name}."),
        ..Default::default()
    }
}

fn orders_schema() -> Schema {
    Schema {
        columns: vec![
            column("order_id", "BIGINT", false),
            column("quantity", "int", false),
            Column {
                tags: vec![Tag {
                    key: "pii".into(),
                    value: "email".into(),
                }],
                ..column("customer_email", "varchar(320)", true)
            },
            Column {
                fields: vec![
                    column("city", "string", true),
                    column("zip", "string", true),
                ],
                ..column("shipping", "struct", true)
            },
            column("note", "string", true),
        ],
    }
}

fn asset(id: &str, kind: AssetKind, location_name: &str, schema: Schema) -> CreateAssetRequest {
    CreateAssetRequest {
        parent: PRODUCT.into(),
        asset_id: id.into(),
        asset: Some(Asset {
            display_name: id.into(),
            kind: kind as i32,
            location: Some(Location {
                namespace: "postgres://db.example:5432".into(),
                name: location_name.into(),
            }),
            description: "Orders placed on the web shop.".into(),
            schema: Some(schema),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

async fn setup(client: &mut Catalog) {
    declare_tag_keys(client, &[("pii", &["email", "phone"])]).await;
    client
        .create_domain(CreateDomainRequest {
            domain_id: "sales".into(),
            domain: Some(Domain {
                display_name: "Sales".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    client
        .create_data_product(CreateDataProductRequest {
            parent: "domains/sales".into(),
            data_product_id: "orders".into(),
            data_product: Some(DataProduct {
                display_name: "Orders".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
}

async fn change_schema(
    client: &mut Catalog,
    current: &Asset,
    schema: Schema,
) -> Result<Asset, tonic::Status> {
    client
        .update_asset(UpdateAssetRequest {
            asset: Some(Asset {
                schema: Some(schema),
                ..current.clone()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["schema".into()],
            }),
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn schema_changes_are_versioned_and_checked_against_the_compatibility_mode() {
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        setup(&mut client).await;
        let orders = client
            .create_asset(asset(
                "orders",
                AssetKind::Table,
                "sales.public.orders",
                orders_schema(),
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(orders.name, format!("{PRODUCT}/assets/orders"));
        assert_eq!(orders.schema_version, 1);
        assert_eq!(orders.compatibility(), CompatibilityMode::Backward);
        let columns = &orders.schema.as_ref().unwrap().columns;
        assert_eq!(
            columns[0].r#type, "bigint",
            "types are stored in canonical form"
        );
        assert_eq!(columns[2].r#type, "string");
        client
            .create_asset(asset(
                "orders-daily",
                AssetKind::View,
                "sales.public.orders_daily",
                orders_schema(),
            ))
            .await
            .unwrap();

        // Breaking: a column removed, a type narrowed, a nullable column made required, a nested
        // field's type changed.
        let mut breaking = orders_schema();
        breaking.columns[0].r#type = "int".into();
        breaking.columns[2].nullable = false;
        breaking.columns[3].fields[1].r#type = "int".into();
        breaking.columns.pop();
        let error = change_schema(&mut client, &orders, breaking)
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::FailedPrecondition, "{error:?}");
        assert!(error.message().contains("BACKWARD"), "{}", error.message());
        assert_eq!(
            precondition_violations(&error),
            [
                ("MADE_REQUIRED".to_string(), "customer_email".to_string()),
                ("COLUMN_REMOVED".to_string(), "note".to_string()),
                ("TYPE_NARROWED".to_string(), "order_id".to_string()),
                ("TYPE_NARROWED".to_string(), "shipping.zip".to_string()),
            ]
        );

        // Compatible: a nullable column added, a type widened.
        let mut compatible = orders_schema();
        compatible.columns[1].r#type = "bigint".into();
        compatible.columns.push(column("coupon", "string", true));
        let v2 = change_schema(&mut client, &orders, compatible)
            .await
            .unwrap();
        assert_eq!(v2.schema_version, 2);
        // The same schema again is no new version.
        let same = change_schema(&mut client, &v2, v2.schema.clone().unwrap())
            .await
            .unwrap();
        assert_eq!(same.schema_version, 2);

        let first_page = client
            .list_schema_versions(ListSchemaVersionsRequest {
                parent: orders.name.clone(),
                page_size: 1,
                page_token: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first_page.schema_versions[0].version, 2);
        let second_page = client
            .list_schema_versions(ListSchemaVersionsRequest {
                parent: orders.name.clone(),
                page_size: 1,
                page_token: first_page.next_page_token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(second_page.schema_versions[0].version, 1);
        assert!(second_page.next_page_token.is_empty());
        let v1 = client
            .get_schema_version(GetSchemaVersionRequest {
                name: format!("{}/schemaVersions/1", orders.name),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(v1.schema, orders.schema);
        assert_eq!(v1.created_by, "users/admin");

        let diff = client
            .diff_schema_versions(DiffSchemaVersionsRequest {
                asset: orders.name.clone(),
                from_version: 1,
                to_version: 2,
            })
            .await
            .unwrap()
            .into_inner();
        let changes: Vec<(SchemaChangeKind, &str, bool)> = diff
            .changes
            .iter()
            .map(|c| (c.kind(), c.column.as_str(), c.breaking))
            .collect();
        assert_eq!(
            changes,
            [
                (SchemaChangeKind::TypeWidened, "quantity", false),
                (SchemaChangeKind::ColumnAdded, "coupon", false)
            ]
        );
        let error = client
            .diff_schema_versions(DiffSchemaVersionsRequest {
                asset: orders.name.clone(),
                from_version: 1,
                to_version: 9,
            })
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&error), ["to_version"]);

        // Under NONE, anything goes.
        let none = client
            .update_asset(UpdateAssetRequest {
                asset: Some(Asset {
                    compatibility: CompatibilityMode::None as i32,
                    schema: Some(Schema {
                        columns: vec![column("id", "int", false)],
                    }),
                    ..same.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["compatibility".into(), "schema".into()],
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(none.schema_version, 3);
    });
}

#[tokio::test]
async fn assets_have_unique_locations_known_types_and_declared_column_tags() {
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        setup(&mut client).await;
        let orders = client
            .create_asset(asset(
                "orders",
                AssetKind::Table,
                "sales.public.orders",
                orders_schema(),
            ))
            .await
            .unwrap()
            .into_inner();
        let error = client
            .create_asset(asset(
                "copy",
                AssetKind::Table,
                "sales.public.orders",
                orders_schema(),
            ))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::AlreadyExists);
        assert!(
            error.message().contains(&orders.name),
            "{}",
            error.message()
        );
        // The same id again (its location being its own) is refused the same way.
        let error = client
            .create_asset(asset(
                "orders",
                AssetKind::Table,
                "sales.public.orders",
                orders_schema(),
            ))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::AlreadyExists, "{error:?}");

        let mut unknown_type = orders_schema();
        unknown_type.columns[1].r#type = "varchar2".into();
        let error = client
            .create_asset(asset(
                "bad",
                AssetKind::Table,
                "sales.public.bad",
                unknown_type,
            ))
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&error), ["asset.schema.columns[1].type"]);

        let mut undeclared = orders_schema();
        undeclared.columns[3].fields[0].tags = vec![Tag {
            key: "geo".into(),
            value: "city".into(),
        }];
        let error = client
            .create_asset(asset(
                "bad",
                AssetKind::Table,
                "sales.public.bad",
                undeclared,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            bad_fields(&error),
            ["asset.schema.columns[3].fields[0].tags[0].key"]
        );

        let mut request = asset("bad", AssetKind::Unspecified, "", orders_schema());
        request
            .asset
            .as_mut()
            .unwrap()
            .location
            .as_mut()
            .unwrap()
            .namespace
            .clear();
        let error = client.create_asset(request).await.unwrap_err();
        assert_eq!(
            bad_fields(&error),
            [
                "asset.kind",
                "asset.location.namespace",
                "asset.location.name"
            ]
        );
        let mut missing_parent = asset("x", AssetKind::Table, "sales.public.x", orders_schema());
        missing_parent.parent = "domains/sales/dataProducts/nothing".into();
        assert_eq!(
            client
                .create_asset(missing_parent)
                .await
                .unwrap_err()
                .code(),
            Code::NotFound
        );

        // Column tags count as uses of their key.
        let error = client
            .delete_tag_key(DeleteTagKeyRequest {
                name: "tagKeys/pii".into(),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(precondition_violations(&error)[0].0, "TAG_KEY_IN_USE");

        let views = client
            .list_assets(ListAssetsRequest {
                parent: PRODUCT.into(),
                filter: "kind = VIEW".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(views.assets.is_empty());
        let tables = client
            .list_assets(ListAssetsRequest {
                parent: PRODUCT.into(),
                filter: "kind = table".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(tables.assets.len(), 1);

        // A product with assets cannot be deleted; once the asset is gone its location is free.
        let error = client
            .delete_data_product(DeleteDataProductRequest {
                name: PRODUCT.into(),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(precondition_violations(&error)[0].0, "HAS_ASSETS");
        client
            .delete_asset(DeleteAssetRequest {
                name: orders.name.clone(),
                etag: orders.etag.clone(),
            })
            .await
            .unwrap();
        client
            .create_asset(asset(
                "orders-v2",
                AssetKind::Table,
                "sales.public.orders",
                orders_schema(),
            ))
            .await
            .unwrap();
    });
}

#[tokio::test]
async fn publishing_freezes_revisions_while_the_draft_moves_on() {
    use weft_proto::weft::catalog::v1::{
        DeprecateDataProductRequest, GetDataProductRevisionRequest, LifecycleState,
        ListDataProductRevisionsRequest, PublishDataProductRequest, RetireDataProductRequest,
    };
    on_every_backend!(|suite| {
        // Governance's PUBLISH rules are tested in governance_rules.rs.
        disable_default_rules(&suite).await;
        let mut client = catalog(&suite, &suite.admin_token());
        setup(&mut client).await;
        let publish = |etag: &str| PublishDataProductRequest {
            name: PRODUCT.into(),
            etag: etag.into(),
        };
        let error = client.publish_data_product(publish("")).await.unwrap_err();
        assert_eq!(precondition_violations(&error)[0].0, "NO_ASSETS");

        let orders = client
            .create_asset(asset(
                "orders",
                AssetKind::Table,
                "sales.public.orders",
                orders_schema(),
            ))
            .await
            .unwrap()
            .into_inner();
        let published = client
            .publish_data_product(publish(""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(published.lifecycle_state(), LifecycleState::Published);
        assert_eq!(
            published.published_revision,
            format!("{PRODUCT}/revisions/1")
        );
        let error = client.publish_data_product(publish("1")).await.unwrap_err();
        assert_eq!(error.code(), Code::Aborted, "a stale etag");

        // Editing the draft does not touch the published revision.
        client
            .update_asset(UpdateAssetRequest {
                asset: Some(Asset {
                    description: "Edited after publishing.".into(),
                    ..orders.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["description".into()],
                }),
            })
            .await
            .unwrap();
        let first = client
            .get_data_product_revision(GetDataProductRevisionRequest {
                name: published.published_revision.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.assets.len(), 1);
        assert_eq!(first.assets[0].description, orders.description);
        assert_eq!(first.published_by, "users/admin");
        assert_eq!(
            first.data_product.as_ref().unwrap().lifecycle_state(),
            LifecycleState::Published
        );

        let again = client
            .publish_data_product(publish(""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again.published_revision, format!("{PRODUCT}/revisions/2"));
        let listed = client
            .list_data_product_revisions(ListDataProductRevisionsRequest {
                parent: PRODUCT.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let numbers: Vec<&str> = listed
            .revisions
            .iter()
            .map(|r| r.name.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(numbers, ["2", "1"]);
        assert_eq!(
            listed.revisions[0].assets[0].description,
            "Edited after publishing."
        );

        // Lifecycle: PUBLISHED -> DEPRECATED -> RETIRED, and nothing back.
        let deprecated = client
            .deprecate_data_product(DeprecateDataProductRequest {
                name: PRODUCT.into(),
                etag: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(deprecated.lifecycle_state(), LifecycleState::Deprecated);
        let error = client.publish_data_product(publish("")).await.unwrap_err();
        assert_eq!(precondition_violations(&error)[0].0, "INVALID_TRANSITION");
        client
            .retire_data_product(RetireDataProductRequest {
                name: PRODUCT.into(),
                etag: String::new(),
            })
            .await
            .unwrap();
        let error = client
            .deprecate_data_product(DeprecateDataProductRequest {
                name: PRODUCT.into(),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::FailedPrecondition);
        let error = client
            .get_data_product_revision(GetDataProductRevisionRequest {
                name: format!("{PRODUCT}/revisions/0"),
            })
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&error), ["name"]);
    });
}

#[tokio::test]
async fn locations_resolve_to_their_asset_product_and_owners() {
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        setup(&mut client).await;
        let product = client
            .create_data_product(CreateDataProductRequest {
                parent: "domains/sales".into(),
                data_product_id: "returns".into(),
                data_product: Some(DataProduct {
                    display_name: "Returns".into(),
                    owners: vec!["users/bo".into(), "users/ana".into()],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let mut request = asset(
            "returns",
            AssetKind::Table,
            "sales.public.returns",
            orders_schema(),
        );
        request.parent = product.name.clone();
        request.asset.as_mut().unwrap().owners = vec!["users/ana".into(), "users/cy".into()];
        let returns = client.create_asset(request).await.unwrap().into_inner();

        // Lineage (any Weft service) asks which assets are at the datasets it knows.
        let mut internal = CatalogInternalServiceClient::new(
            suite
                .backend_channel(ServiceKind::Catalog, Some(ServiceKind::Lineage))
                .unwrap(),
        );
        let at = |name: &str| Location {
            namespace: "postgres://db.example:5432".into(),
            name: name.into(),
        };
        let ask = |locations: Vec<Location>| ResolveLocationsRequest { locations };
        let resolved = internal
            .resolve_locations(ask(vec![
                at("sales.public.nowhere"),
                at("sales.public.returns"),
            ]))
            .await
            .unwrap()
            .into_inner()
            .resolved;
        assert_eq!(resolved.len(), 2);
        assert_eq!(resolved[0].location, Some(at("sales.public.nowhere")));
        assert_eq!(
            (resolved[0].asset.as_str(), resolved[0].owners.len()),
            ("", 0)
        );
        assert_eq!(resolved[1].location, Some(at("sales.public.returns")));
        assert_eq!(resolved[1].asset, returns.name);
        assert_eq!(resolved[1].data_product, product.name);
        // The asset's owners first, then the product's not named already.
        assert_eq!(resolved[1].owners, ["users/ana", "users/cy", "users/bo"]);

        // A deleted asset frees its location.
        client
            .delete_asset(DeleteAssetRequest {
                name: returns.name.clone(),
                etag: returns.etag.clone(),
            })
            .await
            .unwrap();
        let resolved = internal
            .resolve_locations(ask(vec![at("sales.public.returns")]))
            .await
            .unwrap()
            .into_inner()
            .resolved;
        assert_eq!(resolved[0].asset, "");

        // Bad input names its field.
        let status = internal
            .resolve_locations(ask(vec![
                at("sales.public.returns"),
                Location {
                    namespace: " ".into(),
                    name: "x".into(),
                },
            ]))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(bad_fields(&status), ["locations[1].namespace"]);
        let status = internal
            .resolve_locations(ask(vec![at("x"); 1_001]))
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&status), ["locations"]);
    });
}

#[tokio::test]
async fn batch_create_makes_every_asset_or_none() {
    use weft_proto::weft::catalog::v1::{BatchCreateAssetsRequest, BatchCreateAssetsResponse};

    fn batch(requests: Vec<CreateAssetRequest>) -> BatchCreateAssetsRequest {
        BatchCreateAssetsRequest {
            parent: PRODUCT.into(),
            requests,
            request_id: String::new(),
        }
    }
    let table = |id: &str| {
        asset(
            id,
            AssetKind::Table,
            &format!("sales.public.{id}"),
            orders_schema(),
        )
    };
    async fn asset_names(client: &mut Catalog) -> Vec<String> {
        let listed = client
            .list_assets(ListAssetsRequest {
                parent: PRODUCT.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        listed.assets.into_iter().map(|a| a.name).collect()
    }

    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        setup(&mut client).await;

        // Each request's parent may be left empty or repeat the batch's.
        let mut first = table("a1");
        first.parent.clear();
        let created = client
            .batch_create_assets(batch(vec![first, table("a2"), table("a3")]))
            .await
            .unwrap()
            .into_inner();
        let names: Vec<&str> = created.assets.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            [
                format!("{PRODUCT}/assets/a1"),
                format!("{PRODUCT}/assets/a2"),
                format!("{PRODUCT}/assets/a3")
            ]
        );
        assert!(
            created
                .assets
                .iter()
                .all(|a| a.schema_version == 1 && !a.etag.is_empty())
        );
        assert_eq!(asset_names(&mut client).await.len(), 3);
        let version = client
            .get_schema_version(GetSchemaVersionRequest {
                name: format!("{PRODUCT}/assets/a3/schemaVersions/1"),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(version.schema.unwrap().columns.len(), 5);

        // Faults found before the transaction: each named under its request.
        let mut other_parent = table("b2");
        other_parent.parent = "domains/sales/dataProducts/other".into();
        let mut own_request_id = table("b3");
        own_request_id.request_id = uuid::Uuid::new_v4().to_string();
        let mut no_kind = table("b4");
        no_kind.asset.as_mut().unwrap().kind = AssetKind::Unspecified as i32;
        let mut same_location = table("b5");
        same_location.asset.as_mut().unwrap().location = table("b1").asset.unwrap().location;
        let error = client
            .batch_create_assets(batch(vec![
                table("b1"),
                other_parent,
                own_request_id,
                no_kind,
                same_location,
                table("b1"),
            ]))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        assert_eq!(
            bad_fields(&error),
            [
                "requests[1].parent",
                "requests[2].request_id",
                "requests[3].asset.kind",
                "requests[4].asset.location",
                "requests[5].asset_id",
                "requests[5].asset.location",
            ]
        );
        for empty_or_huge in [vec![], vec![table("c"); 1_001]] {
            let error = client
                .batch_create_assets(batch(empty_or_huge))
                .await
                .unwrap_err();
            assert_eq!(bad_fields(&error), ["requests"]);
        }

        // Faults found inside the transaction undo the whole batch.
        let mut undeclared = table("d2");
        undeclared
            .asset
            .as_mut()
            .unwrap()
            .schema
            .as_mut()
            .unwrap()
            .columns[2]
            .tags = vec![Tag {
            key: "geo".into(),
            value: "x".into(),
        }];
        let error = client
            .batch_create_assets(batch(vec![table("d1"), undeclared]))
            .await
            .unwrap_err();
        assert_eq!(
            bad_fields(&error),
            ["requests[1].asset.schema.columns[2].tags[0].key"]
        );
        let taken = asset("d2", AssetKind::Table, "sales.public.a2", orders_schema());
        let error = client
            .batch_create_assets(batch(vec![table("d1"), taken]))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::AlreadyExists);
        assert!(error.message().contains("assets/a2"), "{}", error.message());
        let error = client
            .batch_create_assets(batch(vec![table("d1"), table("a1")]))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::AlreadyExists);
        let mut missing_parent = batch(vec![table("d1")]);
        missing_parent.parent = "domains/sales/dataProducts/nothing".into();
        missing_parent.requests[0].parent.clear();
        let error = client
            .batch_create_assets(missing_parent)
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::NotFound);
        assert_eq!(
            asset_names(&mut client).await.len(),
            3,
            "nothing half-written"
        );

        // The batch's request_id makes a retry return the first answer.
        let request_id = uuid::Uuid::new_v4().to_string();
        let retried = BatchCreateAssetsRequest {
            request_id: request_id.clone(),
            ..batch(vec![table("e1"), table("e2")])
        };
        let answers: Vec<BatchCreateAssetsResponse> = vec![
            client
                .batch_create_assets(retried.clone())
                .await
                .unwrap()
                .into_inner(),
            client
                .batch_create_assets(retried)
                .await
                .unwrap()
                .into_inner(),
        ];
        assert_eq!(answers[0], answers[1]);
        assert_eq!(asset_names(&mut client).await.len(), 5);
        let error = client
            .batch_create_assets(BatchCreateAssetsRequest {
                request_id,
                ..batch(vec![table("e3")])
            })
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&error), ["request_id"]);
    });
}
