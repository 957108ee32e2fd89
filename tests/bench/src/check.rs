//! Governance `Check`, in process: the access index of the governance service with 100k grants
//! (named and tag-based, some with row filters) and 1k Cedar guardrails over a catalog of 10k
//! assets, at 1 and 32 concurrent callers; next to the baseline of the same decisions made by
//! Cedar alone from one flat policy set (every grant and ownership rendered as a Cedar policy,
//! plus the same guardrails), with the agreement of both reported as a sanity check.
//!
//! Through the gateway over gRPC: `check_gateway` (the same generated mesh, loaded by the API).

use std::sync::Arc;
use std::time::{Duration, Instant};

use cedar_policy::{Authorizer, Decision, PolicySet};
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use weft_governance::access::AccessIndex;
use weft_governance::access::guardrails::cedar_request;
use weft_governance::access::nodes::{ColumnIndex, Node, NodeKind};
use weft_governance::domain::row_filter;
use weft_proto::permission_name;
use weft_proto::weft::catalog::v1::Column;
use weft_proto::weft::common::v1::{DataFilter, Permission, RowFilter, Tag};
use weft_proto::weft::governance::v1::{
    Grant, GrantState, Group, Project, ProjectMember, ProjectRole, TagClause, TagExpression, grant,
};
use weft_runtime::Caller;

use crate::report::{Latencies, resident_memory_mib};

#[derive(Args)]
pub struct CheckArgs {
    /// Grants in the index.
    #[arg(long, default_value_t = 100_000)]
    grants: usize,
    /// Guardrail policies (10 per domain, the rest global).
    #[arg(long, default_value_t = 1_000)]
    policies: usize,
    /// Decisions timed per run of Weft's index.
    #[arg(long, default_value_t = 200_000)]
    decisions: usize,
    /// Decisions timed for the Cedar-alone baseline (each evaluates every policy).
    #[arg(long, default_value_t = 200)]
    baseline_decisions: usize,
}

pub(crate) const DOMAINS: usize = 100;
pub(crate) const PRODUCTS_PER_DOMAIN: usize = 10;
pub(crate) const ASSETS_PER_PRODUCT: usize = 10;
pub(crate) const USERS: usize = 10_000;
const GROUPS: usize = 500;
const PROJECTS: usize = 200;
const TIERS: &[&str] = &["gold", "silver", "bronze"];

pub(crate) fn domain_name(d: usize) -> String {
    format!("domains/d{d:03}")
}

pub(crate) fn product_name(d: usize, p: usize) -> String {
    format!("{}/dataProducts/p{p:02}", domain_name(d))
}

pub(crate) fn asset_name(d: usize, p: usize, a: usize) -> String {
    format!("{}/assets/a{a:02}", product_name(d, p))
}

pub(crate) fn columns() -> Vec<Column> {
    let column = |name: &str, data_type: &str, pii: Option<&str>| Column {
        name: name.to_string(),
        r#type: data_type.to_string(),
        tags: pii
            .map(|value| Tag {
                key: "pii".into(),
                value: value.into(),
            })
            .into_iter()
            .collect(),
        ..Default::default()
    };
    vec![
        column("id", "bigint", None),
        column("customer_email", "string", Some("email")),
        column("phone", "string", Some("phone")),
        column("region", "string", None),
        column("amount", "decimal(12,2)", None),
        column("status", "string", None),
        column("created_at", "timestamptz", None),
        column("quantity", "int", None),
        column("country", "string", None),
        column("currency", "string", None),
    ]
}

fn node(
    name: String,
    kind: NodeKind,
    parent: Option<String>,
    owners: Vec<String>,
    tags: Vec<String>,
) -> Node {
    Node {
        name: name.into(),
        kind,
        parent: parent.map(Into::into),
        owners,
        tags,
        lifecycle: if kind == NodeKind::DataProduct {
            "PUBLISHED".into()
        } else {
            String::new()
        },
        column_index: match kind {
            NodeKind::Asset => ColumnIndex::of(&columns()),
            _ => ColumnIndex::default(),
        },
        auto_approve: false,
        approvers: Vec::new(),
    }
}

/// Everything both engines decide from, with the Cedar rendering of grants and ownerships.
struct World {
    index: AccessIndex,
    flat_policies: String,
}

fn principal(rng: &mut StdRng) -> String {
    match rng.random_range(0..10) {
        0..=5 => format!("users/u{:05}", rng.random_range(0..USERS)),
        6..=8 => format!("groups/g{:03}", rng.random_range(0..GROUPS)),
        _ => format!("projects/p{:03}", rng.random_range(0..PROJECTS)),
    }
}

