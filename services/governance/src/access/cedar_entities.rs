//! The Cedar entities a guardrail decision is made from: the principal (`in` every group and
//! project it acts as), the resource's chain (each node `in` its parent, with its own and
//! inherited tags, classification, lifecycle, domain and owners) and, for a column, the column.
//!
//! Building a node's entity evaluates its attribute sets and Cedar then computes the transitive
//! closure of the hierarchy; done per question, that was two thirds of the cost of a decision a
//! guardrail takes part in. So the chain of each node asked about is built once
//! (`ChainCache`), closure included, and dropped when a node on it may have changed; a question
//! adds only its principal and column to it.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, LazyLock, RwLock};

use cedar_policy::{Context, Entities, Entity, EntityUid, Request, RestrictedExpression};
use weft_proto::permission_name;
use weft_proto::weft::common::v1::Permission;

use super::memberships::Acting;
use super::nodes::NodeKind;
use super::{AccessIndex, Target};

/// Most chains kept; past it the cache starts again empty (each entry is a few entities).
const MAX_CACHED_CHAINS: usize = 100_000;
/// Most chains scanned for a changed product's assets; past it the cache starts again empty.
const MAX_SCANNED_CHAINS: usize = 4_096;

/// Weft's Cedar entity types, parsed once: parsing a type name runs Cedar's parser, which cost
/// more than the rest of a decision when done per entity.
static ENTITY_TYPES: LazyLock<HashMap<&'static str, cedar_policy::EntityTypeName>> =
    LazyLock::new(|| {
        [
            "Weft::User",
            "Weft::Group",
            "Weft::Project",
            "Weft::ServiceAccount",
            "Weft::Domain",
            "Weft::DataProduct",
            "Weft::Asset",
            "Weft::Column",
            "Weft::Action",
        ]
        .into_iter()
        .map(|name| {
            let parsed = cedar_policy::EntityTypeName::from_str(name)
                .expect("Weft's entity type names parse");
            (name, parsed)
        })
        .collect()
    });

fn uid(type_name: &'static str, id: &str) -> Option<EntityUid> {
    let type_name = ENTITY_TYPES.get(type_name)?.clone();
    Some(EntityUid::from_type_name_and_id(
        type_name,
        cedar_policy::EntityId::new(id),
    ))
}

/// The Cedar entity type of a principal, from its name.
fn principal_type(name: &str) -> &'static str {
    match name.split('/').next() {
        Some("groups") => "Weft::Group",
        Some("projects") => "Weft::Project",
        Some("serviceAccounts") | Some("services") => "Weft::ServiceAccount",
        _ => "Weft::User",
    }
}

fn resource_type(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Domain => "Weft::Domain",
        NodeKind::DataProduct => "Weft::DataProduct",
        NodeKind::Asset => "Weft::Asset",
    }
}

fn string_set<'a>(values: impl IntoIterator<Item = &'a String>) -> RestrictedExpression {
    RestrictedExpression::new_set(
        values
            .into_iter()
            .map(|value| RestrictedExpression::new_string(value.clone())),
    )
}

fn resource_attributes(
    tags: &[String],
    classification_keys: &[String],
    lifecycle: &str,
    domain: &str,
    owners: &[String],
) -> HashMap<String, RestrictedExpression> {
    let classification: Vec<&String> = tags
        .iter()
        .filter(|tag| {
            let key = tag.split_once('=').map_or(tag.as_str(), |(key, _)| key);
            classification_keys.iter().any(|k| k == key)
        })
        .collect();
    HashMap::from([
        ("tags".to_string(), string_set(tags)),
        ("classification".to_string(), string_set(classification)),
        (
            "lifecycle".to_string(),
            RestrictedExpression::new_string(lifecycle.to_string()),
        ),
        (
            "domain".to_string(),
            RestrictedExpression::new_string(domain.to_string()),
        ),
        ("owners".to_string(), string_set(owners)),
    ])
}

/// The entities of the target's node and its ancestors, closure computed.
fn chain_entities(index: &AccessIndex, target: &Target<'_>) -> Option<Entities> {
    let domain = target.domain().unwrap_or_default();
    let lifecycle = target.lifecycle();
    let keys = index.classification_keys();
    let mut entities = Vec::with_capacity(target.chain.len());
    // Each node carries its own and its ancestors' tags (inherited).
    for (position, node) in target.chain.iter().enumerate() {
        let node_uid = uid(resource_type(node.kind), &node.name)?;
        let parent = target
            .chain
            .get(position + 1)
            .and_then(|parent| uid(resource_type(parent.kind), &parent.name));
        let tags: Vec<String> = target.chain[position..]
            .iter()
            .flat_map(|n| n.tags.iter().cloned())
            .collect();
        let attributes = resource_attributes(&tags, keys, lifecycle, domain, &node.owners);
        entities.push(Entity::new(node_uid, attributes, parent.into_iter().collect()).ok()?);
    }
    Entities::from_entities(entities, None).ok()
}

