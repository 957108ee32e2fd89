//! The in-memory access index: the catalog projection, active grants, memberships and guardrail
//! policies, and the decisions made from them. Nothing here touches the database or gRPC: the
//! index is rebuilt from governance's database at start and kept current by applying
//! governance's own outbox events and the catalog projection's (see `engine`).
//!
//! A decision on (subject, permission, resource) is
//! `(administrator or owner or some grant permits or some guardrail permits) and no guardrail
//! forbids`. Owners of a domain, product or asset (and of anything above it) hold every
//! permission on it; a grant on a domain or product covers everything inside it; any granted
//! permission implies DESCRIBE.

mod cedar_entities;
pub mod decision;
pub mod guardrails;
pub mod memberships;
pub mod nodes;
mod requirements;
pub mod scope;
mod tag_grants;
pub mod tags;

#[cfg(test)]
mod tests;

use std::cell::OnceCell;
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use weft_proto::weft::governance::v1::{Grant, GrantState, grant};

use self::guardrails::Guardrails;
use self::memberships::Memberships;
use self::nodes::{Node, NodeKind};
use self::tag_grants::TagGrants;

/// Deepest parent chain followed (domains nest; a cycle can not loop forever).
const MAX_DEPTH: usize = 64;

/// Who asks: the subject, the groups its token states, and whether it is an administrator.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: String,
    pub groups: Vec<String>,
    pub is_admin: bool,
}

#[derive(Default)]
pub struct AccessIndex {
    /// The catalog projection by name: hashed for the lookups of every decision (walking a
    /// parent chain in an ordered map compared long shared-prefix names at every level)...
    nodes: HashMap<Arc<str>, Node>,
    /// ...and the names in order, for listings under a resource.
    node_names: BTreeSet<Arc<str>>,
    /// Tag keys the catalog marks as classifications.
    classification_keys: Vec<String>,
    grants: HashMap<String, Arc<Grant>>,
    grants_by_principal: HashMap<String, Vec<Arc<Grant>>>,
    /// Grantee → resource → its grants on that resource: a decision looks up the target's chain
    /// instead of scanning every grant of every principal the subject acts as.
    resource_grants: HashMap<String, HashMap<String, Vec<Arc<Grant>>>>,
    /// Grantee → its tag-based grants, by the tags they can match.
    tag_grants: HashMap<String, TagGrants>,
    memberships: Memberships,
    guardrails: Guardrails,
}

/// A resource a question is about: the node, its ancestors, and for a column its path.
pub struct Target<'a> {
    /// The node itself first, then its parent, up to the top-level domain.
    pub chain: Vec<&'a Node>,
    /// For "<asset>#<column>": the column path.
    pub column: Option<&'a str>,
}

impl<'a> Target<'a> {
    pub fn node(&self) -> &'a Node {
        self.chain[0]
    }

    /// Names of the node and its ancestors.
    pub fn names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.chain.iter().map(|node| &*node.name)
    }

    /// The domain the resource is in (the nearest domain of the chain).
    pub fn domain(&self) -> Option<&'a str> {
        self.chain
            .iter()
            .find(|node| node.kind == NodeKind::Domain)
            .map(|node| &*node.name)
    }

    /// The lifecycle of the data product the resource is or is in ("" above products).
    pub fn lifecycle(&self) -> &'a str {
        self.chain
            .iter()
            .find(|node| node.kind == NodeKind::DataProduct)
            .map(|node| node.lifecycle.as_str())
            .unwrap_or_default()
    }

    /// The tags a tag-based grant may match: `tags`, and for an asset also its columns' (a
    /// grant can cover some columns of an asset by their tags).
    pub fn grant_tags(&self) -> Vec<String> {
        let mut tags = self.tags();
        if self.column.is_none() {
            for (_, own) in self.node().column_tags() {
                tags.extend(own.iter().map(str::to_string));
            }
        }
        tags
    }

    /// Own and inherited tags, for a column also the column's.
    pub fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = self
            .chain
            .iter()
            .flat_map(|node| node.tags.iter().cloned())
            .collect();
        if let Some(column) = self.column {
            for (path, own) in self.node().column_tags() {
                // A struct's tags reach its fields.
                if nodes::is_within(column, path) {
                    tags.extend(own.iter().map(str::to_string));
                }
            }
        }
        tags.sort();
        tags.dedup();
        tags
    }
}

impl AccessIndex {
    pub fn new() -> Self {
        Self::default()
    }

    // ---- catalog projection ----