fn cedar_principal(name: &str) -> String {
    let (collection, _) = name.split_once('/').unwrap_or_default();
    let entity = match collection {
        "groups" => "Group",
        "projects" => "Project",
        _ => "User",
    };
    format!("Weft::{entity}::\"{name}\"")
}

fn cedar_resource(name: &str) -> String {
    let entity = if name.contains("/assets/") {
        "Asset"
    } else if name.contains("/dataProducts/") {
        "DataProduct"
    } else {
        "Domain"
    };
    format!("Weft::{entity}::\"{name}\"")
}

/// A guardrail policy: its name, Cedar text, domain scope ("" = global) and the text scoped
/// for the flat baseline set.
pub struct GuardrailSpec {
    pub id: String,
    pub text: String,
    pub domain: String,
    pub scoped: String,
}

/// The generated mesh, the same for the in-process run and the run through the gateway: a
/// domain per entry of `domains` (its owner and tier tag), each with its products and assets;
/// groups, projects, grants (each with its Cedar rendering) and guardrails.
pub struct Spec {
    pub domains: Vec<(String, String)>,
    pub groups: Vec<Group>,
    pub projects: Vec<Project>,
    pub grants: Vec<(Grant, String)>,
    pub guardrails: Vec<GuardrailSpec>,
}

