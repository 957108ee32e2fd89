//! Decisions on a small projected catalog, in process: ownership, grants on resources and tag
//! expressions, data filters, guardrails.

use weft_proto::weft::catalog::v1::Column;
use weft_proto::weft::common::v1::{DataFilter, Permission, RowFilter};
use weft_proto::weft::governance::v1::{Grant, GrantState, TagClause, TagExpression, grant};

use super::AccessIndex;
use super::nodes::{ColumnIndex, Node, NodeKind};
use crate::domain::row_filter;
use weft_runtime::Caller;

const ASSET: &str = "domains/sales/dataProducts/orders/assets/orders";

fn node(name: &str, kind: NodeKind, parent: Option<&str>, owners: &[&str], tags: &[&str]) -> Node {
    Node {
        name: name.into(),
        kind,
        parent: parent.map(Into::into),
        owners: owners.iter().map(|o| o.to_string()).collect(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        lifecycle: if kind == NodeKind::DataProduct {
            "DRAFT".to_string()
        } else {
            String::new()
        },
        column_index: Default::default(),
        auto_approve: false,
        approvers: Vec::new(),
    }
}

fn column(name: &str, data_type: &str, tags: &[(&str, &str)]) -> Column {
    Column {
        name: name.to_string(),
        r#type: data_type.to_string(),
        tags: tags
            .iter()
            .map(|(key, value)| weft_proto::weft::common::v1::Tag {
                key: key.to_string(),
                value: value.to_string(),
            })
            .collect(),
        ..Default::default()
    }
}

fn catalog() -> AccessIndex {
    let mut index = AccessIndex::new();
    index.put_node(node(
        "domains/sales",
        NodeKind::Domain,
        None,
        &["users/olivia"],
        &["tier=gold"],
    ));
    index.put_node(node(
        "domains/sales/dataProducts/orders",
        NodeKind::DataProduct,
        Some("domains/sales"),
        &[],
        &[],
    ));
    let mut asset = node(
        ASSET,
        NodeKind::Asset,
        Some("domains/sales/dataProducts/orders"),
        &[],
        &[],
    );
    asset.column_index = ColumnIndex::of(&[
        column("region", "string", &[]),
        column("amount", "decimal(10,2)", &[]),
        column("email", "string", &[("pii", "email")]),
    ]);
    index.put_node(asset);
    index.set_classification_key("pii", true);
    index
}

fn user(name: &str) -> Caller {
    Caller::new(name.to_string(), Vec::new(), false)
}

fn grant_on(name: &str, principal: &str, resource: &str, filter: Option<DataFilter>) -> Grant {
    Grant {
        name: name.to_string(),
        principal: principal.to_string(),
        target: Some(grant::Target::Resource(resource.to_string())),
        permissions: vec![Permission::Select as i32],
        data_filter: filter,
        state: GrantState::Active as i32,
        ..Default::default()
    }
}

fn allowed(index: &AccessIndex, who: &str, permission: Permission, resource: &str) -> bool {
    index
        .evaluate(&user(who), permission, resource, false)
        .allowed
}

/// The same question with its explanation worked out (which takes another path for filters).
fn explained_allowed(
    index: &AccessIndex,
    who: &str,
    permission: Permission,
    resource: &str,
) -> bool {
    index
        .evaluate(&user(who), permission, resource, true)
        .allowed
}

#[test]
fn owners_hold_everything_below_what_they_own() {
    let index = catalog();
    for permission in [Permission::Describe, Permission::Select, Permission::Drop] {
        assert!(allowed(&index, "users/olivia", permission, ASSET));
    }
    assert!(allowed(
        &index,
        "users/olivia",
        Permission::Select,
        &format!("{ASSET}#email")
    ));
    assert!(!allowed(&index, "users/alice", Permission::Describe, ASSET));
    let unknown = index.evaluate(
        &user("users/olivia"),
        Permission::Select,
        "domains/nope",
        false,
    );
    assert!(!unknown.allowed);
    // An absent resource is refused in the words of a hidden one (nothing tells them apart).
    let hidden = index.evaluate(&user("users/alice"), Permission::Select, ASSET, false);
    assert!(!hidden.allowed);
    assert_eq!(
        unknown.reason.replace("domains/nope", "X"),
        hidden
            .reason
            .replace(ASSET, "X")
            .replace("users/alice", "users/olivia")
    );
    assert!(!allowed(
        &index,
        "users/olivia",
        Permission::Select,
        &format!("{ASSET}#nope")
    ));
}

#[test]
fn a_filtered_grant_gives_its_columns_and_rows_and_grants_combine_by_union() {
    let mut index = catalog();
    let (expr, _) =
        row_filter::check_text("region = 'EU'", &index.node(ASSET).unwrap().column_index).unwrap();
    index.put_grant(grant_on(
        "grants/eu",
        "users/alice",
        ASSET,
        Some(DataFilter {
            exclude_columns: vec!["email".into()],
            row_filter: Some(RowFilter { expr: Some(expr) }),
            ..Default::default()
        }),
    ));
    assert!(allowed(&index, "users/alice", Permission::Select, ASSET));
    assert!(allowed(&index, "users/alice", Permission::Describe, ASSET));
    assert!(!allowed(&index, "users/alice", Permission::Insert, ASSET));
    assert!(allowed(
        &index,
        "users/alice",
        Permission::Select,
        &format!("{ASSET}#region")
    ));
    assert!(!allowed(
        &index,
        "users/alice",
        Permission::Select,
        &format!("{ASSET}#email")
    ));
    let explained = index.evaluate(&user("users/alice"), Permission::Select, ASSET, true);
    assert_eq!(explained.columns, vec!["region", "amount"]);
    assert_eq!(
        row_filter::render(explained.row_filter.as_ref().unwrap()),
        "region = 'EU'"
    );

    // A second filtered grant: columns and rows are the union of both.
    let (expr, _) =
        row_filter::check_text("amount > 100", &index.node(ASSET).unwrap().column_index).unwrap();
    index.put_grant(grant_on(
        "grants/big",
        "users/alice",
        ASSET,
        Some(DataFilter {
            include_columns: vec!["amount".into(), "email".into()],
            row_filter: Some(RowFilter { expr: Some(expr) }),
            ..Default::default()
        }),
    ));
    let explained = index.evaluate(&user("users/alice"), Permission::Select, ASSET, true);
    assert_eq!(explained.columns, vec!["region", "amount", "email"]);
    assert_eq!(
        row_filter::render(explained.row_filter.as_ref().unwrap()),
        "region = 'EU' OR amount > 100"
    );
    assert_eq!(explained.factors.len(), 2);

    // Revoking removes what the grant gave.
    index.remove_grant("grants/big");
    index.remove_grant("grants/eu");
    assert!(!allowed(&index, "users/alice", Permission::Select, ASSET));

    // A filter that leaves no column allows nothing of the asset.
    index.put_grant(grant_on(
        "grants/none",
        "users/alice",
        ASSET,
        Some(DataFilter {
            exclude_columns: vec!["region".into(), "amount".into(), "email".into()],
            ..Default::default()
        }),
    ));
    assert!(!allowed(&index, "users/alice", Permission::Select, ASSET));
    assert!(!explained_allowed(
        &index,
        "users/alice",
        Permission::Select,
        ASSET
    ));
}

#[test]
fn a_grant_on_a_domain_covers_what_is_inside_and_groups_act_for_members() {
    let mut index = catalog();
    index.put_grant(grant_on(
        "grants/domain",
        "groups/analysts",
        "domains/sales",
        None,
    ));
    let member = Caller::new("users/bob", vec!["groups/analysts".into()], false);
    assert!(
        index
            .evaluate(&member, Permission::Select, ASSET, false)
            .allowed
    );
    assert!(!allowed(&index, "users/bob", Permission::Select, ASSET));
    let explained = index.evaluate(&member, Permission::Select, ASSET, true);
    assert_eq!(explained.columns, vec!["region", "amount", "email"]);
    assert!(explained.row_filter.is_none());
}

#[test]
fn tag_grants_match_own_inherited_and_column_tags() {
    let mut index = catalog();
    let expression = |key: &str, values: &[&str]| TagExpression {
        clauses: vec![TagClause {
            key: key.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }],
    };
    // tier=gold is the domain's tag: every asset inside inherits it.
    index.put_grant(Grant {
        name: "grants/gold".into(),
        principal: "users/carol".into(),
        target: Some(grant::Target::TagExpression(expression("tier", &["gold"]))),
        permissions: vec![Permission::Select as i32],
        state: GrantState::Active as i32,
        ..Default::default()
    });
    assert!(allowed(&index, "users/carol", Permission::Select, ASSET));
    // pii=email is one column's tag: the grant gives that column only.
    index.put_grant(Grant {
        name: "grants/pii".into(),
        principal: "users/dave".into(),
        target: Some(grant::Target::TagExpression(expression(
            "pii",
            &["email", "phone"],
        ))),
        permissions: vec![Permission::Select as i32],
        state: GrantState::Active as i32,
        ..Default::default()
    });
    assert!(allowed(
        &index,
        "users/dave",
        Permission::Select,
        &format!("{ASSET}#email")
    ));
    assert!(!allowed(
        &index,
        "users/dave",
        Permission::Select,
        &format!("{ASSET}#region")
    ));
    let explained = index.evaluate(&user("users/dave"), Permission::Select, ASSET, true);
    assert!(explained.allowed);
    assert_eq!(explained.columns, vec!["email"]);
    // A decision (no explanation) on the asset agrees, without working the columns out.
    assert!(allowed(&index, "users/dave", Permission::Select, ASSET));
    // A tag no column carries completes nothing.
    index.put_grant(Grant {
        name: "grants/secret".into(),
        principal: "users/erin".into(),
        target: Some(grant::Target::TagExpression(expression("pii", &["ssn"]))),
        permissions: vec![Permission::Select as i32],
        state: GrantState::Active as i32,
        ..Default::default()
    });
    assert!(!allowed(&index, "users/erin", Permission::Select, ASSET));
    assert!(!explained_allowed(
        &index,
        "users/erin",
        Permission::Select,
        ASSET
    ));
}

#[test]
fn guardrails_permit_and_forbid_and_a_forbid_wins() {
    let mut index = catalog();
    index.put_grant(grant_on("grants/all", "users/alice", ASSET, None));
    let forbid = r#"
        forbid (principal, action == Weft::Action::"SELECT", resource is Weft::Column)
        when { resource.classification.contains("pii=email") }
        unless { principal in Weft::Group::"groups/privacy" };
    "#;
    let compiled = index.guardrails().compile("policies/no-pii", forbid);
    assert!(compiled.is_ok(), "{compiled:?}");
    index
        .guardrails_mut()
        .put("policies/no-pii", forbid, "", true);
    let email = format!("{ASSET}#email");
    let decision = index.evaluate(&user("users/alice"), Permission::Select, &email, false);
    assert!(!decision.allowed);
    assert_eq!(decision.reason, "forbidden by policies/no-pii");
    assert!(allowed(
        &index,
        "users/alice",
        Permission::Select,
        &format!("{ASSET}#region")
    ));
    // The explanation of the asset agrees with Check on each column, and names the policy.
    let explained = index.evaluate(&user("users/alice"), Permission::Select, ASSET, true);
    assert!(explained.allowed);
    assert_eq!(explained.columns, vec!["region", "amount"]);
    assert_eq!(explained.column_denials.len(), 1);
    assert_eq!(explained.column_denials[0].column, "email");
    assert_eq!(explained.column_denials[0].source, "policies/no-pii");
    for column in ["region", "amount", "email"] {
        assert_eq!(
            explained.columns.iter().any(|c| c == column),
            allowed(
                &index,
                "users/alice",
                Permission::Select,
                &format!("{ASSET}#{column}")
            ),
            "{column}"
        );
    }
    let officer = Caller::new("users/alice", vec!["groups/privacy".into()], false);
    assert!(
        index
            .evaluate(&officer, Permission::Select, &email, false)
            .allowed
    );

    // A domain-scoped permit gives DESCRIBE of draft products' assets to everyone there.
    let permit = r#"permit (principal, action == Weft::Action::"DESCRIBE", resource)
        when { resource.lifecycle == "DRAFT" };"#;
    index
        .guardrails_mut()
        .put("policies/browse", permit, "domains/sales", true);
    let decision = index.evaluate(&user("users/zoe"), Permission::Describe, ASSET, false);
    assert!(decision.allowed, "{decision:?}");
    assert_eq!(decision.reason, "permitted by policies/browse");
    index
        .guardrails_mut()
        .put("policies/browse", permit, "domains/other", true);
    assert!(!allowed(&index, "users/zoe", Permission::Describe, ASSET));
    index
        .guardrails_mut()
        .put("policies/browse", permit, "domains/sales", false);
    assert!(!allowed(&index, "users/zoe", Permission::Describe, ASSET));
}

#[test]
fn policies_that_do_not_validate_are_refused_with_cedars_message() {
    let index = catalog();
    let guardrails = index.guardrails();
    let unknown_action = guardrails
        .compile(
            "policies/x",
            r#"permit (principal, action == Weft::Action::"READ", resource);"#,
        )
        .unwrap_err();
    assert!(unknown_action.contains("READ"), "{unknown_action}");
    let unknown_attribute = guardrails
        .compile(
            "policies/x",
            r#"permit (principal, action, resource) when { resource.colour == "red" };"#,
        )
        .unwrap_err();
    assert!(unknown_attribute.contains("colour"), "{unknown_attribute}");
    assert!(
        guardrails
            .compile("policies/x", "permit (principal")
            .is_err()
    );
    assert!(guardrails.compile("policies/x", "// nothing").is_err());
}

#[test]
fn scoped_guardrails_apply_exactly_to_their_principal_action_and_resource() {
    let mut index = catalog();
    index.put_grant(grant_on("grants/all", "users/alice", ASSET, None));
    index.guardrails_mut().put(
        "policies/blocked",
        r#"forbid (principal in Weft::Group::"groups/blocked", action == Weft::Action::"SELECT",
                   resource in Weft::Domain::"domains/sales");"#,
        "",
        true,
    );
    let blocked = Caller::new("users/alice", vec!["groups/blocked".into()], false);
    let decision = index.evaluate(&blocked, Permission::Select, ASSET, false);
    assert_eq!(decision.reason, "forbidden by policies/blocked");
    let column = format!("{ASSET}#region");
    assert!(
        !index
            .evaluate(&blocked, Permission::Select, &column, false)
            .allowed
    );
    assert!(
        index
            .evaluate(&blocked, Permission::Describe, ASSET, false)
            .allowed
    );
    assert!(allowed(&index, "users/alice", Permission::Select, ASSET));
    index.put_node(node(
        "domains/other",
        NodeKind::Domain,
        None,
        &["users/alice"],
        &[],
    ));
    assert!(
        index
            .evaluate(&blocked, Permission::Select, "domains/other", false)
            .allowed
    );
}

