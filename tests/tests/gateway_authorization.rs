//! The gateway's per-RPC authorization, on SQLite and PostgreSQL: the rules declared in the
//! protos are enforced for every forwarded RPC, resource rules decided by governance (grants,
//! ownership, guardrails on the catalog projection) through a cache that governance's event
//! stream empties, so a grant or a revocation takes effect at once; governance unreachable means
//! refused.

use std::time::Duration;

use prost_types::FieldMask;
use tonic::Code;
use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, BatchCreateAssetsRequest, CreateAssetRequest, CreateDataProductRequest,
    CreateDomainRequest, CreateTagKeyRequest, DataProduct, GetDataProductRequest, GetDomainRequest,
    GetSchemaVersionRequest, ListDataProductsRequest, ListDomainsRequest, Location,
    PublishDataProductRequest, Schema, SearchRequest, SearchResultType, TagKey,
    UpdateDataProductRequest,
};
use weft_proto::weft::common::v1::{Permission, Tag};
use weft_proto::weft::governance::v1::*;
use weft_runtime::ServiceKind;
use weft_tests::{Catalog, catalog, domain_request, governance, on_every_backend, product_request};

const PRODUCT: &str = "domains/sales/dataProducts/orders";

fn domain(id: &str, parent: &str, owners: &[&str]) -> CreateDomainRequest {
    domain_request(id, id, parent, owners)
}

