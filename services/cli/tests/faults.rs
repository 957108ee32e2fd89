//! A service killed at any point (SIGKILL) loses nothing it acknowledged, and
//! cross-service flows complete after it restarts, with nothing doubled. `weft up` runs the five
//! services as processes and restarts one that dies; while a scripted workload publishes
//! products, requests and approves subscriptions, grants and revokes and sends lineage, a killer
//! SIGKILLs the services in turn at random moments. A client retries what it did not see
//! acknowledged with the same idempotency key, as a real client does. Afterwards every
//! acknowledged write is there exactly once, every projection (governance's decisions, the search
//! index, lineage's catalog links) followed every change once, no grant is doubled, and every
//! service's audit chain verifies.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Catalog, Governance, Lineage, WEFT, WeftUp, service_pid};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rand::Rng;
use rand::seq::SliceRandom;
use tonic::{Code, Status};
use weft_proto::weft::catalog::v1::*;
use weft_proto::weft::common::v1::Permission;
use weft_proto::weft::governance::v1::*;
use weft_proto::weft::lineage::v1::{GetDatasetRequest, IngestEventRequest, ListRunsRequest};

/// Rounds of the workload at least (each: a product with an asset published, a subscription
/// requested and approved, a grant made and every other one revoked, a lineage run sent); there
/// is one round per kill when the kills are more.
const ROUNDS: usize = 8;
/// Times each service is killed.
const CYCLES: usize = 2;
const SERVICES: [&str; 5] = [
    "catalog",
    "governance",
    "provisioning",
    "lineage",
    "gateway",
];
const DOMAIN: &str = "domains/shop";
const PROJECT: &str = "projects/analytics";
/// Longest a step waits for the suite to come back (a service restarted twice in a row waits
/// 1 + 2 s for `weft up`'s backoff, then for its start).
const STEP_DEADLINE: Duration = Duration::from_secs(90);
/// Longest one call may take before it is given up and retried.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// What a dead or restarting service looks like to a client: the call may or may not have been
/// done, so it is sent again (with the same idempotency key).
const UNREACHABLE: [Code; 6] = [
    Code::Unavailable,
    Code::Unknown,
    Code::Cancelled,
    Code::DeadlineExceeded,
    Code::ResourceExhausted,
    Code::Internal,
];

struct Clients {
    admin_catalog: Catalog,
    olivia_catalog: Catalog,
    admin: Governance,
    olivia: Governance,
    ana: Governance,
    bob: Governance,
    pipeline: Lineage,
}

/// Calls `call` until it answers, retrying while the suite is unreachable and on `also` (a
/// projection that has not caught up yet); any other error fails the test.
async fn until_answered<T, F, Fut>(what: &str, also: &[Code], mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    let deadline = Instant::now() + STEP_DEADLINE;
    loop {
        match call().await {
            Ok(response) => return Ok(response.into_inner()),
            Err(status)
                if (UNREACHABLE.contains(&status.code()) || also.contains(&status.code()))
                    && Instant::now() < deadline =>
            {
                eprintln!("{what}: {:?} {}; again", status.code(), status.message());
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => return Err(status),
        }
    }
}

fn timed<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(CALL_TIMEOUT);
    request
}

/// The services to kill, one per round: each `CYCLES` times, in a new random order each cycle.
fn kill_order() -> Vec<&'static str> {
    let mut order = Vec::new();
    for _ in 0..CYCLES {
        let mut cycle = SERVICES.to_vec();
        cycle.shuffle(&mut rand::rng());
        order.extend(cycle);
    }
    order
}