#[test]
fn sub_resources_and_unprojected_children_resolve_to_their_nearest_known_ancestor() {
    let index = catalog();
    assert_eq!(index.nearest_known(ASSET), Some(ASSET));
    assert_eq!(
        index.nearest_known(&format!("{ASSET}/schemaVersions/3")),
        Some(ASSET)
    );
    assert_eq!(
        index.nearest_known("domains/sales/dataProducts/orders/revisions/2"),
        Some("domains/sales/dataProducts/orders")
    );
    assert_eq!(
        index.nearest_known("domains/sales/dataProducts/new-one"),
        Some("domains/sales")
    );
    assert_eq!(
        index.nearest_known(&format!("{ASSET}#region")),
        Some(format!("{ASSET}#region").as_str())
    );
    // Nothing known on the way up: no answer (the decision is a denial).
    assert_eq!(index.nearest_known("domains/other/dataProducts/p"), None);
    // A few MB of "a/" segments: unknown at once (each ancestor step hashed the rest of the
    // name, minutes under the index's read lock), and so is a name deeper than the API's.
    assert_eq!(
        index.nearest_known(&format!("domains/sales/{}", "a/".repeat(1_500_000))),
        None
    );
    assert_eq!(
        index.nearest_known(&format!("{ASSET}{}", "/a/b".repeat(10))),
        None
    );
    assert_eq!(index.nearest_known("domains"), None);
    assert_eq!(index.nearest_known(""), None);
}

