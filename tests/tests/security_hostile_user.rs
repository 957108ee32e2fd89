//! What a hostile *authenticated* user can try through the gateway, on SQLite and PostgreSQL:
//! inputs built to exhaust a parser's stack, a lock or memory are refused with INVALID_ARGUMENT
//! naming the field and the services keep answering; rights come from roles exactly as their
//! names promise; ALTER does not hand over ownership or let a domain escape its place; a caller
//! without the right to grant learns nothing of a resource; errors quote bounded input.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use prost_types::FieldMask;
use tonic::Code;
use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, Column, CreateAssetRequest, DataProduct, Domain, GetDataProductRequest,
    GetDomainRequest, ImportDataContractRequest, Location, Schema, UpdateDataProductRequest,
    UpdateDomainRequest,
};
use weft_proto::weft::common::v1::{DataFilter, Permission};
use weft_proto::weft::governance::v1::*;
use weft_testkit::{Backend, TestSuite};
use weft_tests::{
    Catalog, Governance, bad_fields, catalog, decide, domain_request, governance, on_every_backend,
    product_request,
};

const PRODUCT: &str = "domains/sales/dataProducts/orders";
const ASSET: &str = "domains/sales/dataProducts/orders/assets/lines";

fn column(name: &str, data_type: &str) -> Column {
    Column {
        name: name.into(),
        r#type: data_type.into(),
        ..Default::default()
    }
}