    pub fn put_node(&mut self, mut node: Node) {
        // One allocation per name, shared by the map, the ordered set and the children's parent
        // links: kept for every asset of the catalog, three copies and a parent's were a tenth
        // of governance's memory at 100k assets.
        if let Some((name, _)) = self.nodes.get_key_value(&*node.name) {
            node.name = name.clone();
        }
        if let Some(parent) = &node.parent
            && let Some((shared, _)) = self.nodes.get_key_value(&**parent)
        {
            node.parent = Some(shared.clone());
        }
        // A domain's parent decides which domain-scoped policies apply below it.
        if node.kind == NodeKind::Domain {
            self.guardrails.forget_cached_sets();
        }
        // Its tags, owners or lifecycle are in the Cedar entities of everything below it.
        // (A name's kind never changes: the catalog's names hold their collection.)
        self.guardrails.forget_entities_of(&node.name, node.kind);
        self.node_names.insert(node.name.clone());
        self.nodes.insert(node.name.clone(), node);
    }

    pub fn remove_node(&mut self, name: &str) {
        self.node_names.remove(name);
        if let Some(removed) = self.nodes.remove(name) {
            if removed.kind == NodeKind::Domain {
                self.guardrails.forget_cached_sets();
            }
            self.guardrails.forget_entities_of(name, removed.kind);
        }
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }

    pub fn set_classification_key(&mut self, key: &str, classification: bool) {
        self.classification_keys.retain(|k| k != key);
        if classification {
            self.classification_keys.push(key.to_string());
        }
        self.guardrails.forget_all_entities();
    }

    pub fn classification_keys(&self) -> &[String] {
        &self.classification_keys
    }