pub fn generate(grants: usize, policies: usize) -> anyhow::Result<Spec> {
    let mut rng = StdRng::seed_from_u64(7);
    let domains = (0..DOMAINS)
        .map(|d| {
            (
                format!("users/u{:05}", rng.random_range(0..USERS)),
                TIERS[d % TIERS.len()].to_string(),
            )
        })
        .collect();
    let groups = (0..GROUPS)
        .map(|g| Group {
            name: format!("groups/g{g:03}"),
            members: (0..40)
                .map(|_| format!("users/u{:05}", rng.random_range(0..USERS)))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
            ..Default::default()
        })
        .collect();
    let projects = (0..PROJECTS)
        .map(|p| Project {
            name: format!("projects/p{p:03}"),
            members: (0..5)
                .map(|i| ProjectMember {
                    principal: format!("groups/g{:03}", (p * 5 + i) % GROUPS),
                    role: ProjectRole::Consumer as i32,
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let schema = ColumnIndex::of(&columns());
    let mut generated = Vec::with_capacity(grants);
    for g in 0..grants {
        let grantee = principal(&mut rng);
        let permission = if rng.random_bool(0.8) {
            Permission::Select
        } else {
            Permission::Describe
        };
        // Any permission implies DESCRIBE in Weft; the rendering says so explicitly.
        let action = match permission {
            Permission::Select => {
                "in [Weft::Action::\"SELECT\", Weft::Action::\"DESCRIBE\"]".to_string()
            }
            other => format!("== Weft::Action::\"{}\"", permission_name(other)),
        };
        let operator = if grantee.starts_with("users/") {
            "=="
        } else {
            "in"
        };
        let (target, data_filter, rendered) = if rng.random_bool(0.8) {
            let d = rng.random_range(0..DOMAINS);
            let p = rng.random_range(0..PRODUCTS_PER_DOMAIN);
            let resource = match rng.random_range(0..20) {
                0 => domain_name(d),
                1..=3 => product_name(d, p),
                _ => asset_name(d, p, rng.random_range(0..ASSETS_PER_PRODUCT)),
            };
            let filter = if resource.contains("/assets/") && rng.random_bool(0.1) {
                let (expr, text) =
                    row_filter::check_text("region = 'EU' AND amount > 100", &schema)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                Some(DataFilter {
                    exclude_columns: vec!["customer_email".into()],
                    row_filter: Some(RowFilter { expr: Some(expr) }),
                    row_filter_text: text,
                    ..Default::default()
                })
            } else {
                None
            };
            let rendered = format!(
                "permit (principal {operator} {}, action {action}, resource in {});\n",
                cedar_principal(&grantee),
                cedar_resource(&resource)
            );
            (grant::Target::Resource(resource), filter, rendered)
        } else {
            let tier = TIERS[rng.random_range(0..TIERS.len())];
            let expression = TagExpression {
                clauses: vec![TagClause {
                    key: "tier".into(),
                    values: vec![tier.into()],
                }],
            };
            let rendered = format!(
                "permit (principal {operator} {}, action {action}, resource) when {{ resource.tags.contains(\"tier={tier}\") }};\n",
                cedar_principal(&grantee),
            );
            (grant::Target::TagExpression(expression), None, rendered)
        };
        generated.push((
            Grant {
                name: format!("grants/g{g:06}"),
                principal: grantee,
                target: Some(target),
                permissions: vec![permission as i32],
                data_filter,
                state: GrantState::Active as i32,
                ..Default::default()
            },
            rendered,
        ));
    }
    // Guardrails: 10 per domain (each forbids SELECT of phone-classified published columns to
    // one group), the rest global.
    let guardrails = (0..policies)
        .map(|i| {
            let group = format!("groups/g{:03}", i % GROUPS);
            let text = format!(
                "forbid (principal in Weft::Group::\"{group}\", action == Weft::Action::\"SELECT\", resource) when {{ resource.classification.contains(\"pii=phone\") && resource.lifecycle == \"PUBLISHED\" }};"
            );
            let domain = if i < DOMAINS * 10 {
                domain_name(i / 10)
            } else {
                String::new()
            };
            let scoped = if domain.is_empty() {
                text.clone()
            } else {
                text.replacen(
                    ", resource)",
                    &format!(", resource in {})", cedar_resource(&domain)),
                    1,
                )
            };
            GuardrailSpec {
                id: format!("p{i:04}"),
                text,
                domain,
                scoped,
            }
        })
        .collect();
    Ok(Spec {
        domains,
        groups,
        projects,
        grants: generated,
        guardrails,
    })
}

fn build(spec: &Spec) -> World {
    let mut index = AccessIndex::new();
    // What Weft decides without a grant, rendered for the baseline: domains, and published
    // products with their assets, are visible to everyone.
    let mut flat = String::from(
        "permit (principal, action == Weft::Action::\"DESCRIBE\", resource is Weft::Domain);\n\
         permit (principal, action == Weft::Action::\"DESCRIBE\", resource) when { resource.lifecycle == \"PUBLISHED\" };\n",
    );
    index.set_classification_key("pii", true);
    for (d, (owner, tier)) in spec.domains.iter().enumerate() {
        flat.push_str(&format!(
            "permit (principal == {}, action, resource in {});\n",
            cedar_principal(owner),
            cedar_resource(&domain_name(d))
        ));
        index.put_node(node(
            domain_name(d),
            NodeKind::Domain,
            None,
            vec![owner.clone()],
            vec![format!("tier={tier}")],
        ));
        for p in 0..PRODUCTS_PER_DOMAIN {
            index.put_node(node(
                product_name(d, p),
                NodeKind::DataProduct,
                Some(domain_name(d)),
                vec![],
                vec![],
            ));
            for a in 0..ASSETS_PER_PRODUCT {
                index.put_node(node(
                    asset_name(d, p, a),
                    NodeKind::Asset,
                    Some(product_name(d, p)),
                    vec![],
                    vec![],
                ));
            }
        }
    }
    for group in &spec.groups {
        index.memberships_mut().put_group(group);
    }
    for project in &spec.projects {
        index.memberships_mut().put_project(project);
    }
    for (grant, rendered) in &spec.grants {
        flat.push_str(rendered);
        index.put_grant(grant.clone());
    }
    for guardrail in &spec.guardrails {
        let name = format!("policies/{}", guardrail.id);
        index
            .guardrails_mut()
            .put(&name, &guardrail.text, &guardrail.domain, true);
        flat.push_str(&guardrail.scoped);
        flat.push('\n');
    }
    World {
        index,
        flat_policies: flat,
    }
}

/// A random question: a user, SELECT or DESCRIBE, an asset (one in ten: a column).
pub(crate) fn question(rng: &mut StdRng) -> (Caller, Permission, String) {
    let subject = Caller::new(
        format!("users/u{:05}", rng.random_range(0..USERS)),
        Vec::new(),
        false,
    );
    let permission = if rng.random_bool(0.8) {
        Permission::Select
    } else {
        Permission::Describe
    };
    let asset = asset_name(
        rng.random_range(0..DOMAINS),
        rng.random_range(0..PRODUCTS_PER_DOMAIN),
        rng.random_range(0..ASSETS_PER_PRODUCT),
    );
    let resource = if rng.random_bool(0.1) {
        format!("{asset}#phone")
    } else {
        asset
    };
    (subject, permission, resource)
}

pub(crate) fn micros(latency: Duration) -> f64 {
    latency.as_secs_f64() * 1e6
}

pub(crate) fn summary(latencies: &Latencies) -> String {
    format!(
        "p50 {:.1} µs, p99 {:.1} µs",
        micros(latencies.percentile(0.5)),
        micros(latencies.percentile(0.99))
    )
}

/// Times `count` decisions on `threads` threads; returns latencies, throughput and allowed share.
fn run_weft(index: &Arc<AccessIndex>, count: usize, threads: usize) -> (Latencies, f64, f64) {
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let index = index.clone();
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(1_000 + t as u64);
                let mut latencies = Vec::with_capacity(count / threads);
                let mut allowed = 0usize;
                for _ in 0..count / threads {
                    let (subject, permission, resource) = question(&mut rng);
                    let start = Instant::now();
                    let decision = index.evaluate(&subject, permission, &resource, false);
                    latencies.push(start.elapsed());
                    allowed += usize::from(decision.allowed);
                }
                (latencies, allowed)
            })
        })
        .collect();
    let mut all = Latencies::default();
    let mut allowed = 0usize;
    for handle in handles {
        let (latencies, granted) = handle.join().expect("bench thread");
        for latency in latencies {
            all.record(latency);
        }
        allowed += granted;
    }
    let elapsed = started.elapsed();
    let done = (count / threads) * threads;
    (
        all,
        done as f64 / elapsed.as_secs_f64(),
        allowed as f64 / done as f64,
    )
}