#[test]
fn domains_and_published_products_are_visible_to_everyone_unless_forbidden() {
    let mut index = catalog();
    let product = "domains/sales/dataProducts/orders";
    // Domains: the mesh's structure. A draft product and its assets: not visible.
    assert!(allowed(
        &index,
        "users/zoe",
        Permission::Describe,
        "domains/sales"
    ));
    assert!(!allowed(&index, "users/zoe", Permission::Describe, product));
    // Something not projected yet inside the domain is not visible because the domain is; its
    // owner's rights cover it.
    let inside = |who: &str| {
        index
            .evaluate_inside(&user(who), Permission::Describe, "domains/sales")
            .allowed
    };
    assert!(!inside("users/zoe"));
    assert!(inside("users/olivia"));
    assert!(!allowed(&index, "users/zoe", Permission::Describe, ASSET));

    let mut published = index.node(product).unwrap().clone();
    published.lifecycle = "PUBLISHED".into();
    index.put_node(published);
    let decision = index.evaluate(&user("users/zoe"), Permission::Describe, ASSET, false);
    assert!(decision.allowed, "{decision:?}");
    assert_eq!(
        decision.reason,
        format!("{product} is visible to every principal")
    );
    assert!(allowed(
        &index,
        "users/zoe",
        Permission::Describe,
        &format!("{ASSET}#region")
    ));
    // Seeing is not reading.
    assert!(!allowed(&index, "users/zoe", Permission::Select, ASSET));

    // A guardrail can hide it again.
    index.guardrails_mut().put(
        "policies/hidden",
        r#"forbid (principal, action == Weft::Action::"DESCRIBE", resource is Weft::Asset);"#,
        "",
        true,
    );
    assert!(!allowed(&index, "users/zoe", Permission::Describe, ASSET));
    assert!(allowed(&index, "users/zoe", Permission::Describe, product));
}