/// Waits until every service runs (`weft up` restarts one that dies, backing off when it dies
/// again within a minute).
async fn all_running(up: u32) {
    let deadline = Instant::now() + STEP_DEADLINE;
    while SERVICES.iter().any(|s| service_pid(up, s).is_none()) {
        assert!(
            Instant::now() < deadline,
            "weft up did not restart a service"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGKILLs `service` at a random moment of the next 1.5 s (of the round under way).
async fn kill_soon(up: u32, service: &'static str) -> &'static str {
    let pause = rand::rng().random_range(0..1_500);
    tokio::time::sleep(Duration::from_millis(pause)).await;
    let pid = service_pid(up, service).expect("checked running before the round");
    eprintln!("killer: SIGKILL {service} (pid {pid}) after {pause} ms");
    kill(Pid::from_raw(pid), Signal::SIGKILL).expect("SIGKILL");
    service
}

fn product_name(round: usize) -> String {
    format!("{DOMAIN}/dataProducts/p{round}")
}

fn asset_name(round: usize) -> String {
    format!("{}/assets/orders", product_name(round))
}

/// The OpenLineage dataset name of round `round`'s asset.
fn table(round: usize) -> String {
    format!("shop.p{round}.orders")
}

const NAMESPACE: &str = "postgres://db.example:5432";

/// One round of the workload; returns the names of what it created.
async fn round(clients: &mut Clients, round: usize) -> Acknowledged {
    let product = product_name(round);
    let column = |name: &str| Column {
        name: name.into(),
        r#type: "string".into(),
        nullable: true,
        description: format!("The {name}."),
        ..Default::default()
    };
    let create_product = CreateDataProductRequest {
        parent: DOMAIN.into(),
        data_product_id: format!("p{round}"),
        data_product: Some(DataProduct {
            display_name: format!("Orders {round}"),
            description: format!("Orders of shop {round}, one row per order; kiwi{round}."),
            owners: vec!["users/olivia".into()],
            ..Default::default()
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let client = clients.olivia_catalog.clone();
    // PERMISSION_DENIED: a restarted gateway no longer knows olivia's position, and governance
    // may not have projected her domain yet.
    let created = until_answered("create product", &[Code::PermissionDenied], || {
        let mut client = client.clone();
        let request = create_product.clone();
        async move { client.create_data_product(timed(request)).await }
    })
    .await
    .expect("product created");
    let create_asset = CreateAssetRequest {
        parent: product.clone(),
        asset_id: "orders".into(),
        asset: Some(Asset {
            kind: AssetKind::Table as i32,
            description: format!("The orders of shop {round}."),
            location: Some(Location {
                namespace: NAMESPACE.into(),
                name: table(round),
            }),
            schema: Some(Schema {
                columns: vec![column("region"), column("amount")],
            }),
            ..Default::default()
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let asset = until_answered("create asset", &[Code::PermissionDenied], || {
        let mut client = client.clone();
        let request = create_asset.clone();
        async move { client.create_asset(timed(request)).await }
    })
    .await
    .expect("asset created");

    // Publishing again what was published (its answer lost) is refused: then it is published.
    let publish = until_answered("publish", &[Code::PermissionDenied], || {
        let mut client = client.clone();
        let name = product.clone();
        async move {
            client
                .publish_data_product(timed(PublishDataProductRequest {
                    name,
                    etag: String::new(),
                }))
                .await
        }
    })
    .await;
    if let Err(status) = publish {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        let state = until_answered("read product", &[], || {
            let mut client = client.clone();
            let name = product.clone();
            async move {
                client
                    .get_data_product(timed(GetDataProductRequest { name }))
                    .await
            }
        })
        .await
        .expect("product read")
        .lifecycle_state();
        assert_eq!(state, LifecycleState::Published, "{status:?}");
    }

    // The request waits for governance to see the product published.
    let ana = clients.ana.clone();
    let subscribe = CreateSubscriptionRequestRequest {
        subscription_request: Some(SubscriptionRequest {
            project: PROJECT.into(),
            data_product: product.clone(),
            justification: format!("Sales report {round}."),
            ..Default::default()
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let requested = until_answered(
        "request subscription",
        &[Code::NotFound, Code::FailedPrecondition],
        || {
            let mut client = ana.clone();
            let request = subscribe.clone();
            async move { client.create_subscription_request(timed(request)).await }
        },
    )
    .await
    .expect("subscription requested");
    let olivia = clients.olivia.clone();
    let approve = until_answered("approve", &[Code::PermissionDenied], || {
        let mut client = olivia.clone();
        let name = requested.name.clone();
        async move {
            client
                .approve_subscription_request(timed(ApproveSubscriptionRequestRequest {
                    name,
                    ..Default::default()
                }))
                .await
        }
    })
    .await;
    if let Err(status) = approve {
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        let state = until_answered("read request", &[], || {
            let mut client = olivia.clone();
            let name = requested.name.clone();
            async move {
                client
                    .get_subscription_request(timed(GetSubscriptionRequestRequest { name }))
                    .await
            }
        })
        .await
        .expect("request read")
        .state();
        assert_eq!(state, SubscriptionRequestState::Approved, "{status:?}");
    }

    let admin = clients.admin.clone();
    let create_grant = CreateGrantRequest {
        grant: Some(Grant {
            principal: "users/bob".into(),
            target: Some(grant::Target::Resource(asset_name(round))),
            permissions: vec![Permission::Select as i32],
            ..Default::default()
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let granted = until_answered("grant", &[], || {
        let mut client = admin.clone();
        let request = create_grant.clone();
        async move { client.create_grant(timed(request)).await }
    })
    .await
    .expect("grant created");
    if round.is_multiple_of(2) {
        let revoked = until_answered("revoke", &[], || {
            let mut client = admin.clone();
            let name = granted.name.clone();
            async move {
                client
                    .revoke_grant(timed(RevokeGrantRequest {
                        name,
                        etag: String::new(),
                    }))
                    .await
            }
        })
        .await;
        if let Err(status) = revoked {
            assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        }
    }

    let run_id = uuid::Uuid::now_v7().to_string();
    let event = serde_json::json!({
        "eventType": "COMPLETE",
        "eventTime": "2026-12-03T10:00:00Z",
        "producer": "https://weft.test/faults",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id},
        "job": {"namespace": "etl", "name": format!("load{round}")},
        "inputs": [{"namespace": NAMESPACE, "name": table(round)}],
        "outputs": [{"namespace": "warehouse", "name": format!("report{round}")}],
    })
    .to_string();
    let pipeline = clients.pipeline.clone();
    until_answered("lineage", &[], || {
        let mut client = pipeline.clone();
        let event_json = event.clone();
        async move {
            client
                .ingest_event(timed(IngestEventRequest { event_json }))
                .await
        }
    })
    .await
    .expect("lineage ingested");

    Acknowledged {
        product: created.name,
        asset: asset.name,
        subscription_request: requested.name,
        grant: granted.name,
        run_id,
    }
}

struct Acknowledged {
    product: String,
    asset: String,
    subscription_request: String,
    grant: String,
    run_id: String,
}

/// Waits until `check` holds (a projection catching up), failing with `what` after a while.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, Status>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let outcome = check().await;
        if matches!(outcome, Ok(true)) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {outcome:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn may_select(client: &Governance, resource: &str) -> Result<bool, Status> {
    let decision = client
        .clone()
        .check(timed(CheckRequest {
            query: Some(AccessQuery {
                principal: String::new(),
                permission: Permission::Select as i32,
                resource: resource.into(),
            }),
        }))
        .await?
        .into_inner()
        .decision
        .unwrap_or_default();
    Ok(decision.allowed)
}

#[tokio::test(flavor = "multi_thread")]
async fn services_killed_mid_workload_lose_nothing_and_double_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let suite = WeftUp::start(&data_dir).await;
    let up_pid = suite.pid();
    let admin = ("users/admin", &["weft-admins"][..]);
    let mut clients = Clients {
        admin_catalog: suite.catalog(admin.0, admin.1),
        olivia_catalog: suite.catalog("users/olivia", &[]),
        admin: suite.governance(admin.0, admin.1),
        olivia: suite.governance("users/olivia", &[]),
        ana: suite.governance("users/ana", &[]),
        bob: suite.governance("users/bob", &[]),
        pipeline: suite.lineage("serviceAccounts/etl", &["weft-lineage-producers"]),
    };

    // Before the faults: the domain (olivia's) and ana's project.
    clients
        .admin_catalog
        .create_domain(CreateDomainRequest {
            domain_id: "shop".into(),
            domain: Some(Domain {
                display_name: "Shop".into(),
                owners: vec!["users/olivia".into()],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    clients
        .ana
        .create_project(CreateProjectRequest {
            project_id: "analytics".into(),
            project: Some(Project {
                display_name: "Analytics".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();

    // One kill at a random moment of each of the first rounds.
    let order = kill_order();
    let mut acknowledged = Vec::new();
    let mut killed = Vec::new();
    for number in 0..order.len().max(ROUNDS) {
        let killing = match order.get(number) {
            Some(service) => {
                all_running(up_pid).await;
                Some(tokio::spawn(kill_soon(up_pid, service)))
            }
            None => None,
        };
        acknowledged.push(round(&mut clients, number).await);
        eprintln!("round {number} acknowledged");
        if let Some(killing) = killing {
            killed.push(killing.await.unwrap());
        }
    }
    assert_eq!(killed, order);
    let rounds = acknowledged.len();

    // Every acknowledged product and asset is there once, published.
    let products = until_answered("list products", &[], || {
        let mut client = clients.admin_catalog.clone();
        async move {
            client
                .list_data_products(timed(ListDataProductsRequest {
                    parent: DOMAIN.into(),
                    page_size: 100,
                    ..Default::default()
                }))
                .await
        }
    })
    .await
    .unwrap()
    .data_products;
    let names: Vec<&str> = products.iter().map(|p| p.name.as_str()).collect();
    let expected: Vec<&str> = acknowledged.iter().map(|a| a.product.as_str()).collect();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for product in &products {
        assert_eq!(product.lifecycle_state(), LifecycleState::Published);
    }
    for (number, ack) in acknowledged.iter().enumerate() {
        assert_eq!(ack.product, product_name(number));
        let assets = until_answered("list assets", &[], || {
            let mut client = clients.admin_catalog.clone();
            let parent = ack.product.clone();
            async move {
                client
                    .list_assets(timed(ListAssetsRequest {
                        parent,
                        ..Default::default()
                    }))
                    .await
            }
        })
        .await
        .unwrap()
        .assets;
        let asset_names: Vec<&str> = assets.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(asset_names, [ack.asset.as_str()]);
    }

    // Governance: one request, approved, and one active subscription per round; no grant twice.
    let requests = until_answered("list requests", &[], || {
        let mut client = clients.admin.clone();
        async move {
            client
                .list_subscription_requests(timed(ListSubscriptionRequestsRequest {
                    page_size: 100,
                    ..Default::default()
                }))
                .await
        }
    })
    .await
    .unwrap()
    .subscription_requests;
    let request_names: BTreeSet<&str> = requests.iter().map(|r| r.name.as_str()).collect();
    let acknowledged_requests: BTreeSet<&str> = acknowledged
        .iter()
        .map(|a| a.subscription_request.as_str())
        .collect();
    assert_eq!(requests.len(), rounds, "{requests:#?}");
    assert_eq!(request_names, acknowledged_requests);
    for request in &requests {
        assert_eq!(request.state(), SubscriptionRequestState::Approved);
    }
    let subscriptions = until_answered("list subscriptions", &[], || {
        let mut client = clients.admin.clone();
        async move {
            client
                .list_subscriptions(timed(ListSubscriptionsRequest {
                    page_size: 100,
                    ..Default::default()
                }))
                .await
        }
    })
    .await
    .unwrap()
    .subscriptions;
    assert_eq!(subscriptions.len(), rounds, "{subscriptions:#?}");
    let subscribed: BTreeSet<&str> = subscriptions
        .iter()
        .map(|s| s.data_product.as_str())
        .collect();
    assert_eq!(subscribed, expected.iter().copied().collect());
    let grants = until_answered("list grants", &[], || {
        let mut client = clients.admin.clone();
        async move {
            client
                .list_grants(timed(ListGrantsRequest {
                    page_size: 1000,
                    ..Default::default()
                }))
                .await
        }
    })
    .await
    .unwrap()
    .grants;
    let mut per_target: BTreeMap<(String, String), usize> = BTreeMap::new();
    for grant in grants
        .iter()
        .filter(|g| g.state() == GrantState::Active || g.principal == "users/bob")
    {
        let target = match &grant.target {
            Some(grant::Target::Resource(resource)) => resource.clone(),
            other => format!("{other:?}"),
        };
        *per_target
            .entry((grant.principal.clone(), target))
            .or_default() += 1;
    }
    for ((principal, target), count) in &per_target {
        assert_eq!(*count, 1, "{principal} holds {count} grants on {target}");
    }
    for subscription in &subscriptions {
        assert_eq!(subscription.state(), SubscriptionState::Active);
        assert!(!subscription.assets.is_empty(), "{subscription:?}");
        for fulfilment in &subscription.assets {
            let grant = grants
                .iter()
                .find(|g| g.name == fulfilment.grant)
                .unwrap_or_else(|| panic!("{subscription:?}: its grant is missing"));
            assert_eq!(grant.state(), GrantState::Active);
        }
    }
    for (number, ack) in acknowledged.iter().enumerate() {
        let grant = grants
            .iter()
            .find(|g| g.name == ack.grant)
            .expect("bob's grant");
        let state = if number.is_multiple_of(2) {
            GrantState::Revoked
        } else {
            GrantState::Active
        };
        assert_eq!(grant.state(), state, "round {number}");
    }

    // The projections followed every change: governance decides on the published assets and the
    // grants (ana through her project's subscription; bob where his grant was not revoked)...
    for (number, ack) in acknowledged.iter().enumerate() {
        eventually(&format!("ana reads {}", ack.asset), || {
            may_select(&clients.ana, &ack.asset)
        })
        .await;
        let bob_may = !number.is_multiple_of(2);
        eventually(&format!("bob's access to {}", ack.asset), || async {
            Ok(may_select(&clients.bob, &ack.asset).await? == bob_may)
        })
        .await;
    }
    // ... the search index holds each product once...
    for number in 0..rounds {
        eventually(&format!("search kiwi{number}"), || {
            let mut client = clients.admin_catalog.clone();
            async move {
                let found = client
                    .search(timed(SearchRequest {
                        query: format!("kiwi{number}"),
                        ..Default::default()
                    }))
                    .await?
                    .into_inner();
                Ok(found.total_size == 1 && found.results[0].name == product_name(number))
            }
        })
        .await;
    }
    // ... and lineage holds each run once, its input linked to the catalog's asset.
    for (number, ack) in acknowledged.iter().enumerate() {
        let runs = until_answered("list runs", &[], || {
            let mut client = clients.pipeline.clone();
            async move {
                client
                    .list_runs(timed(ListRunsRequest {
                        job: format!("job:etl:load{number}"),
                        ..Default::default()
                    }))
                    .await
            }
        })
        .await
        .unwrap()
        .runs;
        let run_ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!(run_ids, [ack.run_id.as_str()], "round {number}");
        eventually(&format!("lineage links {}", table(number)), || {
            let mut client = clients.pipeline.clone();
            async move {
                let dataset = client
                    .get_dataset(timed(GetDatasetRequest {
                        id: format!("dataset:{NAMESPACE}:{}", table(number)),
                    }))
                    .await?
                    .into_inner();
                Ok(dataset.asset == asset_name(number))
            }
        })
        .await;
    }

    // Every service's audit chain verifies after all that.
    suite.stop();
    let verify = Command::new(WEFT)
        .args(["audit", "verify"])
        .arg("--data-dir")
        .arg(&data_dir)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{printed}");
    for service in ["catalog", "governance", "lineage"] {
        assert!(
            printed.contains(&format!("{service}: intact")),
            "{service}: {printed}"
        );
    }
}