    /// Nodes whose name starts with `prefix` (all when empty), in name order, after `after`.
    pub fn nodes_under<'a>(
        &'a self,
        prefix: &'a str,
        after: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Node> + 'a {
        let start = after.unwrap_or(prefix);
        self.node_names
            .range::<str, _>((Bound::Included(start), Bound::Unbounded))
            .skip_while(move |name| after == Some(&**name))
            .take_while(move |name| name.starts_with(prefix))
            .filter_map(|name| self.nodes.get(name))
    }

    /// The name itself when the projection knows it, else its nearest known ancestor by name
    /// ("…/assets/a/schemaVersions/3" → "…/assets/a"): the gateway authorizes RPCs on
    /// sub-resources (versions, revisions) and on resources created a moment ago and not
    /// projected yet by their parent. `None` when no ancestor is known either.
    ///
    /// Bounded whatever the caller sends: each step hashes the remaining name, so a name of a
    /// few MB of "a/" segments pinned a worker for minutes; names past `MAX_NAME` are unknown
    /// and at most `MAX_ANCESTOR_STEPS` ancestors are tried (the API's deepest sub-resource is
    /// four collections below a domain).
    pub fn nearest_known<'a>(&self, resource: &'a str) -> Option<&'a str> {
        const MAX_NAME: usize = weft_runtime::validate::MAX_RESOURCE_NAME;
        const MAX_ANCESTOR_STEPS: usize = 4;
        if resource.len() > MAX_NAME {
            return None;
        }
        if resource.contains('#') {
            return Some(resource);
        }
        let mut name = resource;
        for _ in 0..=MAX_ANCESTOR_STEPS {
            if self.nodes.contains_key(name) {
                return Some(name);
            }
            // Drop "/{collection}/{id}".
            let (parent, _) = name.rsplit_once('/')?;
            (name, _) = parent.rsplit_once('/')?;
        }
        None
    }

    /// Up to `limit` catalog resources (in name order) that `principal` owns or approves
    /// subscriptions for. A scan of the projection: for deletions, which are rare.
    pub fn held_by(&self, principal: &str, limit: usize) -> Vec<String> {
        self.node_names
            .iter()
            .filter(|name| {
                self.nodes.get(&***name).is_some_and(|node| {
                    node.owners.iter().any(|owner| owner == principal)
                        || node.approvers.iter().any(|approver| approver == principal)
                })
            })
            .take(limit)
            .map(|name| name.to_string())
            .collect()
    }

    /// Resolves a resource name ("<asset>#<column>" for a column) to its node and ancestors;
    /// `None` when the catalog has no such resource (or column).
    pub fn target<'a>(&'a self, resource: &'a str) -> Option<Target<'a>> {
        let (name, column) = match resource.split_once('#') {
            Some((asset, column)) => (asset, Some(column)),
            None => (resource, None),
        };
        let node = self.nodes.get(name)?;
        if let Some(column) = column
            && (node.kind != NodeKind::Asset || node.column_index.column_type(column).is_none())
        {
            return None;
        }
        let mut chain = vec![node];
        let mut parent = node.parent.as_deref();
        while let Some(name) = parent {
            let Some(next) = self.nodes.get(name) else {
                break;
            };
            if chain.len() >= MAX_DEPTH {
                break;
            }
            chain.push(next);
            parent = next.parent.as_deref();
        }
        Some(Target { chain, column })
    }

    // ---- grants ----

    /// Adds or replaces a grant; a revoked grant is removed.
    pub fn put_grant(&mut self, grant: Grant) {
        self.remove_grant(&grant.name);
        if grant.state() != GrantState::Active {
            return;
        }
        let grant = Arc::new(grant);
        self.grants_by_principal
            .entry(grant.principal.clone())
            .or_default()
            .push(grant.clone());
        match &grant.target {
            Some(grant::Target::Resource(resource)) => self
                .resource_grants
                .entry(grant.principal.clone())
                .or_default()
                .entry(resource.clone())
                .or_default()
                .push(grant.clone()),
            Some(grant::Target::TagExpression(expression)) => self
                .tag_grants
                .entry(grant.principal.clone())
                .or_default()
                .insert(expression, grant.clone()),
            None => {}
        }
        self.grants.insert(grant.name.clone(), grant);
    }

    pub fn remove_grant(&mut self, name: &str) {
        let Some(old) = self.grants.remove(name) else {
            return;
        };
        let principal = &old.principal;
        if let Some(list) = self.grants_by_principal.get_mut(principal) {
            list.retain(|grant| grant.name != name);
            if list.is_empty() {
                self.grants_by_principal.remove(principal);
            }
        }
        match &old.target {
            Some(grant::Target::Resource(resource)) => {
                if let Some(by_resource) = self.resource_grants.get_mut(principal) {
                    if let Some(list) = by_resource.get_mut(resource) {
                        list.retain(|grant| grant.name != name);
                        if list.is_empty() {
                            by_resource.remove(resource);
                        }
                    }
                    if by_resource.is_empty() {
                        self.resource_grants.remove(principal);
                    }
                }
            }
            Some(grant::Target::TagExpression(expression)) => {
                if let Some(tagged) = self.tag_grants.get_mut(principal) {
                    tagged.remove(expression, name);
                    if tagged.is_empty() {
                        self.tag_grants.remove(principal);
                    }
                }
            }
            None => {}
        }
    }

    /// The grants that may cover `target` for `principal`: those on the target or one of its
    /// ancestors, then the tag-based ones that may match `grant_tags` (the target's tags, for
    /// an asset also its columns'), each once.
    pub fn candidate_grants<'a>(
        &'a self,
        principal: &str,
        target: &Target<'a>,
        grant_tags: &OnceCell<Vec<String>>,
    ) -> Vec<&'a Arc<Grant>> {
        let mut found = Vec::new();
        if let Some(by_resource) = self.resource_grants.get(principal) {
            for name in target.names() {
                found.extend(by_resource.get(name).into_iter().flatten());
            }
        }
        if let Some(tagged) = self.tag_grants.get(principal) {
            tagged.candidates(grant_tags.get_or_init(|| target.grant_tags()), &mut found);
        }
        found
    }

    pub fn grant_count(&self) -> usize {
        self.grants.len()
    }

    /// Active grants of `principal`.
    pub fn grants_of(&self, principal: &str) -> &[Arc<Grant>] {
        self.grants_by_principal
            .get(principal)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Principals holding at least one active grant.
    pub fn grantees(&self) -> impl Iterator<Item = &String> {
        self.grants_by_principal.keys()
    }

    // ---- memberships and guardrails ----

    pub fn memberships(&self) -> &Memberships {
        &self.memberships
    }

    pub fn memberships_mut(&mut self) -> &mut Memberships {
        &mut self.memberships
    }

    pub fn guardrails(&self) -> &Guardrails {
        &self.guardrails
    }

    pub fn guardrails_mut(&mut self) -> &mut Guardrails {
        &mut self.guardrails
    }
}

/// What a grant is on, for messages: its resource or its tag expression.
pub fn grant_target(grant: &Grant) -> String {
    match &grant.target {
        Some(grant::Target::Resource(resource)) => resource.clone(),
        Some(grant::Target::TagExpression(expression)) => {
            format!("tags {}", tags::describe(expression))
        }
        None => String::new(),
    }
}