pub async fn run(args: CheckArgs) -> anyhow::Result<()> {
    let pid = std::process::id();
    let before = resident_memory_mib(pid);
    let started = Instant::now();
    let world = build(&generate(args.grants, args.policies)?);
    let build_elapsed = started.elapsed();
    let index = Arc::new(world.index);
    let after = resident_memory_mib(pid);
    println!(
        "weft-bench check: {} grants, {} guardrails, {} assets; index built in {:.1} s",
        index.grant_count(),
        index.guardrails().len(),
        DOMAINS * PRODUCTS_PER_DOMAIN * ASSETS_PER_PRODUCT,
        build_elapsed.as_secs_f64()
    );

    // Warm the per-domain policy sets, then measure.
    let _ = run_weft(&index, 20_000, 1);
    let (single, single_rate, allowed_share) = run_weft(&index, args.decisions, 1);
    let (many, many_rate, _) = run_weft(&index, args.decisions, 32);

    // Baseline: Cedar alone, one flat policy set, the same entities per question.
    let parse_started = Instant::now();
    let flat: PolicySet = world
        .flat_policies
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let parse_elapsed = parse_started.elapsed();
    let authorizer = Authorizer::new();
    let mut baseline = Latencies::default();
    let mut agree = 0usize;
    let mut rng = StdRng::seed_from_u64(99);
    for _ in 0..args.baseline_decisions {
        let (subject, permission, resource) = question(&mut rng);
        let weft = index
            .evaluate(&subject, permission, &resource, false)
            .allowed;
        let Some(target) = index.target(&resource) else {
            continue;
        };
        let acting = index
            .memberships()
            .acting_as(subject.subject(), &subject.principal.groups);
        let (request, entities) = cedar_request(&index, &acting, permission, &target)
            .ok_or_else(|| anyhow::anyhow!("request"))?;
        let start = Instant::now();
        let response = authorizer.is_authorized(&request, &flat, &entities);
        baseline.record(start.elapsed());
        agree += usize::from((response.decision() == Decision::Allow) == weft);
    }

    println!();
    println!(
        "## Governance Check, in process: {} grants ({}% tag-based), {} guardrails, release build",
        index.grant_count(),
        20,
        index.guardrails().len()
    );
    println!();
    println!("| what | Weft (access index) | baseline: Cedar alone, one flat policy set |");
    println!("| --- | --- | --- |");
    println!(
        "| 1 caller | {} · {:.0} decisions/s | {} ({} decisions; the set took {:.1} s to parse) |",
        summary(&single),
        single_rate,
        summary(&baseline),
        args.baseline_decisions,
        parse_elapsed.as_secs_f64()
    );
    println!(
        "| 32 callers (threads, 2 cores) | {} · {:.0} decisions/s | — |",
        summary(&many),
        many_rate
    );
    println!(
        "| allowed share / agreement | {:.1}% of questions allowed | same decision as Weft on {agree} of {} |",
        allowed_share * 100.0,
        args.baseline_decisions
    );
    let mib = |value: Option<f64>| value.map_or("n/a".to_string(), |v| format!("{v:.0} MiB"));
    println!(
        "| memory | bench process {} before, {} with the index built | — |",
        mib(before),
        mib(after)
    );
    Ok(())
}