#[test]
fn a_field_is_within_its_struct_column_and_nothing_else() {
    use super::nodes::is_within;
    assert!(is_within("address", "address"));
    assert!(is_within("address.city", "address"));
    assert!(!is_within("addresses", "address"));
    assert!(!is_within("address", "address.city"));
}

/// Guardrails decide from Cedar entities kept between questions: a change to a node (tags,
/// lifecycle, parent) or to the classification keys must reach the next decision.
#[test]
fn guardrails_see_changes_made_after_an_earlier_decision() {
    let mut index = catalog();
    index.put_grant(grant_on("grants/all", "users/alice", ASSET, None));
    index.guardrails_mut().put(
        "policies/no-restricted",
        r#"forbid (principal, action == Weft::Action::"SELECT", resource)
           when { resource.tags.contains("restricted") || resource.lifecycle == "RETIRED"
                  || resource.classification.contains("pii=email") };"#,
        "",
        true,
    );
    let email = format!("{ASSET}#email");
    let region = format!("{ASSET}#region");
    assert!(allowed(&index, "users/alice", Permission::Select, ASSET));
    assert!(allowed(&index, "users/alice", Permission::Select, &region));
    assert!(!allowed(&index, "users/alice", Permission::Select, &email));

    // A tag on the domain reaches its product's assets and their columns.
    let mut domain = index.node("domains/sales").unwrap().clone();
    domain.tags.push("restricted".into());
    index.put_node(domain.clone());
    assert!(!allowed(&index, "users/alice", Permission::Select, ASSET));
    assert!(!allowed(&index, "users/alice", Permission::Select, &region));
    domain.tags.retain(|tag| tag != "restricted");
    index.put_node(domain);
    assert!(allowed(&index, "users/alice", Permission::Select, ASSET));

    // The product's lifecycle is every asset's.
    let product = "domains/sales/dataProducts/orders";
    let mut retired = index.node(product).unwrap().clone();
    retired.lifecycle = "RETIRED".into();
    index.put_node(retired.clone());
    assert!(!allowed(&index, "users/alice", Permission::Select, ASSET));
    retired.lifecycle = "PUBLISHED".into();
    index.put_node(retired);
    assert!(allowed(&index, "users/alice", Permission::Select, ASSET));

    // The asset's own tags.
    let mut asset = index.node(ASSET).unwrap().clone();
    asset.tags.push("restricted".into());
    index.put_node(asset.clone());
    assert!(!allowed(&index, "users/alice", Permission::Select, &region));
    asset.tags.clear();
    index.put_node(asset);
    assert!(allowed(&index, "users/alice", Permission::Select, &region));

    // "pii" stops being a classification: the e-mail column is no longer classified.
    index.set_classification_key("pii", false);
    assert!(allowed(&index, "users/alice", Permission::Select, &email));
    index.set_classification_key("pii", true);
    assert!(!allowed(&index, "users/alice", Permission::Select, &email));

    // The asset moves under a product of another domain that is restricted.
    index.put_node(node(
        "domains/vault",
        NodeKind::Domain,
        None,
        &[],
        &["restricted"],
    ));
    index.put_node(node(
        "domains/vault/dataProducts/archive",
        NodeKind::DataProduct,
        Some("domains/vault"),
        &[],
        &[],
    ));
    let mut moved = index.node(ASSET).unwrap().clone();
    moved.parent = Some("domains/vault/dataProducts/archive".into());
    index.put_node(moved);
    assert!(!allowed(&index, "users/alice", Permission::Select, ASSET));
}