/// A table asset with one column at `postgres://db:5432` + `table`.
fn table_asset(parent: &str, id: &str, table: &str) -> CreateAssetRequest {
    CreateAssetRequest {
        parent: parent.into(),
        asset_id: id.into(),
        asset: Some(Asset {
            kind: AssetKind::Table as i32,
            location: Some(Location {
                namespace: "postgres://db:5432".into(),
                name: table.into(),
            }),
            schema: Some(Schema {
                columns: vec![weft_proto::weft::catalog::v1::Column {
                    name: "id".into(),
                    r#type: "bigint".into(),
                    ..Default::default()
                }],
            }),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

fn get_product() -> GetDataProductRequest {
    GetDataProductRequest {
        name: PRODUCT.into(),
    }
}

/// Repeats `call` until it answers `expected` (the catalog projection reaches governance a
/// moment after the catalog's write), at most 10 s.
async fn eventually<F, Fut>(what: &str, expected: Code, mut call: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Code>,
{
    let mut last = Code::Unknown;
    for _ in 0..100 {
        last = call().await;
        if last == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: still {last:?}, expected {expected:?}");
}

async fn product_code(client: &mut Catalog) -> Code {
    match client.get_data_product(get_product()).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn every_forwarded_rpc_is_authorized_by_its_declared_rule() {
    on_every_backend!(|suite| {
        let mut admin = catalog(&suite, &suite.admin_token());
        let mut olivia = catalog(&suite, &suite.token("users/olivia", &[]));
        let mut bob = catalog(&suite, &suite.token("users/bob", &[]));
        let mut bob_governance = governance(&suite, &suite.token("users/bob", &[]));

        // The catalog root (top-level domains, tag keys, glossaries) is the administrators'.
        let refused = bob
            .create_domain(domain("mine", "", &[]))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        assert!(refused.message().contains("catalog root"), "{refused:?}");
        let refused = bob
            .create_tag_key(CreateTagKeyRequest {
                tag_key_id: "tier".into(),
                tag_key: Some(TagKey::default()),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        // An administrators' RPC.
        let refused = bob_governance
            .create_user(CreateUserRequest {
                user_id: "bob".into(),
                user: Some(User::default()),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        assert!(refused.message().contains("administrators"), "{refused:?}");
        // Any authenticated caller may list (the service filters what it returns).
        bob.list_domains(ListDomainsRequest::default())
            .await
            .unwrap();

        admin
            .create_tag_key(CreateTagKeyRequest {
                tag_key_id: "classification".into(),
                tag_key: Some(TagKey {
                    allowed_values: vec!["restricted".into()],
                    classification: true,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        admin
            .create_domain(domain("sales", "", &["users/olivia"]))
            .await
            .unwrap();

        // The domain's owner holds every permission in it, once governance has projected it.
        eventually("olivia reads her domain", Code::Ok, || {
            let mut olivia = olivia.clone();
            async move {
                match olivia
                    .get_domain(GetDomainRequest {
                        name: "domains/sales".into(),
                    })
                    .await
                {
                    Ok(_) => Code::Ok,
                    Err(status) => status.code(),
                }
            }
        })
        .await;
        olivia
            .create_domain(domain("sales-eu", "domains/sales", &[]))
            .await
            .unwrap();
        olivia
            .create_data_product(product_request("domains/sales", "orders", "Orders"))
            .await
            .unwrap();
        // At once, before the projection has the new product: decided on its domain.
        olivia
            .create_asset(table_asset(PRODUCT, "orders", "sales.public.orders"))
            .await
            .unwrap();
        // A batch is decided on its parent, which every create of it must share.
        let batch = || BatchCreateAssetsRequest {
            parent: PRODUCT.into(),
            requests: vec![table_asset("", "returns", "sales.public.returns")],
            request_id: String::new(),
        };
        let refused = bob.batch_create_assets(batch()).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        assert!(
            refused.message().contains("users/bob may not ALTER"),
            "{refused:?}"
        );
        olivia.batch_create_assets(batch()).await.unwrap();
        // A sub-resource (a schema version) is decided on its asset.
        olivia
            .get_schema_version(GetSchemaVersionRequest {
                name: format!("{PRODUCT}/assets/orders/schemaVersions/1"),
            })
            .await
            .unwrap();

        // Bob holds nothing: refused the same way whether the resource exists or not.
        let refused = bob.get_data_product(get_product()).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        assert!(
            refused.message().contains("users/bob may not DESCRIBE"),
            "{refused:?}"
        );
        let missing = bob
            .get_domain(GetDomainRequest {
                name: "domains/nowhere".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Code::PermissionDenied);
        // An administrator learns that it does not exist.
        let missing = admin
            .get_domain(GetDomainRequest {
                name: "domains/nowhere".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Code::NotFound);

        // A grant takes effect at once; asked twice (the second answer is the cache's).
        let mut olivia_governance = governance(&suite, &suite.token("users/olivia", &[]));
        let grant = olivia_governance
            .create_grant(CreateGrantRequest {
                grant: Some(Grant {
                    principal: "users/bob".into(),
                    target: Some(grant::Target::Resource(PRODUCT.into())),
                    permissions: vec![Permission::Describe as i32],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        for _ in 0..2 {
            assert_eq!(product_code(&mut bob).await, Code::Ok);
        }
        // DESCRIBE is not ALTER.
        let refused = bob
            .update_data_product(UpdateDataProductRequest {
                data_product: Some(DataProduct {
                    name: PRODUCT.into(),
                    description: "Bob's now".into(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["description".into()],
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);

        // A guardrail forbidding restricted products, then the product tagged restricted: the
        // catalog change reaches governance's projection and the cached decision is dropped.
        let mut admin_governance = governance(&suite, &suite.admin_token());
        admin_governance
            .create_policy(CreatePolicyRequest {
                policy_id: "restricted".into(),
                policy: Some(Policy {
                    cedar: r#"forbid (principal, action, resource)
                        when { resource.classification.contains("classification=restricted") };"#
                        .into(),
                    enabled: true,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        assert_eq!(product_code(&mut bob).await, Code::Ok);
        admin
            .update_data_product(UpdateDataProductRequest {
                data_product: Some(DataProduct {
                    name: PRODUCT.into(),
                    tags: vec![Tag {
                        key: "classification".into(),
                        value: "restricted".into(),
                    }],
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["tags".into()],
                }),
            })
            .await
            .unwrap();
        eventually("the guardrail refuses bob", Code::PermissionDenied, || {
            let mut bob = bob.clone();
            async move { product_code(&mut bob).await }
        })
        .await;
        admin_governance
            .delete_policy(DeletePolicyRequest {
                name: "policies/restricted".into(),
                etag: String::new(),
            })
            .await
            .unwrap();
        assert_eq!(product_code(&mut bob).await, Code::Ok);

        // Revocation removes access at once.
        olivia_governance
            .revoke_grant(RevokeGrantRequest {
                name: grant.name.clone(),
                etag: String::new(),
            })
            .await
            .unwrap();
        assert_eq!(product_code(&mut bob).await, Code::PermissionDenied);
    });
}

#[tokio::test]
async fn without_governance_resource_rules_fail_closed() {
    let mut suite = weft_testkit::TestSuite::start(weft_testkit::Backend::Sqlite)
        .await
        .unwrap();
    let mut admin = catalog(&suite, &suite.admin_token());
    admin
        .create_domain(domain("sales", "", &["users/olivia"]))
        .await
        .unwrap();
    let olivia = catalog(&suite, &suite.token("users/olivia", &[]));
    let get = || GetDomainRequest {
        name: "domains/sales".into(),
    };
    eventually("olivia reads her domain", Code::Ok, || {
        let mut olivia = olivia.clone();
        async move {
            match olivia.get_domain(get()).await {
                Ok(_) => Code::Ok,
                Err(status) => status.code(),
            }
        }
    })
    .await;

    suite.stop_service(ServiceKind::Governance).await.unwrap();
    // Not even a decision cached before: nothing is kept once the event stream is down.
    eventually("refused without governance", Code::Unavailable, || {
        let mut olivia = olivia.clone();
        async move {
            match olivia.get_domain(get()).await {
                Ok(_) => Code::Ok,
                Err(status) => status.code(),
            }
        }
    })
    .await;
    // An administrator needs no decision.
    admin.get_domain(get()).await.unwrap();

    suite.start_service(ServiceKind::Governance).await.unwrap();
    eventually("olivia reads her domain again", Code::Ok, || {
        let mut olivia = olivia.clone();
        async move {
            match olivia.get_domain(get()).await {
                Ok(_) => Code::Ok,
                Err(status) => status.code(),
            }
        }
    })
    .await;
    suite.stop().await.unwrap();
}

/// The names `call` returns once they equal `expected` (the search index and governance's
/// projection follow writes a moment later), at most 10 s.
async fn names_become<F, Fut>(what: &str, expected: &[&str], mut call: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Vec<String>>,
{
    let mut last = Vec::new();
    for _ in 0..100 {
        last = call().await;
        if last == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: still {last:?}, expected {expected:?}");
}

#[tokio::test]
async fn listings_and_search_hold_only_what_the_caller_may_describe() {
    on_every_backend!(|suite| {
        weft_tests::disable_default_rules(&suite).await;
        let mut admin = catalog(&suite, &suite.admin_token());
        admin
            .create_domain(domain("sales", "", &["users/olivia"]))
            .await
            .unwrap();
        for id in ["orders", "returns"] {
            admin
                .create_data_product(CreateDataProductRequest {
                    parent: "domains/sales".into(),
                    data_product_id: id.into(),
                    data_product: Some(DataProduct {
                        display_name: format!("Quarterly {id}"),
                        description: format!("Every {id} of the quarter"),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .unwrap();
        }
        admin
            .create_asset(table_asset(
                "domains/sales/dataProducts/returns",
                "refunds",
                "sales.public.refunds",
            ))
            .await
            .unwrap();
        admin
            .publish_data_product(PublishDataProductRequest {
                name: "domains/sales/dataProducts/returns".into(),
                etag: String::new(),
            })
            .await
            .unwrap();

        let list = |token: String| {
            let client = catalog(&suite, &token);
            move || {
                let mut client = client.clone();
                async move {
                    client
                        .list_data_products(ListDataProductsRequest {
                            parent: "domains/sales".into(),
                            ..Default::default()
                        })
                        .await
                        .unwrap()
                        .into_inner()
                        .data_products
                        .into_iter()
                        .map(|p| p.name)
                        .collect::<Vec<_>>()
                }
            }
        };
        let search = |token: String| {
            let client = catalog(&suite, &token);
            move || {
                let mut client = client.clone();
                async move {
                    let mut names: Vec<String> = client
                        .search(SearchRequest {
                            query: "quarterly".into(),
                            ..Default::default()
                        })
                        .await
                        .unwrap()
                        .into_inner()
                        .results
                        .into_iter()
                        .filter(|hit| hit.r#type() == SearchResultType::DataProduct)
                        .map(|hit| hit.name)
                        .collect();
                    names.sort();
                    names
                }
            }
        };
        let both = [
            "domains/sales/dataProducts/orders",
            "domains/sales/dataProducts/returns",
        ];
        let published = ["domains/sales/dataProducts/returns"];
        // The owner sees the draft and the published product; anyone else the published one
        // (the marketplace), and every domain.
        names_become(
            "olivia's list",
            &both,
            list(suite.token("users/olivia", &[])),
        )
        .await;
        names_become(
            "bob's list",
            &published,
            list(suite.token("users/bob", &[])),
        )
        .await;
        names_become(
            "olivia's search",
            &both,
            search(suite.token("users/olivia", &[])),
        )
        .await;
        names_become(
            "bob's search",
            &published,
            search(suite.token("users/bob", &[])),
        )
        .await;
        let domains = catalog(&suite, &suite.token("users/bob", &[]))
            .list_domains(ListDomainsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .domains;
        assert_eq!(domains.len(), 1);
        // Seeing a published product is not reading its data.
        let mut bob_governance = governance(&suite, &suite.token("users/bob", &[]));
        let select = bob_governance
            .check(CheckRequest {
                query: Some(AccessQuery {
                    principal: String::new(),
                    permission: Permission::Select as i32,
                    resource: "domains/sales/dataProducts/returns".into(),
                }),
            })
            .await
            .unwrap()
            .into_inner()
            .decision
            .unwrap();
        assert!(!select.allowed);
    });
}