fn asset_request(id: &str, columns: Vec<Column>) -> CreateAssetRequest {
    CreateAssetRequest {
        parent: PRODUCT.into(),
        asset_id: id.into(),
        asset: Some(Asset {
            kind: AssetKind::Table as i32,
            location: Some(Location {
                namespace: "postgres://db.example:5432".into(),
                name: format!("sales.public.{id}"),
            }),
            schema: Some(Schema { columns }),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// Domain sales (owned by olivia) with product orders and asset lines (region, quantity).
async fn register_catalog(admin: &mut Catalog) {
    admin
        .create_domain(domain_request("sales", "Sales", "", &["users/olivia"]))
        .await
        .unwrap();
    admin
        .create_data_product(product_request("domains/sales", "orders", "Orders"))
        .await
        .unwrap();
    admin
        .create_asset(asset_request(
            "lines",
            vec![column("region", "string"), column("quantity", "int")],
        ))
        .await
        .unwrap();
}

async fn wait_until_allowed(client: &mut Governance, permission: Permission, resource: &str) {
    for _ in 0..100 {
        if decide(client, permission, resource).await.allowed {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{resource} never became {permission:?}-able");
}

/// Sets a product's owners (and nothing else).
async fn set_owners(
    client: &mut Catalog,
    product: &str,
    owners: &[&str],
) -> Result<tonic::Response<DataProduct>, tonic::Status> {
    client
        .update_data_product(UpdateDataProductRequest {
            data_product: Some(DataProduct {
                name: product.into(),
                owners: owners.iter().map(|o| o.to_string()).collect(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["owners".into()],
            }),
        })
        .await
}

fn grant_request(
    principal: &str,
    resource: &str,
    permissions: &[Permission],
) -> CreateGrantRequest {
    CreateGrantRequest {
        grant: Some(Grant {
            principal: principal.into(),
            target: Some(grant::Target::Resource(resource.into())),
            permissions: permissions.iter().map(|p| *p as i32).collect(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

fn filtered_grant(principal: &str, resource: &str, row_filter: String) -> CreateGrantRequest {
    let mut request = grant_request(principal, resource, &[Permission::Select]);
    request.grant.as_mut().unwrap().data_filter = Some(DataFilter {
        row_filter_text: row_filter,
        ..Default::default()
    });
    request
}

#[tokio::test]
async fn inputs_built_to_exhaust_a_service_are_refused_and_it_keeps_answering() {
    on_every_backend!(|suite| {
        let mut admin_catalog = catalog(&suite, &suite.admin_token());
        let mut olivia_catalog = catalog(&suite, &suite.token("users/olivia", &[]));
        let mut olivia = governance(&suite, &suite.token("users/olivia", &[]));
        let mut mallory = governance(&suite, &suite.token("users/mallory", &[]));
        let mut mallory_catalog = catalog(&suite, &suite.token("users/mallory", &[]));
        register_catalog(&mut admin_catalog).await;
        wait_until_allowed(&mut olivia, Permission::Select, ASSET).await;

        // A row filter of 3,000 nested parentheses aborted governance. A caller without the
        // right to grant is refused before it is parsed; the owner gets the field's fault.
        let deep = format!("{}region = 'EU'{}", "(".repeat(3_000), ")".repeat(3_000));
        let refused = mallory
            .create_grant(filtered_grant("users/mallory", ASSET, deep.clone()))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        let refused = olivia
            .create_grant(filtered_grant("users/bob", ASSET, deep))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert_eq!(bad_fields(&refused), ["grant.data_filter.row_filter_text"]);
        assert!(refused.message().contains("nest at most"), "{refused:?}");

        // A column type nested 100,000 (and 1,000) times aborted (was stored by) the catalog.
        for depth in [100_000, 1_000, 17] {
            let deep_type = format!("{}int{}", "array<".repeat(depth), ">".repeat(depth));
            let refused = olivia_catalog
                .create_asset(asset_request("deep", vec![column("c", &deep_type)]))
                .await
                .unwrap_err();
            assert_eq!(
                refused.code(),
                Code::InvalidArgument,
                "{depth}: {refused:?}"
            );
            assert_eq!(bad_fields(&refused), ["asset.schema.columns[0].type"]);
        }

        // A name of a few MB of "a/" segments pinned governance under its index lock: the
        // gateway refuses it by its shape, and governance answers everyone meanwhile.
        let huge = format!("domains/sales/{}", "a/".repeat(1_500_000));
        let started = Instant::now();
        let refused = mallory_catalog
            .get_domain(GetDomainRequest { name: huge })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert_eq!(bad_fields(&refused), ["name"]);
        for bad in [
            "domains/sales/a/b",
            "projects/x",
            "domains/sales/dataProducts/orders/assets/lines/schemaVersions/1/x/1",
        ] {
            let refused = mallory_catalog
                .get_domain(GetDomainRequest { name: bad.into() })
                .await
                .unwrap_err();
            assert_eq!(refused.code(), Code::InvalidArgument, "{bad}: {refused:?}");
        }
        assert!(decide(&mut olivia, Permission::Select, ASSET).await.allowed);
        eprintln!("refusing a 3 MB name took {:?}", started.elapsed());

        // An ODCS contract whose anchors expand a million times over (a few hundred KB).
        let mut yaml = String::from(
            "apiVersion: v3.1.0\nkind: DataContract\nid: bomb\nversion: 1.0.0\nstatus: active\n\
             customProperties:\n  - property: a0\n    value: &a0 [\"lol\"]\n",
        );
        for level in 1..=6 {
            let items = vec![format!("*a{}", level - 1); 10].join(", ");
            yaml.push_str(&format!(
                "  - property: a{level}\n    value: &a{level} [{items}]\n"
            ));
        }
        yaml.push_str("  - property: padding\n    value:\n");
        for index in 0..20_000 {
            yaml.push_str(&format!("      - p{index}\n"));
        }
        let refused = olivia_catalog
            .import_data_contract(ImportDataContractRequest {
                parent: "domains/sales".into(),
                contract_yaml: yaml,
                data_product_id: "bomb".into(),
                validate_only: false,
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert_eq!(bad_fields(&refused), ["contract_yaml"]);
        assert!(refused.message().contains("values"), "{refused:?}");

        // An error quoting 20 KB of the request was answered UNAVAILABLE by the gateway.
        let long_name = format!("grants/{}", "x".repeat(20_000));
        let refused = mallory
            .get_grant(GetGrantRequest { name: long_name })
            .await
            .unwrap_err();
        assert!(
            matches!(refused.code(), Code::NotFound | Code::InvalidArgument),
            "{refused:?}"
        );
        assert!(
            refused.message().len() < 2_000,
            "{}",
            refused.message().len()
        );

        // Everyone is still answered.
        assert!(decide(&mut olivia, Permission::Select, ASSET).await.allowed);
        olivia_catalog
            .get_data_product(GetDataProductRequest {
                name: PRODUCT.into(),
            })
            .await
            .unwrap();
    });
}

#[tokio::test]
async fn a_caller_without_the_right_to_grant_learns_nothing_of_the_resource() {
    on_every_backend!(|suite| {
        let mut admin_catalog = catalog(&suite, &suite.admin_token());
        let mut olivia = governance(&suite, &suite.token("users/olivia", &[]));
        let mut mallory = governance(&suite, &suite.token("users/mallory", &[]));
        register_catalog(&mut admin_catalog).await;
        wait_until_allowed(&mut olivia, Permission::Select, ASSET).await;

        // The same refusal for a hidden asset (whatever its columns) and an absent one.
        let mut answers = Vec::new();
        for (resource, filter) in [
            (ASSET, "no_such_column = 1"),
            (ASSET, "region = 'EU'"),
            (
                "domains/sales/dataProducts/orders/assets/absent",
                "region = 'EU'",
            ),
            ("domains/nowhere/dataProducts/x/assets/y", "region = 'EU'"),
        ] {
            let refused = mallory
                .create_grant(filtered_grant("users/mallory", resource, filter.into()))
                .await
                .unwrap_err();
            assert_eq!(
                refused.code(),
                Code::PermissionDenied,
                "{resource}: {refused:?}"
            );
            answers.push(refused.message().replace(resource, "RESOURCE"));
        }
        answers.dedup();
        assert_eq!(answers.len(), 1, "{answers:?}");
        // A grant of nothing is judged the same way, not by whether the resource exists.
        for resource in [ASSET, "domains/sales/dataProducts/orders/assets/absent"] {
            let refused = mallory
                .create_grant(grant_request("users/mallory", resource, &[]))
                .await
                .unwrap_err();
            assert_eq!(
                refused.code(),
                Code::PermissionDenied,
                "{resource}: {refused:?}"
            );
        }
        // A subscription request for a draft it may not see is refused as for an absent
        // product (not "not published", which would say the draft exists).
        mallory
            .create_project(CreateProjectRequest {
                project_id: "heist".into(),
                project: Some(Project::default()),
                request_id: String::new(),
            })
            .await
            .unwrap();
        let mut subscription_answers = Vec::new();
        for product in [PRODUCT, "domains/sales/dataProducts/absent"] {
            let refused = mallory
                .create_subscription_request(CreateSubscriptionRequestRequest {
                    subscription_request: Some(SubscriptionRequest {
                        project: "projects/heist".into(),
                        data_product: product.into(),
                        justification: "Curious.".into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .unwrap_err();
            assert_eq!(refused.code(), Code::NotFound, "{product}: {refused:?}");
            subscription_answers.push(refused.message().replace(product, "PRODUCT"));
        }
        subscription_answers.dedup();
        assert_eq!(subscription_answers.len(), 1, "{subscription_answers:?}");
        // Its owner is told what is wrong with it.
        olivia
            .create_project(CreateProjectRequest {
                project_id: "reporting".into(),
                project: Some(Project::default()),
                request_id: String::new(),
            })
            .await
            .unwrap();
        let refused = olivia
            .create_subscription_request(CreateSubscriptionRequestRequest {
                subscription_request: Some(SubscriptionRequest {
                    project: "projects/reporting".into(),
                    data_product: PRODUCT.into(),
                    justification: "Reporting.".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");

        // The owner still gets the faults of the filter and NOT_FOUND for an absent asset.
        let refused = olivia
            .create_grant(filtered_grant(
                "users/bob",
                ASSET,
                "no_such_column = 1".into(),
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        let refused = olivia
            .create_grant(filtered_grant(
                "users/bob",
                "domains/sales/dataProducts/orders/assets/absent",
                "region = 'EU'".into(),
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    });
}

#[tokio::test]
async fn alter_does_not_hand_over_ownership_or_move_a_domain_out_of_its_place() {
    on_every_backend!(|suite| {
        let mut admin_catalog = catalog(&suite, &suite.admin_token());
        let mut olivia = governance(&suite, &suite.token("users/olivia", &[]));
        let mut olivia_catalog = catalog(&suite, &suite.token("users/olivia", &[]));
        let mut alice = governance(&suite, &suite.token("users/alice", &[]));
        let mut alice_catalog = catalog(&suite, &suite.token("users/alice", &[]));
        register_catalog(&mut admin_catalog).await;
        admin_catalog
            .create_domain(domain_request(
                "eu",
                "EU",
                "domains/sales",
                &["users/olivia"],
            ))
            .await
            .unwrap();
        admin_catalog
            .create_domain(domain_request("vault", "Vault", "", &["users/victor"]))
            .await
            .unwrap();
        wait_until_allowed(
            &mut olivia,
            Permission::Alter,
            "domains/sales/dataProducts/orders",
        )
        .await;
        olivia
            .create_grant(grant_request(
                "users/alice",
                "domains/sales",
                &[Permission::Alter],
            ))
            .await
            .unwrap();
        wait_until_allowed(
            &mut alice,
            Permission::Alter,
            "domains/sales/dataProducts/orders",
        )
        .await;

        let domain_update = |name: &str, domain: Domain, paths: &[&str]| UpdateDomainRequest {
            domain: Some(Domain {
                name: name.into(),
                ..domain
            }),
            update_mask: Some(FieldMask {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            }),
        };
        let reader = admin_catalog.clone();
        let current = |domain: &str| {
            let mut client = reader.clone();
            let name = domain.to_string();
            async move {
                client
                    .get_domain(GetDomainRequest { name })
                    .await
                    .unwrap()
                    .into_inner()
            }
        };

        // ALTER changes metadata...
        let sales = current("domains/sales").await;
        alice_catalog
            .update_domain(domain_update(
                "domains/sales",
                Domain {
                    description: "Orders and customers".into(),
                    ..sales.clone()
                },
                &["description"],
            ))
            .await
            .unwrap();
        // ...and a full update (empty mask) that leaves owners and parent as they are...
        let sales = current("domains/sales").await;
        alice_catalog
            .update_domain(domain_update(
                "domains/sales",
                Domain {
                    display_name: "Sales (all)".into(),
                    ..sales.clone()
                },
                &[],
            ))
            .await
            .unwrap();
        // ...but not the owners: adding itself would give it every right.
        let sales = current("domains/sales").await;
        let refused = alice_catalog
            .update_domain(domain_update(
                "domains/sales",
                Domain {
                    owners: vec!["users/olivia".into(), "users/alice".into()],
                    ..sales.clone()
                },
                &["owners"],
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        assert!(refused.message().contains("MANAGE_GRANTS"), "{refused:?}");
        assert_eq!(current("domains/sales").await.owners, ["users/olivia"]);
        let refused = set_owners(&mut alice_catalog, PRODUCT, &["users/alice"])
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

        // Nor by importing a contract whose team names it owner of the existing product.
        let contract = "apiVersion: v3.1.0\nkind: DataContract\nid: orders\nversion: 1.0.0\n\
                        status: active\nteam:\n  - username: alice\n    role: owner\n";
        let refused = alice_catalog
            .import_data_contract(ImportDataContractRequest {
                parent: "domains/sales".into(),
                contract_yaml: contract.into(),
                data_product_id: "orders".into(),
                validate_only: false,
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        assert!(refused.message().contains("MANAGE_GRANTS"), "{refused:?}");
        let product = reader
            .clone()
            .get_data_product(GetDataProductRequest {
                name: PRODUCT.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!product.owners.contains(&"users/alice".to_string()));

        // Moving: not under a domain where it may not create, not to the admins' root.
        let eu = current("domains/eu").await;
        for (parent, expected) in [
            ("domains/vault", "ALTER on domains/vault"),
            ("", "only administrators"),
        ] {
            let refused = alice_catalog
                .update_domain(domain_update(
                    "domains/eu",
                    Domain {
                        parent_domain: parent.into(),
                        ..eu.clone()
                    },
                    &["parent_domain"],
                ))
                .await
                .unwrap_err();
            assert_eq!(
                refused.code(),
                Code::PermissionDenied,
                "{parent}: {refused:?}"
            );
            assert!(refused.message().contains(expected), "{refused:?}");
        }
        assert_eq!(current("domains/eu").await.parent_domain, "domains/sales");

        // The owner (who holds MANAGE_GRANTS) changes owners; an administrator moves to the root.
        let sales = current("domains/sales").await;
        olivia_catalog
            .update_domain(domain_update(
                "domains/sales",
                Domain {
                    owners: vec!["users/olivia".into(), "users/oscar".into()],
                    ..sales
                },
                &["owners"],
            ))
            .await
            .unwrap();
        admin_catalog
            .update_domain(domain_update(
                "domains/eu",
                Domain {
                    parent_domain: String::new(),
                    ..current("domains/eu").await
                },
                &["parent_domain"],
            ))
            .await
            .unwrap();
        assert_eq!(current("domains/eu").await.parent_domain, "");
    });
}

#[tokio::test]
async fn each_project_role_gets_exactly_what_its_name_promises() {
    on_every_backend!(|suite| {
        let mut admin_catalog = catalog(&suite, &suite.admin_token());
        let mut admin = governance(&suite, &suite.admin_token());
        register_catalog(&mut admin_catalog).await;
        let roles = [
            ("users/owner", ProjectRole::Owner),
            ("users/contributor", ProjectRole::Contributor),
            ("users/consumer", ProjectRole::Consumer),
            ("users/viewer", ProjectRole::Viewer),
        ];
        admin
            .create_project(CreateProjectRequest {
                project_id: "team".into(),
                project: Some(Project {
                    display_name: "Team".into(),
                    members: roles
                        .iter()
                        .map(|(principal, role)| ProjectMember {
                            principal: principal.to_string(),
                            role: *role as i32,
                        })
                        .collect(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        // The project owns the product (set by an administrator).
        set_owners(&mut admin_catalog, PRODUCT, &["projects/team"])
            .await
            .unwrap();
        let mut owner = governance(&suite, &suite.token("users/owner", &[]));
        wait_until_allowed(&mut owner, Permission::Drop, ASSET).await;

        use Permission::*;
        let expected: [(&str, &[Permission]); 4] = [
            (
                "users/owner",
                &[Describe, Select, Alter, Drop, ManageGrants],
            ),
            ("users/contributor", &[Describe, Select, Alter]),
            ("users/consumer", &[Describe, Select]),
            ("users/viewer", &[Describe]),
        ];
        for (who, rights) in expected {
            let mut client = governance(&suite, &suite.token(who, &[]));
            for permission in [Describe, Select, Alter, Drop, ManageGrants] {
                let decision = decide(&mut client, permission, ASSET).await;
                assert_eq!(
                    decision.allowed,
                    rights.contains(&permission),
                    "{who} {permission:?}: {}",
                    decision.reason
                );
            }
            // Granting itself MANAGE_GRANTS: only the project's OWNER may grant for it.
            let granted = client
                .create_grant(grant_request(who, ASSET, &[ManageGrants]))
                .await;
            assert_eq!(granted.is_ok(), who == "users/owner", "{who}: {granted:?}");
            // Changing the product's metadata: OWNER and CONTRIBUTOR (ALTER), not the others.
            let mut client_catalog = catalog(&suite, &suite.token(who, &[]));
            let updated = client_catalog
                .update_data_product(UpdateDataProductRequest {
                    data_product: Some(DataProduct {
                        name: PRODUCT.into(),
                        description: format!("described by {who}"),
                        ..Default::default()
                    }),
                    update_mask: Some(FieldMask {
                        paths: vec!["description".into()],
                    }),
                })
                .await;
            assert_eq!(
                updated.is_ok(),
                rights.contains(&Alter),
                "{who}: {updated:?}"
            );
        }
    });
}

#[tokio::test]
async fn the_data_directory_and_its_databases_are_private_to_their_owner() {
    let suite = TestSuite::start(Backend::Sqlite)
        .await
        .expect("suite starts");
    let mut databases = 0;
    for entry in std::fs::read_dir(suite.data_dir()).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.file_type().unwrap().is_dir() {
            assert_eq!(mode & 0o077, 0, "{name} is {mode:o}");
        } else {
            databases += usize::from(name.contains(".db") || name.contains(".sqlite"));
            assert_eq!(mode, 0o600, "{name} is {mode:o}");
        }
    }
    assert!(
        databases >= 4,
        "the suite's SQLite files are in its data dir"
    );
    suite.stop().await.expect("suite stops cleanly");
}

#[tokio::test]
async fn owners_and_grantees_exist_and_a_project_that_owns_is_not_deleted() {
    on_every_backend!(|suite| {
        let mut admin_catalog = catalog(&suite, &suite.admin_token());
        let mut olivia = governance(&suite, &suite.token("users/olivia", &[]));
        let mut olivia_catalog = catalog(&suite, &suite.token("users/olivia", &[]));
        let mut bob = governance(&suite, &suite.token("users/bob", &[]));
        register_catalog(&mut admin_catalog).await;
        wait_until_allowed(&mut olivia, Permission::Select, ASSET).await;

        // A project that does not exist (yet) can own nothing and be granted nothing: whoever
        // created it later would hold those rights.
        let mut ghost_owned = product_request("domains/sales", "ghost", "Ghost");
        ghost_owned.data_product.as_mut().unwrap().owners =
            vec!["users/olivia".into(), "projects/ghost".into()];
        let refused = olivia_catalog
            .create_data_product(ghost_owned)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert_eq!(bad_fields(&refused), ["data_product.owners[1]"]);
        let refused = olivia
            .create_grant(grant_request(
                "projects/ghost",
                ASSET,
                &[Permission::Select],
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert_eq!(bad_fields(&refused), ["grant.principal"]);

        // Once it exists, it may own; while it owns, it can not be deleted.
        bob.create_project(CreateProjectRequest {
            project_id: "ghost".into(),
            project: Some(Project {
                display_name: "Ghost".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
        let mut owned = product_request("domains/sales", "ghost", "Ghost");
        owned.data_product.as_mut().unwrap().owners = vec!["projects/ghost".into()];
        olivia_catalog.create_data_product(owned).await.unwrap();
        let product = "domains/sales/dataProducts/ghost";
        wait_until_allowed(&mut bob, Permission::Alter, product).await;
        let refused = bob
            .delete_project(DeleteProjectRequest {
                name: "projects/ghost".into(),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        assert_eq!(
            weft_tests::precondition_violations(&refused),
            [("OWNS_RESOURCES".to_string(), product.to_string())]
        );
        // Given other owners, it goes.
        set_owners(&mut olivia_catalog, product, &["users/olivia"])
            .await
            .unwrap();
        let mut deleted = false;
        for _ in 0..100 {
            match bob
                .delete_project(DeleteProjectRequest {
                    name: "projects/ghost".into(),
                    etag: String::new(),
                })
                .await
            {
                Ok(_) => {
                    deleted = true;
                    break;
                }
                Err(status) if status.code() == Code::FailedPrecondition => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(status) => panic!("{status:?}"),
            }
        }
        assert!(deleted, "the project is deleted once it owns nothing");
    });
}

#[tokio::test]
async fn a_flood_is_shed_with_resource_exhausted_while_health_still_answers() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    use weft_proto::weft::catalog::v1::SearchRequest;
    use weft_runtime::ServiceKind;

    // The gateway takes 4 calls at once; 32 callers send 20 searches each, as fast as they can.
    const LIMIT: usize = 4;
    const CALLERS: usize = 32;
    const CALLS: usize = 20;
    let suite = TestSuite::start_with(Backend::Sqlite, |kind, config| {
        if kind == ServiceKind::Gateway {
            config.max_concurrent_requests = LIMIT;
        }
    })
    .await
    .expect("suite starts");
    let mut admin_catalog = catalog(&suite, &suite.admin_token());
    register_catalog(&mut admin_catalog).await;

    let flood = (0..CALLERS).map(|caller| {
        let mut client = catalog(&suite, &suite.token(&format!("users/u{caller}"), &[]));
        tokio::spawn(async move {
            let mut codes = Vec::with_capacity(CALLS);
            for _ in 0..CALLS {
                let answer = client
                    .search(SearchRequest {
                        query: "lines".into(),
                        ..Default::default()
                    })
                    .await;
                codes.push(
                    answer
                        .map(|_| Code::Ok)
                        .unwrap_or_else(|status| status.code()),
                );
            }
            codes
        })
    });
    // The suite runs in this process: its resident memory is the services'.
    let resident = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|kb| kb.trim().trim_end_matches(" kB").parse::<u64>().ok())
            .expect("VmRSS")
            * 1024
    };
    let before = resident();
    let mut peak = before;
    let flood: Vec<_> = flood.collect();
    // Health answers SERVING all along.
    let mut health = HealthClient::new(suite.gateway_channel());
    let mut health_answers = 0;
    while !flood.iter().all(|task| task.is_finished()) {
        peak = peak.max(resident());
        let status = health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("health answers under load")
            .into_inner()
            .status;
        assert_eq!(status, 1, "SERVING");
        health_answers += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut served = 0;
    let mut shed = 0;
    for task in flood {
        for code in task.await.unwrap() {
            match code {
                Code::Ok => served += 1,
                Code::ResourceExhausted => shed += 1,
                other => panic!("a flooded call got {other:?}"),
            }
        }
    }
    let growth_mib = peak.saturating_sub(before) / (1 << 20);
    eprintln!(
        "served {served}, shed {shed}, health answered {health_answers} times; resident memory \
         {} MiB before, peak {} MiB (+{growth_mib} MiB)",
        before >> 20,
        peak >> 20
    );
    // What is refused is refused at once, not queued: memory follows the concurrency limit,
    // not the flood (a queue of 640 searches and their answers would show here).
    assert!(
        growth_mib < 128,
        "memory grew {growth_mib} MiB under the flood"
    );
    assert!(shed > 0, "beyond the limit calls are refused at once");
    assert!(served > 0, "within it they are served");
    assert!(health_answers > 0);
    // And afterwards everything answers again.
    admin_catalog
        .search(SearchRequest {
            query: "lines".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    suite.stop().await.expect("suite stops cleanly");
}