/// Narrowing (statement scopes, and what `when` conditions require of the resource) only skips
/// statements Cedar would not find satisfied: on every question below, the guardrails' outcome
/// is Cedar's own over every statement.
#[test]
fn narrowing_the_statements_never_changes_what_cedar_decides() {
    let mut index = catalog();
    let mut product = index
        .node("domains/sales/dataProducts/orders")
        .unwrap()
        .clone();
    product.lifecycle = "PUBLISHED".into();
    index.put_node(product);
    let statements = [
        r#"forbid (principal in Weft::Group::"groups/interns", action == Weft::Action::"SELECT", resource)
           when { resource.classification.contains("pii=email") && resource.lifecycle == "PUBLISHED" };"#,
        r#"forbid (principal, action, resource) when { resource.tags.contains("tier=gold") && resource.lifecycle == "DRAFT" };"#,
        r#"permit (principal, action == Weft::Action::"DESCRIBE", resource) when { resource.tags.contains("tier=gold") };"#,
        r#"permit (principal, action, resource is Weft::Column) when { resource.tags.contains("pii=email") || resource.path == "region" };"#,
        r#"forbid (principal == Weft::User::"users/bob", action, resource in Weft::DataProduct::"domains/sales/dataProducts/orders")
           unless { resource.classification.contains("pii=email") };"#,
    ];
    let mut all = cedar_policy::PolicySet::new();
    for (n, text) in statements.iter().enumerate() {
        let name = format!("policies/p{n}");
        index.guardrails_mut().put(&name, text, "", true);
        for statement in index.guardrails().compile(&name, text).unwrap() {
            all.add(statement).unwrap();
        }
    }
    let resources = [
        "domains/sales".to_string(),
        "domains/sales/dataProducts/orders".to_string(),
        ASSET.to_string(),
        format!("{ASSET}#email"),
        format!("{ASSET}#region"),
        format!("{ASSET}#amount"),
    ];
    let subjects = [
        ("users/alice", vec![]),
        ("users/bob", vec![]),
        ("users/ivan", vec!["groups/interns".to_string()]),
    ];
    let authorizer = cedar_policy::Authorizer::new();
    let mut decided_by_cedar = 0;
    for (principal, groups) in &subjects {
        let acting = index.memberships().acting_as(principal, groups);
        for resource in &resources {
            let target = index.target(resource).unwrap();
            for permission in [Permission::Select, Permission::Describe, Permission::Drop] {
                let outcome = index
                    .guardrails()
                    .evaluate(&index, &acting, permission, &target);
                let (request, entities) =
                    super::guardrails::cedar_request(&index, &acting, permission, &target).unwrap();
                let response = authorizer.is_authorized(&request, &all, &entities);
                let mut satisfied: Vec<String> = response
                    .diagnostics()
                    .reason()
                    .map(|id| id.to_string().rsplit_once('#').unwrap().0.to_string())
                    .collect();
                satisfied.sort();
                satisfied.dedup();
                let question = format!("{principal} {permission:?} {resource}");
                match response.decision() {
                    cedar_policy::Decision::Allow => {
                        assert_eq!(outcome.permits, satisfied, "{question}");
                        assert!(outcome.forbids.is_empty(), "{question}");
                    }
                    cedar_policy::Decision::Deny => {
                        assert!(outcome.permits.is_empty(), "{question}");
                        assert_eq!(outcome.forbids, satisfied, "{question}");
                    }
                }
                decided_by_cedar += usize::from(!satisfied.is_empty());
            }
        }
    }
    // The questions reach every kind of outcome, not only "nothing applies".
    assert!(decided_by_cedar > 10, "{decided_by_cedar}");
}

