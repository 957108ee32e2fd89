//! Catalog search through the gateway, on SQLite and PostgreSQL: ranked full text with typo
//! tolerance, filters (domain with sub-domains, type, kind, tag, owner, term, state), facet
//! counts, pagination, and bad requests.

use std::time::{Duration, Instant};

use tonic::Code;
use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, Column, CreateAssetRequest, CreateDataProductRequest, CreateDomainRequest,
    DataProduct, Domain, Location, Schema, SearchRequest, SearchResponse, SearchResultType,
};
use weft_proto::weft::common::v1::{DataFilter, Permission, Tag};
use weft_proto::weft::governance::v1::{
    CreateGrantRequest, CreatePolicyRequest, Grant, Policy, TagClause, TagExpression, grant,
};
use weft_tests::{Catalog, bad_fields, catalog, declare_tag_keys, on_every_backend};

async fn domain(client: &mut Catalog, id: &str, name: &str, parent: &str) {
    client
        .create_domain(CreateDomainRequest {
            domain_id: id.into(),
            domain: Some(Domain {
                display_name: name.into(),
                description: format!("Everything about {name}."),
                parent_domain: parent.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
}

async fn product(client: &mut Catalog, domain: &str, id: &str, name: &str, description: &str) {
    client
        .create_data_product(CreateDataProductRequest {
            parent: domain.into(),
            data_product_id: id.into(),
            data_product: Some(DataProduct {
                display_name: name.into(),
                description: description.into(),
                owners: vec!["users/alice".into()],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
}

async fn asset(
    client: &mut Catalog,
    product: &str,
    id: &str,
    description: &str,
    columns: Vec<Column>,
) {
    client
        .create_asset(CreateAssetRequest {
            parent: product.into(),
            asset_id: id.into(),
            asset: Some(Asset {
                kind: AssetKind::Table as i32,
                location: Some(Location {
                    namespace: "postgres://db:5432".into(),
                    name: format!("shop.public.{id}"),
                }),
                description: description.into(),
                schema: Some(Schema { columns }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
}

fn column(name: &str, description: &str, tags: Vec<Tag>) -> Column {
    Column {
        name: name.into(),
        r#type: "string".into(),
        nullable: true,
        description: description.into(),
        tags,
        ..Default::default()
    }
}

/// Search is eventually consistent with writes: retry until `accept` holds (or fail after 10 s).
async fn search_until(
    client: &mut Catalog,
    request: SearchRequest,
    accept: impl Fn(&SearchResponse) -> bool,
) -> SearchResponse {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = client.search(request.clone()).await.unwrap().into_inner();
        if accept(&response) {
            return response;
        }
        assert!(
            Instant::now() < deadline,
            "search never satisfied the test: {request:?} -> {response:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn names(response: &SearchResponse) -> Vec<&str> {
    response.results.iter().map(|r| r.name.as_str()).collect()
}

#[tokio::test]
async fn search_ranks_tolerates_typos_filters_and_counts_facets() {
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        declare_tag_keys(&mut client, &[("pii", &["email", "phone"])]).await;
        domain(&mut client, "sales", "Sales", "").await;
        domain(&mut client, "sales-eu", "Sales Europe", "domains/sales").await;
        domain(&mut client, "finance", "Finance", "").await;
        product(
            &mut client,
            "domains/sales-eu",
            "orders",
            "Web shop orders",
            "Every order placed in the web shop, one row per order line.",
        )
        .await;
        product(
            &mut client,
            "domains/finance",
            "invoices",
            "Invoices",
            "Invoices sent to customers, with payment status.",
        )
        .await;
        let orders = "domains/sales-eu/dataProducts/orders";
        asset(
            &mut client,
            orders,
            "order-lines",
            "Order lines with quantities and prices.",
            vec![
                column(
                    "customer_email",
                    "E-mail address of the customer who ordered.",
                    vec![Tag {
                        key: "pii".into(),
                        value: "email".into(),
                    }],
                ),
                column("shipping_city", "City the order ships to.", vec![]),
            ],
        )
        .await;
        asset(
            &mut client,
            "domains/finance/dataProducts/invoices",
            "invoice-items",
            "Invoice items billed.",
            vec![column("amount", "Amount billed.", vec![])],
        )
        .await;

        // Ranked full text: the asset about orders comes first for "order lines".
        let response = search_until(
            &mut client,
            SearchRequest {
                query: "order lines".into(),
                ..Default::default()
            },
            // Wait for the asset itself: the product can be indexed a moment before it.
            |r| {
                r.results
                    .iter()
                    .any(|x| x.name.ends_with("/assets/order-lines"))
            },
        )
        .await;
        assert_eq!(
            response.results[0].name,
            format!("{orders}/assets/order-lines"),
            "{response:?}"
        );
        assert!(
            response
                .results
                .windows(2)
                .all(|w| w[0].score >= w[1].score)
        );

        // A misspelled word still finds it.
        let typo = search_until(
            &mut client,
            SearchRequest {
                query: "ordr linse".into(),
                ..Default::default()
            },
            |r| names(r).contains(&format!("{orders}/assets/order-lines").as_str()),
        )
        .await;
        assert!(typo.total_size >= 1);

        // One word alone (its page collected apart from its count): the column named "amount"
        // ranks above the asset that only lists it among its columns; both are counted.
        let amount = search_until(
            &mut client,
            SearchRequest {
                query: "amount".into(),
                ..Default::default()
            },
            |r| r.total_size == 2,
        )
        .await;
        assert_eq!(
            names(&amount),
            [
                "domains/finance/dataProducts/invoices/assets/invoice-items#amount",
                "domains/finance/dataProducts/invoices/assets/invoice-items"
            ]
        );

        // Columns are found, with their tags as filters and facets.
        let emails = search_until(
            &mut client,
            SearchRequest {
                query: "emial".into(),
                tags: vec!["pii=email".into()],
                facets: vec!["type".into(), "tag".into()],
                ..Default::default()
            },
            |r| r.total_size == 1,
        )
        .await;
        assert_eq!(
            emails.results[0].name,
            format!("{orders}/assets/order-lines#customer_email")
        );
        assert_eq!(emails.results[0].r#type(), SearchResultType::Column);
        assert_eq!(emails.results[0].data_product, orders);
        assert!(
            emails.results[0].snippet.contains("<b>"),
            "{:?}",
            emails.results[0].snippet
        );
        let type_facet = &emails.facets[0];
        assert_eq!(
            (
                type_facet.values[0].value.as_str(),
                type_facet.values[0].count
            ),
            ("column", 1)
        );

        // The domain filter covers sub-domains; facets count every match, not just the page.
        let sales = search_until(
            &mut client,
            SearchRequest {
                domain: "domains/sales".into(),
                facets: vec!["domain".into(), "type".into()],
                page_size: 2,
                ..Default::default()
            },
            |r| r.total_size == 6,
        )
        .await;
        assert_eq!(sales.results.len(), 2);
        let domain_facet: Vec<(&str, i64)> = sales.facets[0]
            .values
            .iter()
            .map(|v| (v.value.as_str(), v.count))
            .collect();
        assert_eq!(
            domain_facet,
            [("domains/sales-eu", 5), ("domains/sales", 1)]
        );

        // Pages: stable, no duplicates, the whole result set.
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = client
                .search(SearchRequest {
                    domain: "domains/sales".into(),
                    page_size: 2,
                    page_token: token.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            seen.extend(page.results.into_iter().map(|r| r.name));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(seen.len(), 6);
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 6, "{seen:?}");

        // The finance asset was never waited for above: it may be indexed a moment later.
        let only_assets = search_until(
            &mut client,
            SearchRequest {
                types: vec![SearchResultType::Asset as i32],
                facets: vec!["owner".into()],
                ..Default::default()
            },
            |r| r.total_size == 2,
        )
        .await;
        assert!(
            only_assets
                .results
                .iter()
                .all(|r| r.r#type() == SearchResultType::Asset),
            "{only_assets:?}"
        );
        let products = search_until(
            &mut client,
            SearchRequest {
                owner: "users/alice".into(),
                ..Default::default()
            },
            |r| r.total_size == 2,
        )
        .await;
        assert!(
            products
                .results
                .iter()
                .all(|r| r.r#type() == SearchResultType::DataProduct),
            "{products:?}"
        );

        // Bad requests name their field.
        for (request, field) in [
            (
                SearchRequest {
                    facets: vec!["colour".into()],
                    ..Default::default()
                },
                "facets",
            ),
            (
                SearchRequest {
                    domain: "sales".into(),
                    ..Default::default()
                },
                "domain",
            ),
            (
                SearchRequest {
                    page_size: -1,
                    ..Default::default()
                },
                "page_size",
            ),
            (
                SearchRequest {
                    page_token: "nope".into(),
                    ..Default::default()
                },
                "page_token",
            ),
            (
                SearchRequest {
                    types: vec![42],
                    ..Default::default()
                },
                "types[0]",
            ),
        ] {
            let error = client.search(request).await.unwrap_err();
            assert_eq!(error.code(), Code::InvalidArgument);
            assert_eq!(bad_fields(&error), [field]);
        }
    });
}

/// A product with `owners` in `domain`, described with `description`.
async fn owned_product(
    client: &mut Catalog,
    domain: &str,
    id: &str,
    description: &str,
    owners: &[&str],
) {
    client
        .create_data_product(CreateDataProductRequest {
            parent: domain.into(),
            data_product_id: id.into(),
            data_product: Some(DataProduct {
                display_name: id.into(),
                description: description.into(),
                owners: owners.iter().map(|o| o.to_string()).collect(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
}

fn type_counts(response: &SearchResponse) -> Vec<(String, i64)> {
    response
        .facets
        .iter()
        .filter(|facet| facet.name == "type")
        .flat_map(|facet| facet.values.iter().map(|v| (v.value.clone(), v.count)))
        .collect()
}

/// A caller learns nothing of what it may not DESCRIBE, not even its count. Each
/// caller's `total_size` and facets count exactly what it may see, whichever way it may see it
/// (the marketplace, ownership, a grant on a product, a column-restricted grant, a tag-based
/// grant: the last is checked match by match).
#[tokio::test]
async fn search_counts_and_facets_only_what_the_caller_may_see() {
    on_every_backend!(|suite| {
        weft_tests::disable_default_rules(&suite).await;
        let mut admin = catalog(&suite, &suite.admin_token());
        let mut admin_governance = weft_tests::governance(&suite, &suite.admin_token());
        declare_tag_keys(&mut admin, &[("tier", &["gold"])]).await;
        admin
            .create_domain(weft_tests::domain_request(
                "vault",
                "Vault",
                "",
                &["users/victor"],
            ))
            .await
            .unwrap();
        let vault = "domains/vault";
        owned_product(
            &mut admin,
            vault,
            "secret",
            "zebra secret",
            &["users/olivia"],
        )
        .await;
        owned_product(&mut admin, vault, "shared", "zebra shared", &[]).await;
        owned_product(&mut admin, vault, "open", "zebra open", &[]).await;
        let secret = "domains/vault/dataProducts/secret";
        let shared = "domains/vault/dataProducts/shared";
        let open = "domains/vault/dataProducts/open";
        asset(&mut admin, secret, "ledger", "zebra ledger", vec![]).await;
        let gold = Tag {
            key: "tier".into(),
            value: "gold".into(),
        };
        asset(
            &mut admin,
            shared,
            "payouts",
            "zebra payouts",
            vec![
                column("amount", "Paid amount.", vec![]),
                column("iban", "Account paid.", vec![gold]),
            ],
        )
        .await;
        asset(&mut admin, open, "menu", "zebra menu", vec![]).await;
        admin
            .publish_data_product(weft_proto::weft::catalog::v1::PublishDataProductRequest {
                name: open.into(),
                etag: String::new(),
            })
            .await
            .unwrap();
        let payouts = format!("{shared}/assets/payouts");
        let grant = |principal: &str, target: grant::Target, filter: Option<DataFilter>| {
            CreateGrantRequest {
                grant: Some(Grant {
                    principal: principal.into(),
                    target: Some(target),
                    permissions: vec![Permission::Select as i32],
                    data_filter: filter,
                    ..Default::default()
                }),
                request_id: String::new(),
            }
        };
        for request in [
            grant("users/carol", grant::Target::Resource(shared.into()), None),
            grant(
                "users/dave",
                grant::Target::Resource(payouts.clone()),
                Some(DataFilter {
                    include_columns: vec!["amount".into()],
                    ..Default::default()
                }),
            ),
            grant(
                "users/erin",
                grant::Target::TagExpression(TagExpression {
                    clauses: vec![TagClause {
                        key: "tier".into(),
                        values: vec!["gold".into()],
                    }],
                }),
                None,
            ),
        ] {
            admin_governance.create_grant(request).await.unwrap();
        }

        let zebra = SearchRequest {
            query: "zebra".into(),
            facets: vec!["type".into(), "owner".into()],
            ..Default::default()
        };
        let everything = search_until(&mut admin, zebra.clone(), |r| r.total_size == 6).await;
        assert!(
            everything
                .facets
                .iter()
                .any(|f| f.name == "owner" && f.values.iter().any(|v| v.value == "users/olivia"))
        );
        let menu = format!("{open}/assets/menu");
        let ledger = format!("{secret}/assets/ledger");
        let cases: [(&str, Vec<&str>); 6] = [
            // The marketplace only.
            ("users/bob", vec![open, &menu]),
            // ... and what it owns.
            ("users/olivia", vec![open, secret, &menu, &ledger]),
            // ... and a product granted, with its asset.
            ("users/carol", vec![open, shared, &menu, &payouts]),
            // ... and an asset granted for some columns (not its product).
            ("users/dave", vec![open, &menu, &payouts]),
            // ... and what a tag-based grant matches (through a column's tag).
            ("users/erin", vec![open, &menu, &payouts]),
            // The domain's owner sees everything in it.
            (
                "users/victor",
                vec![open, secret, shared, &menu, &ledger, &payouts],
            ),
        ];
        for (user, expected) in cases {
            let mut client = catalog(&suite, &suite.token(user, &[]));
            let seen = search_until(&mut client, zebra.clone(), |r| {
                r.total_size == expected.len() as i64
            })
            .await;
            let mut found = names(&seen);
            found.sort();
            let mut wanted = expected.clone();
            wanted.sort();
            assert_eq!(found, wanted, "{user}'s hits");
            let products = expected.iter().filter(|n| !n.contains("/assets/")).count() as i64;
            let mut counts = type_counts(&seen);
            counts.sort();
            assert_eq!(
                counts,
                vec![
                    ("asset".to_string(), expected.len() as i64 - products),
                    ("data_product".to_string(), products),
                ],
                "{user}'s type facet"
            );
            if user != "users/olivia" && user != "users/victor" {
                assert!(
                    !seen
                        .facets
                        .iter()
                        .any(|f| f.name == "owner"
                            && f.values.iter().any(|v| v.value == "users/olivia")),
                    "{user} counts a hidden product's owner: {:?}",
                    seen.facets
                );
            }
        }

        // A guardrail that forbids DESCRIBE hides even the marketplace, from hits and counts.
        admin_governance
            .create_policy(CreatePolicyRequest {
                policy_id: "no-open-for-frank".into(),
                policy: Some(Policy {
                    description: "frank does not see the open product".into(),
                    cedar: format!(
                        r#"forbid (principal == Weft::User::"users/frank", action == Weft::Action::"DESCRIBE", resource in Weft::DataProduct::"{open}");"#
                    ),
                    enabled: true,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        let mut frank = catalog(&suite, &suite.token("users/frank", &[]));
        let hidden = search_until(&mut frank, zebra.clone(), |r| r.total_size == 0).await;
        assert!(hidden.results.is_empty() && type_counts(&hidden).is_empty());
        let mut bob = catalog(&suite, &suite.token("users/bob", &[]));
        let still = bob.search(zebra.clone()).await.unwrap().into_inner();
        assert_eq!(still.total_size, 2, "the guardrail names only frank");

        // Columns: a column-restricted grant shows only its columns; a tag-based grant only the
        // tagged one (and the asset, whose words name every column).
        let column_cases = [
            ("users/bob", "iban", vec![]),
            ("users/dave", "iban", vec![payouts.clone()]),
            (
                "users/dave",
                "amount",
                vec![payouts.clone(), format!("{payouts}#amount")],
            ),
            (
                "users/erin",
                "iban",
                vec![payouts.clone(), format!("{payouts}#iban")],
            ),
            ("users/erin", "amount", vec![payouts.clone()]),
        ];
        for (user, word, expected) in column_cases {
            let mut client = catalog(&suite, &suite.token(user, &[]));
            let request = SearchRequest {
                query: word.into(),
                ..Default::default()
            };
            search_until(&mut admin, request.clone(), |r| r.total_size == 2).await;
            let seen = search_until(&mut client, request, |r| {
                r.total_size == expected.len() as i64
            })
            .await;
            let mut found = names(&seen);
            found.sort();
            assert_eq!(found, expected, "{user} searching {word}");
        }
    });
}
