//! Decisions see the caller's own writes across services, on SQLite and PostgreSQL: governance
//! learns of catalog changes from the catalog's event stream, so a call right after a change
//! could be decided on a projection that does not have it yet (refused about one time in ten).
//! Every catalog answer carries `x-weft-catalog-sequence`; the gateway decides the caller's
//! next calls on a projection at least that new, and a client may hand the position to another
//! caller (`x-weft-min-catalog-sequence`), as Zanzibar's zookies.

use tonic::metadata::MetadataValue;
use weft_proto::weft::catalog::v1::{CreateDataProductRequest, DeleteDataProductRequest};
use weft_proto::weft::common::v1::Permission;
use weft_proto::weft::governance::v1::{CreateGrantRequest, Grant, grant};
use weft_runtime::auth::{CATALOG_SEQUENCE_HEADER, MIN_CATALOG_SEQUENCE_HEADER};
use weft_tests::{catalog, decide, domain_request, governance, on_every_backend, product_request};

/// Rounds of create-then-use; each would be refused now and then without the guarantee.
const ROUNDS: usize = 150;

fn owned_product(domain: &str, id: &str, owner: &str) -> CreateDataProductRequest {
    let mut request = product_request(domain, id, id);
    request.data_product.as_mut().unwrap().owners = vec![owner.into()];
    request
}

#[tokio::test]
async fn a_caller_is_decided_on_what_it_just_changed_every_time() {
    on_every_backend!(|suite| {
        let mut admin_catalog = catalog(&suite, &suite.admin_token());
        let mut admin = governance(&suite, &suite.admin_token());
        let mut alice = catalog(&suite, &suite.token("users/alice", &[]));
        let mut alice_governance = governance(&suite, &suite.token("users/alice", &[]));
        admin_catalog
            .create_domain(domain_request("sales", "Sales", "", &["users/olivia"]))
            .await
            .unwrap();
        admin
            .create_grant(CreateGrantRequest {
                grant: Some(Grant {
                    principal: "users/alice".into(),
                    target: Some(grant::Target::Resource("domains/sales".into())),
                    permissions: vec![Permission::Alter as i32],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        for _ in 0..100 {
            if decide(&mut alice_governance, Permission::Alter, "domains/sales")
                .await
                .allowed
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }

        // Alice (ALTER on the domain) creates a product she owns, then drops it at once:
        // DROP comes from owning the new product, which governance must already know.
        for round in 0..ROUNDS {
            let id = format!("p{round}");
            let created = alice
                .create_data_product(owned_product("domains/sales", &id, "users/alice"))
                .await
                .unwrap();
            assert!(
                created.metadata().get(CATALOG_SEQUENCE_HEADER).is_some(),
                "the catalog's answer says where it stands"
            );
            // The public Check (gathered with other callers' at the gateway) too.
            let product = format!("domains/sales/dataProducts/{id}");
            let check = decide(&mut alice_governance, Permission::Select, &product).await;
            assert!(check.allowed, "round {round}: {}", check.reason);
            alice
                .delete_data_product(DeleteDataProductRequest {
                    name: product,
                    etag: String::new(),
                })
                .await
                .unwrap_or_else(|status| panic!("round {round}: {status:?}"));
        }

        // An administrator makes olivia the owner of a new domain; olivia, handed the position
        // of that change, creates a product in it at once.
        let mut olivia = catalog(&suite, &suite.token("users/olivia", &[]));
        for round in 0..ROUNDS / 3 {
            let domain = format!("d{round}");
            let created = admin_catalog
                .create_domain(domain_request(&domain, &domain, "", &["users/olivia"]))
                .await
                .unwrap();
            let position = created
                .metadata()
                .get(CATALOG_SEQUENCE_HEADER)
                .expect("a position")
                .clone();
            let mut request = tonic::Request::new(product_request(
                &format!("domains/{domain}"),
                "first",
                "First",
            ));
            request.metadata_mut().insert(
                MIN_CATALOG_SEQUENCE_HEADER,
                MetadataValue::try_from(position.to_str().unwrap()).unwrap(),
            );
            olivia
                .create_data_product(request)
                .await
                .unwrap_or_else(|status| panic!("round {round}: {status:?}"));
        }
    });
}