#[test]
fn a_name_is_kept_once_for_the_map_the_ordered_set_and_the_children() {
    let mut index = catalog();
    // Projected again (an update): still one allocation per name.
    index.put_node(node(
        "domains/sales/dataProducts/orders",
        NodeKind::DataProduct,
        Some("domains/sales"),
        &[],
        &["tier=silver"],
    ));
    let product = index.node("domains/sales/dataProducts/orders").unwrap();
    let asset = index.node(ASSET).unwrap();
    let domain = index.node("domains/sales").unwrap();
    assert!(std::sync::Arc::ptr_eq(
        asset.parent.as_ref().unwrap(),
        &product.name
    ));
    assert!(std::sync::Arc::ptr_eq(
        product.parent.as_ref().unwrap(),
        &domain.name
    ));
    let listed: Vec<&str> = index
        .nodes_under("domains/sales/", None)
        .map(|node| &*node.name)
        .collect();
    assert_eq!(listed, ["domains/sales/dataProducts/orders", ASSET]);
    let after: Vec<&str> = index
        .nodes_under("domains/sales/", Some("domains/sales/dataProducts/orders"))
        .map(|node| &*node.name)
        .collect();
    assert_eq!(after, [ASSET]);
}

#[test]
fn each_project_role_uses_exactly_the_rights_its_name_promises() {
    use weft_proto::weft::governance::v1::{Project, ProjectMember, ProjectRole};

    let mut index = catalog();
    // The project owns the product and is granted SELECT and INSERT on another domain's asset.
    index.put_node(node(
        "domains/sales/dataProducts/owned",
        NodeKind::DataProduct,
        Some("domains/sales"),
        &["projects/team"],
        &[],
    ));
    let owned = "domains/sales/dataProducts/owned";
    let mut granted = grant_on("grants/team", "projects/team", ASSET, None);
    granted.permissions = vec![Permission::Select as i32, Permission::Insert as i32];
    index.put_grant(granted);
    let roles = [
        ("users/owner", ProjectRole::Owner),
        ("users/contributor", ProjectRole::Contributor),
        ("users/consumer", ProjectRole::Consumer),
        ("users/viewer", ProjectRole::Viewer),
    ];
    index.memberships_mut().put_project(&Project {
        name: "projects/team".into(),
        members: roles
            .iter()
            .map(|(principal, role)| ProjectMember {
                principal: principal.to_string(),
                role: *role as i32,
            })
            .collect(),
        ..Default::default()
    });
    use Permission::*;
    let on_owned = [Describe, Select, Insert, Alter, Drop, ManageGrants];
    let expected_on_owned: [(&str, &[Permission]); 4] = [
        ("users/owner", &on_owned),
        ("users/contributor", &[Describe, Select, Insert, Alter]),
        ("users/consumer", &[Describe, Select]),
        ("users/viewer", &[Describe]),
    ];
    for (who, rights) in expected_on_owned {
        for permission in on_owned {
            assert_eq!(
                allowed(&index, who, permission, owned),
                rights.contains(&permission),
                "{who} {permission:?} on the product the project owns"
            );
            assert_eq!(
                explained_allowed(&index, who, permission, owned),
                rights.contains(&permission),
                "{who} {permission:?} on the product the project owns, explained"
            );
        }
    }
    let expected_granted: [(&str, &[Permission]); 4] = [
        ("users/owner", &[Describe, Select, Insert]),
        ("users/contributor", &[Describe, Select, Insert]),
        ("users/consumer", &[Describe, Select]),
        ("users/viewer", &[Describe]),
    ];
    for (who, rights) in expected_granted {
        for permission in [Describe, Select, Insert, Alter] {
            assert_eq!(
                allowed(&index, who, permission, ASSET),
                rights.contains(&permission),
                "{who} {permission:?} through the project's grant"
            );
        }
    }
    let acting = index.memberships().acting_as("users/viewer", &[]);
    assert!(
        !acting
            .iter()
            .any(|a| a.principal == "projects/team" && a.may_manage())
    );
    let acting = index.memberships().acting_as("users/owner", &[]);
    assert!(
        acting
            .iter()
            .any(|a| a.principal == "projects/team" && a.may_manage())
    );
}

#[test]
fn deep_policies_are_refused_before_cedar_parses_them() {
    let guardrails = catalog();
    let guardrails = guardrails.guardrails();
    // 64 parentheses overflowed a 2 MiB stack in Cedar's parser (debug build).
    let deep = format!(
        "forbid (principal, action, resource) when {{ {}true{} }};",
        "(".repeat(3_000),
        ")".repeat(3_000)
    );
    let error = guardrails.compile("policies/deep", &deep).unwrap_err();
    assert!(error.contains("nest at most"), "{error}");
    // A long chain is parsed on the large stack and validated.
    let chain = format!(
        "forbid (principal, action, resource) when {{ {} }};",
        vec!["1 == 1"; 8_000].join(" && ")
    );
    assert!(guardrails.compile("policies/chain", &chain).is_ok());
}