/// The entities of the question's principal (`in` every other principal it acts as: those need
/// no entity of their own, having no attributes) and, for a column, of the column; with the
/// request's resource.
fn question_entities(
    index: &AccessIndex,
    acting: &[Acting],
    target: &Target<'_>,
) -> Option<(EntityUid, Vec<Entity>, EntityUid)> {
    let subject = &acting.first()?.principal;
    let principal = uid(principal_type(subject), subject)?;
    let parents = acting
        .iter()
        .skip(1)
        .map(|other| uid(principal_type(&other.principal), &other.principal))
        .collect::<Option<HashSet<_>>>()?;
    let mut entities = vec![Entity::new_no_attrs(principal.clone(), parents)];
    let node = target.node();
    let resource = match target.column {
        Some(column) => {
            let asset = uid("Weft::Asset", &node.name)?;
            let column_uid = uid("Weft::Column", &format!("{}#{column}", node.name))?;
            let mut attributes = resource_attributes(
                &target.tags(),
                index.classification_keys(),
                target.lifecycle(),
                target.domain().unwrap_or_default(),
                &node.owners,
            );
            attributes.insert(
                "path".to_string(),
                RestrictedExpression::new_string(column.to_string()),
            );
            entities
                .push(Entity::new(column_uid.clone(), attributes, HashSet::from([asset])).ok()?);
            column_uid
        }
        None => uid(resource_type(node.kind), &node.name)?,
    };
    Some((principal, entities, resource))
}

fn request(principal: EntityUid, permission: Permission, resource: EntityUid) -> Option<Request> {
    let action = uid("Weft::Action", permission_name(permission))?;
    Request::new(principal, action, resource, Context::empty(), None).ok()
}

/// The Cedar request and entities of one question, built from nothing (public for the
/// benchmark's Cedar-alone baseline, which must decide from the same entities).
pub fn cedar_request(
    index: &AccessIndex,
    acting: &[Acting],
    permission: Permission,
    target: &Target<'_>,
) -> Option<(Request, Entities)> {
    let chain = chain_entities(index, target)?;
    with_question(chain, index, acting, permission, target)
}

/// The request of one question, and its entities: `chain` with the question's own added.
fn with_question(
    chain: Entities,
    index: &AccessIndex,
    acting: &[Acting],
    permission: Permission,
    target: &Target<'_>,
) -> Option<(Request, Entities)> {
    let (principal, own, resource) = question_entities(index, acting, target)?;
    let entities = chain.add_entities(own, None).ok()?;
    Some((request(principal, permission, resource)?, entities))
}

/// Each asked-about node's chain entities, by node name.
#[derive(Default)]
pub struct ChainCache {
    chains: RwLock<HashMap<Arc<str>, Entities>>,
}

impl ChainCache {
    /// As `cedar_request`, the chain taken from the cache (built and kept on a miss).
    pub fn request(
        &self,
        index: &AccessIndex,
        acting: &[Acting],
        permission: Permission,
        target: &Target<'_>,
    ) -> Option<(Request, Entities)> {
        let name = &target.node().name;
        let cached = self
            .chains
            .read()
            .expect("chain cache lock")
            .get(&**name)
            .cloned();
        let chain = match cached {
            Some(chain) => chain,
            None => {
                let chain = chain_entities(index, target)?;
                let mut chains = self.chains.write().expect("chain cache lock");
                if chains.len() >= MAX_CACHED_CHAINS {
                    chains.clear();
                }
                chains.insert(name.clone(), chain.clone());
                chain
            }
        };
        with_question(chain, index, acting, permission, target)
    }

    /// Forgets the chains `node` is on: its own and, for a product, its assets'. A domain's
    /// sub-domains are not named under it, so a domain (or a classification key) forgets all.
    pub fn forget(&self, node: &str, kind: NodeKind) {
        let mut chains = self.chains.write().expect("chain cache lock");
        match kind {
            NodeKind::Asset => {
                chains.remove(node);
            }
            // Scanning a large cache for a product's assets under the index's write lock would
            // cost more than building the chains again.
            NodeKind::DataProduct if chains.len() > MAX_SCANNED_CHAINS => chains.clear(),
            NodeKind::DataProduct => {
                chains.retain(|name, _| {
                    !(**name == *node
                        || name
                            .strip_prefix(node)
                            .is_some_and(|rest| rest.starts_with('/')))
                });
            }
            NodeKind::Domain => chains.clear(),
        }
    }

    pub fn clear(&self) {
        self.chains.write().expect("chain cache lock").clear();
    }
}
