//! The catalog slice through the gateway over real gRPC, on SQLite and PostgreSQL: domains and
//! data products, the AIP conventions and their bad paths.

use prost_types::FieldMask;
use tonic::Code;
use weft_proto::weft::catalog::v1::{
    CreateDataProductRequest, CreateDomainRequest, DataProduct, DeleteDataProductRequest,
    DeleteDomainRequest, Domain, GetDataProductRequest, GetDomainRequest, LifecycleState,
    ListDataProductsRequest, ListDomainsRequest, UpdateDataProductRequest, UpdateDomainRequest,
};
use weft_proto::weft::common::v1::Tag;
use weft_tests::{
    bad_fields, catalog, declare_tag_keys, on_every_backend, precondition_violations,
};

fn domain_request(id: &str, display_name: &str, parent: &str) -> CreateDomainRequest {
    CreateDomainRequest {
        domain_id: id.to_string(),
        domain: Some(Domain {
            display_name: display_name.to_string(),
            parent_domain: parent.to_string(),
            owners: vec!["users/alice".to_string()],
            tags: vec![Tag {
                key: "tier".into(),
                value: "gold".into(),
            }],
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

fn product_request(parent: &str, id: &str) -> CreateDataProductRequest {
    CreateDataProductRequest {
        parent: parent.to_string(),
        data_product_id: id.to_string(),
        data_product: Some(DataProduct {
            display_name: format!("Product {id}"),
            description: "Orders placed on the web shop, one row per order line.".into(),
            owners: vec!["users/bob".to_string()],
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn domains_crud_filters_pages_and_etags() {
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.token("users/alice", &["weft-admins"]));
        declare_tag_keys(&mut client, &[("tier", &["gold", "silver"])]).await;
        let sales = client
            .create_domain(domain_request("sales", "Sales", ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(sales.name, "domains/sales");
        assert!(!sales.uid.is_empty() && !sales.etag.is_empty());
        assert!(sales.create_time.is_some());
        for id in ["sales-eu", "sales-us", "sales-apac"] {
            client
                .create_domain(domain_request(id, id, "domains/sales"))
                .await
                .unwrap();
        }
        let fetched = client
            .get_domain(GetDomainRequest {
                name: "domains/sales".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(fetched, sales);

        // Filter and paginate: three sub-domains, two per page.
        let mut names = Vec::new();
        let mut token = String::new();
        loop {
            let page = client
                .list_domains(ListDomainsRequest {
                    filter: r#"parent_domain = "domains/sales""#.into(),
                    page_size: 2,
                    page_token: token.clone(),
                })
                .await
                .unwrap()
                .into_inner();
            assert!(page.domains.len() <= 2);
            names.extend(page.domains.into_iter().map(|d| d.name));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(
            names,
            ["domains/sales-apac", "domains/sales-eu", "domains/sales-us"]
        );
        let tagged = client
            .list_domains(ListDomainsRequest {
                filter: "tag = tier=gold AND owner = users/alice".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(tagged.domains.len(), 4);
        let bad_filter = client
            .list_domains(ListDomainsRequest {
                filter: "colour = red".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(bad_filter.code(), Code::InvalidArgument);
        assert_eq!(bad_fields(&bad_filter), ["filter"]);

        // Update with a field mask: only the masked field changes, the etag moves on.
        let mut change = sales.clone();
        change.description = "Everything we sell".into();
        change.display_name = "ignored, not in the mask".into();
        let updated = client
            .update_domain(UpdateDomainRequest {
                domain: Some(change.clone()),
                update_mask: Some(FieldMask {
                    paths: vec!["description".into()],
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(updated.description, "Everything we sell");
        assert_eq!(updated.display_name, "Sales");
        assert_ne!(updated.etag, sales.etag);

        // The old etag is stale now.
        let stale = client
            .update_domain(UpdateDomainRequest {
                domain: Some(change),
                update_mask: Some(FieldMask {
                    paths: vec!["description".into()],
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
        let stale_delete = client
            .delete_domain(DeleteDomainRequest {
                name: "domains/sales-eu".into(),
                etag: "999".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(stale_delete.code(), Code::Aborted);

        // A parent cannot become its own descendant.
        let mut cycle = updated.clone();
        cycle.parent_domain = "domains/sales-eu".into();
        let error = client
            .update_domain(UpdateDomainRequest {
                domain: Some(cycle),
                update_mask: Some(FieldMask {
                    paths: vec!["parent_domain".into()],
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&error), ["domain.parent_domain"]);
        let bad_mask = client
            .update_domain(UpdateDomainRequest {
                domain: Some(updated.clone()),
                update_mask: Some(FieldMask {
                    paths: vec!["uid".into()],
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&bad_mask), ["update_mask"]);

        // A domain with sub-domains cannot be deleted; leaves can.
        let not_empty = client
            .delete_domain(DeleteDomainRequest {
                name: "domains/sales".into(),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(not_empty.code(), Code::FailedPrecondition);
        assert_eq!(
            precondition_violations(&not_empty),
            [("HAS_SUB_DOMAINS".to_string(), "domains/sales".to_string())]
        );
        client
            .delete_domain(DeleteDomainRequest {
                name: "domains/sales-eu".into(),
                etag: String::new(),
            })
            .await
            .unwrap();
        let gone = client
            .get_domain(GetDomainRequest {
                name: "domains/sales-eu".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(gone.code(), Code::NotFound);
    });
}

#[tokio::test]
async fn data_products_lifecycle_filters_and_cross_domain_listing() {
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        declare_tag_keys(&mut client, &[("tier", &["gold"]), ("pii", &[])]).await;
        client
            .create_domain(domain_request("sales", "Sales", ""))
            .await
            .unwrap();
        client
            .create_domain(domain_request("finance", "Finance", ""))
            .await
            .unwrap();
        let orders = client
            .create_data_product(product_request("domains/sales", "orders"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(orders.name, "domains/sales/dataProducts/orders");
        assert_eq!(orders.lifecycle_state(), LifecycleState::Draft);
        client
            .create_data_product(product_request("domains/finance", "ledger"))
            .await
            .unwrap();

        let all = client
            .list_data_products(ListDataProductsRequest {
                parent: "domains/-".into(),
                filter: "lifecycle_state = DRAFT AND owner = \"users/bob\"".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(all.data_products.len(), 2);
        let published = client
            .list_data_products(ListDataProductsRequest {
                parent: "domains/-".into(),
                filter: "lifecycle_state = PUBLISHED".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(published.data_products.is_empty());
        let in_sales = client
            .list_data_products(ListDataProductsRequest {
                parent: "domains/sales".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(in_sales.data_products, vec![orders.clone()]);

        // Lifecycle is output only: an update cannot publish.
        let mut change = orders.clone();
        change.lifecycle_state = LifecycleState::Published as i32;
        change.tags = vec![Tag {
            key: "pii".into(),
            value: "none".into(),
        }];
        let updated = client
            .update_data_product(UpdateDataProductRequest {
                data_product: Some(change),
                update_mask: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(updated.lifecycle_state(), LifecycleState::Draft);
        assert_eq!(updated.tags.len(), 1);

        // A domain with products cannot be deleted.
        let error = client
            .delete_domain(DeleteDomainRequest {
                name: "domains/sales".into(),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(precondition_violations(&error)[0].0, "HAS_DATA_PRODUCTS");
        client
            .delete_data_product(DeleteDataProductRequest {
                name: orders.name.clone(),
                etag: updated.etag.clone(),
            })
            .await
            .unwrap();
        let gone = client
            .get_data_product(GetDataProductRequest { name: orders.name })
            .await
            .unwrap_err();
        assert_eq!(gone.code(), Code::NotFound);
        let missing_parent = client
            .create_data_product(product_request("domains/nowhere", "x"))
            .await
            .unwrap_err();
        assert_eq!(missing_parent.code(), Code::NotFound);
    });
}

#[tokio::test]
async fn bad_input_is_invalid_argument_naming_the_field() {
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        declare_tag_keys(&mut client, &[("tier", &["gold"])]).await;
        let cases: Vec<(CreateDomainRequest, Vec<&str>)> = vec![
            (domain_request("Bad_Id", "x", ""), vec!["domain_id"]),
            (domain_request("", "x", ""), vec!["domain_id"]),
            (domain_request("ok", "", ""), vec!["domain.display_name"]),
            (
                domain_request("ok", "x", "not/a/domain"),
                vec!["domain.parent_domain"],
            ),
            (
                domain_request("ok", "x", "domains/missing"),
                vec!["domain.parent_domain"],
            ),
            (
                CreateDomainRequest {
                    domain: None,
                    domain_id: "ok".into(),
                    request_id: String::new(),
                },
                vec!["domain"],
            ),
        ];
        for (request, fields) in cases {
            let error = client.create_domain(request.clone()).await.unwrap_err();
            assert_eq!(error.code(), Code::InvalidArgument, "{request:?}");
            assert_eq!(bad_fields(&error), fields, "{request:?}");
        }
        // Every fault of a request is reported at once.
        let mut many = domain_request("ok", "", "");
        many.domain.as_mut().unwrap().owners = vec!["alice".into()];
        many.domain.as_mut().unwrap().tags = vec![Tag {
            key: "Bad Key".into(),
            value: String::new(),
        }];
        let error = client.create_domain(many).await.unwrap_err();
        assert_eq!(
            bad_fields(&error),
            [
                "domain.display_name",
                "domain.owners[0]",
                "domain.tags[0].key"
            ]
        );

        // Oversized field: INVALID_ARGUMENT naming it.
        let mut long = domain_request("long", "Long", "");
        long.domain.as_mut().unwrap().description = "x".repeat(10_001);
        let error = client.create_domain(long).await.unwrap_err();
        assert_eq!(bad_fields(&error), ["domain.description"]);
        // Oversized message: refused by the service before it is decoded.
        let mut huge = domain_request("huge", "Huge", "");
        huge.domain.as_mut().unwrap().description = "x".repeat(5 * 1024 * 1024);
        let error = client.create_domain(huge).await.unwrap_err();
        assert!(
            matches!(error.code(), Code::OutOfRange | Code::ResourceExhausted),
            "{error:?}"
        );
        // Bad names on Get.
        let error = client
            .get_domain(GetDomainRequest {
                name: "domains/Sales".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&error), ["name"]);
        let error = client
            .list_domains(ListDomainsRequest {
                page_token: "forged".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&error), ["page_token"]);
        // Nothing of the refused requests was written.
        let listed = client
            .list_domains(ListDomainsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(listed.domains.is_empty(), "{:?}", listed.domains);
        // Duplicate name.
        client
            .create_domain(domain_request("dup", "Dup", ""))
            .await
            .unwrap();
        let error = client
            .create_domain(domain_request("dup", "Dup again", ""))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::AlreadyExists);
    });
}

#[tokio::test]
async fn the_same_request_id_twice_gives_one_resource_and_the_same_answer() {
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        declare_tag_keys(&mut client, &[("tier", &["gold"])]).await;
        let mut request = domain_request("retail", "Retail", "");
        request.request_id = uuid::Uuid::new_v4().to_string();
        let first = client
            .create_domain(request.clone())
            .await
            .unwrap()
            .into_inner();
        let second = client
            .create_domain(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first, second);
        // Concurrent retries too.
        let mut product = product_request("domains/retail", "baskets");
        product.request_id = uuid::Uuid::new_v4().to_string();
        let attempts = (0..4).map(|_| {
            let mut client = client.clone();
            let product = product.clone();
            tokio::spawn(async move {
                client
                    .create_data_product(product)
                    .await
                    .map(|r| r.into_inner().uid)
            })
        });
        let uids: Vec<String> = futures::future::join_all(attempts)
            .await
            .into_iter()
            .map(|r| r.unwrap().expect("every retry succeeds"))
            .collect();
        assert!(uids.iter().all(|uid| *uid == uids[0]), "{uids:?}");
        // The same id with another request is refused.
        request.domain.as_mut().unwrap().display_name = "Something else".into();
        let error = client.create_domain(request).await.unwrap_err();
        assert_eq!(bad_fields(&error), ["request_id"]);
        let mut not_uuid = domain_request("other", "Other", "");
        not_uuid.request_id = "abc".into();
        assert_eq!(
            bad_fields(&client.create_domain(not_uuid).await.unwrap_err()),
            ["request_id"]
        );
        let listed = client
            .list_domains(ListDomainsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.domains.len(), 1);
    });
}
