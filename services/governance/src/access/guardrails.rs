//! Guardrail policies in Cedar. Each `policies/{id}` resource holds one or more `permit` /
//! `forbid` statements, validated against Weft's Cedar schema (`weft.cedarschema`) when written.
//! A policy scoped to a domain applies to resources in that domain and its sub-domains.
//!
//! Entities: principals are `Weft::User`, `Weft::Group`, `Weft::Project` and
//! `Weft::ServiceAccount`, identified by their full names (`Weft::User::"users/alice"`); a user
//! is `in` every group and project it acts as. Resources are `Weft::Domain`, `Weft::DataProduct`,
//! `Weft::Asset` and `Weft::Column` (`"<asset>#<column>"`), each `in` its parent, with the
//! attributes `tags` (own and inherited, "key=value"), `classification` (the tags whose key is a
//! classification key), `lifecycle`, `domain` and `owners`. Actions are the permissions:
//! `Weft::Action::"SELECT"`…
//!
//! Evaluating every policy for every decision would make a decision's cost grow with the number
//! of policies; the policy set of a domain (global policies and those of the domain and its
//! parents) is built once and cached until a policy or a domain changes. Of that set, Cedar is
//! given only the statements whose scope can match the question and whose `when` conjuncts the
//! resource can meet (`requirements`), often none; the entities it decides from are kept per
//! resource chain (`cedar_entities`).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use cedar_policy::{
    Authorizer, Decision, Effect, EntityUid, PolicyId, PolicySet, Schema, ValidationMode, Validator,
};
use weft_proto::permission_name;
use weft_proto::weft::common::v1::Permission;
use weft_runtime::recursion;

use super::cedar_entities::ChainCache;
pub use super::cedar_entities::cedar_request;
use super::memberships::Acting;
use super::nodes::NodeKind;
use super::requirements::Requirements;
use super::{AccessIndex, Target};

/// Most narrowed policy sets kept per domain; past it the domain's starts again empty.
const MAX_CACHED_SUBSETS: usize = 4_096;
/// Deepest nesting of a policy (brackets and prefix operators); real policies nest a few.
const MAX_NESTING: usize = 32;

/// Weft's Cedar schema.
pub const SCHEMA: &str = include_str!("weft.cedarschema");

/// The guardrails in force, compiled.
pub struct Guardrails {
    schema: Schema,
    /// Enabled policies by name: their domain ("" when global) and statements with their
    /// scopes (read once, when the policy is put).
    policies: BTreeMap<String, (String, Vec<Statement>)>,
    /// Policy set per domain ("" for resources outside any domain) with the scopes of its
    /// statements, built on first use.
    sets: RwLock<HashMap<String, Arc<DomainSet>>>,
    /// The Cedar entities of the resources asked about.
    chains: ChainCache,
    authorizer: Authorizer,
}

impl Default for Guardrails {
    fn default() -> Self {
        let (schema, _) = Schema::from_cedarschema_str(SCHEMA).expect("Weft's Cedar schema parses");
        Self {
            schema,
            policies: BTreeMap::new(),
            sets: RwLock::new(HashMap::new()),
            chains: ChainCache::default(),
            authorizer: Authorizer::new(),
        }
    }
}

/// A compiled statement and its scope.
type Statement = (cedar_policy::Policy, Arc<Scope>);

/// The policies that apply in one domain, and their statements' scopes.
struct DomainSet {
    policies: PolicySet,
    /// Every statement of `policies` with its scope.
    statements: Vec<Statement>,
    /// Sets of some of `statements` (by position), the ones a question's scope can match:
    /// building a policy set copies and checks each statement, so the few combinations that
    /// occur are built once.
    subsets: RwLock<HashMap<Vec<usize>, Arc<PolicySet>>>,
}

impl DomainSet {
    fn subset(&self, positions: Vec<usize>) -> Arc<PolicySet> {
        if let Some(set) = self.subsets.read().expect("subsets lock").get(&positions) {
            return set.clone();
        }
        let mut set = PolicySet::new();
        for &position in &positions {
            // Ids are unique by construction.
            let _ = set.add(self.statements[position].0.clone());
        }
        let set = Arc::new(set);
        let mut subsets = self.subsets.write().expect("subsets lock");
        if subsets.len() >= MAX_CACHED_SUBSETS {
            subsets.clear();
        }
        subsets.insert(positions, set.clone());
        set
    }
}

/// A statement's scope: which principal, actions and resource it can apply to (`None`: any).
/// A question outside every scope of a set cannot be decided by it, so Cedar is not asked.
struct Scope {
    principal: Option<String>,
    actions: Option<Vec<String>>,
    resource: Option<String>,
    /// What its `when` conditions need the resource to carry.
    requirements: Requirements,
}

impl Scope {
    fn of(statement: &cedar_policy::Policy) -> Self {
        use cedar_policy::{ActionConstraint, PrincipalConstraint, ResourceConstraint};
        let id = |uid: &EntityUid| uid.id().unescaped().to_string();
        Scope {
            principal: match statement.principal_constraint() {
                PrincipalConstraint::Eq(uid)
                | PrincipalConstraint::In(uid)
                | PrincipalConstraint::IsIn(_, uid) => Some(id(&uid)),
                PrincipalConstraint::Any | PrincipalConstraint::Is(_) => None,
            },
            actions: match statement.action_constraint() {
                ActionConstraint::Any => None,
                ActionConstraint::Eq(uid) => Some(vec![id(&uid)]),
                ActionConstraint::In(uids) => Some(uids.iter().map(id).collect()),
            },
            resource: match statement.resource_constraint() {
                ResourceConstraint::Eq(uid)
                | ResourceConstraint::In(uid)
                | ResourceConstraint::IsIn(_, uid) => Some(id(&uid)),
                ResourceConstraint::Any | ResourceConstraint::Is(_) => None,
            },
            requirements: Requirements::of(statement),
        }
    }

    /// Whether the statement may apply: its principal is one the subject acts as (`==` and
    /// `in` alike, since every principal the subject acts as is its parent), its action is the
    /// question's, its resource the target or one of its ancestors.
    fn may_apply(
        &self,
        acting: &[Acting],
        action: &str,
        target: &Target<'_>,
        column_id: Option<&str>,
    ) -> bool {
        self.principal
            .as_ref()
            .is_none_or(|wanted| acting.iter().any(|a| &a.principal == wanted))
            && self
                .actions
                .as_ref()
                .is_none_or(|actions| actions.iter().any(|a| a == action))
            && self.resource.as_ref().is_none_or(|wanted| {
                column_id == Some(wanted.as_str()) || target.names().any(|name| name == wanted)
            })
    }
}

/// What the guardrails said about one question.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Satisfied `permit` statements' policies (only when none forbids).
    pub permits: Vec<String>,
    /// Satisfied `forbid` statements' policies.
    pub forbids: Vec<String>,
}

/// The policy resource a statement id ("<policy name>#<n>") belongs to.
fn policy_of(id: &PolicyId) -> String {
    let text = id.to_string();
    text.rsplit_once('#')
        .map(|(name, _)| name.to_string())
        .unwrap_or(text)
}

impl Guardrails {
    /// Parses and validates `text` against the schema; the error is Cedar's message. A policy
    /// nested past `MAX_NESTING` is refused before Cedar's parser (which recurses per level,
    /// unguarded) sees it, and parsing runs on a large stack (see `recursion`); Cedar's
    /// evaluator and validator guard their own recursion.
    pub fn compile(&self, name: &str, text: &str) -> Result<Vec<cedar_policy::Policy>, String> {
        if recursion::nesting_depth(text) > MAX_NESTING {
            return Err(format!(
                "brackets and prefix operators nest at most {MAX_NESTING} levels"
            ));
        }
        recursion::on_large_stack(|| self.compile_checked(name, text))
    }

    fn compile_checked(&self, name: &str, text: &str) -> Result<Vec<cedar_policy::Policy>, String> {
        let parsed = PolicySet::from_str(text).map_err(|error| format!("{error:?}"))?;
        let statements: Vec<cedar_policy::Policy> = parsed
            .policies()
            .enumerate()
            .map(|(index, policy)| policy.new_id(PolicyId::new(format!("{name}#{index}"))))
            .collect();
        if statements.is_empty() {
            return Err("the policy has no permit or forbid statement".to_string());
        }
        if parsed.templates().next().is_some() {
            return Err("policy templates are not supported".to_string());
        }
        let mut set = PolicySet::new();
        for statement in &statements {
            set.add(statement.clone())
                .map_err(|error| error.to_string())?;
        }
        let result = Validator::new(self.schema.clone()).validate(&set, ValidationMode::Strict);
        if !result.validation_passed() {
            let messages: Vec<String> = result
                .validation_errors()
                .map(|error| format!("{error}"))
                .collect();
            return Err(messages.join("; "));
        }
        Ok(statements)
    }

    /// Puts a policy in force (enabled) or takes it out (disabled); a policy that no longer
    /// compiles (the schema changed) is left out and reported.
    pub fn put(&mut self, name: &str, text: &str, domain: &str, enabled: bool) {
        self.policies.remove(name);
        if enabled {
            match self.compile(name, text) {
                Ok(statements) => {
                    let scoped = statements
                        .into_iter()
                        .map(|statement| {
                            let scope = Arc::new(Scope::of(&statement));
                            (statement, scope)
                        })
                        .collect();
                    self.policies
                        .insert(name.to_string(), (domain.to_string(), scoped));
                }
                Err(error) => tracing::error!(policy = name, %error, "policy left out"),
            }
        }
        self.forget_cached_sets();
    }

    pub fn remove(&mut self, name: &str) {
        self.policies.remove(name);
        self.forget_cached_sets();
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Drops the cached per-domain sets (a policy or a domain's parent changed).
    pub fn forget_cached_sets(&self) {
        self.sets.write().expect("policy sets lock").clear();
    }

    /// Drops the cached Cedar entities `node` is part of (it changed or was removed).
    pub fn forget_entities_of(&self, node: &str, kind: NodeKind) {
        self.chains.forget(node, kind);
    }

    /// Drops every cached Cedar entity (what makes a tag a classification changed).
    pub fn forget_all_entities(&self) {
        self.chains.clear();
    }

    /// The policy set that applies in `domains` (the resource's domain first, then its
    /// parents).
    fn set_for(&self, domains: &[&str]) -> Arc<DomainSet> {
        let key = domains.first().copied().unwrap_or_default();
        if let Some(set) = self.sets.read().expect("policy sets lock").get(key) {
            return set.clone();
        }
        let mut policies = PolicySet::new();
        let mut scoped = Vec::new();
        for (domain, statements) in self.policies.values() {
            if domain.is_empty() || domains.contains(&domain.as_str()) {
                for (statement, scope) in statements {
                    scoped.push((statement.clone(), scope.clone()));
                    // Ids are unique by construction.
                    let _ = policies.add(statement.clone());
                }
            }
        }
        let set = Arc::new(DomainSet {
            policies,
            statements: scoped,
            subsets: RwLock::new(HashMap::new()),
        });
        self.sets
            .write()
            .expect("policy sets lock")
            .insert(key.to_string(), set.clone());
        set
    }

    /// Whether some enabled statement, in any domain, may decide `action` for a subject acting
    /// as `acting` (its principal and action scopes allow it; its resource and conditions are
    /// not looked at).
    pub fn may_decide(&self, acting: &[Acting], action: &str) -> bool {
        self.policies.values().any(|(_, statements)| {
            statements.iter().any(|(_, scope)| {
                scope
                    .principal
                    .as_ref()
                    .is_none_or(|wanted| acting.iter().any(|a| &a.principal == wanted))
                    && scope
                        .actions
                        .as_ref()
                        .is_none_or(|actions| actions.iter().any(|a| a == action))
            })
        })
    }

    /// Evaluates the policies that apply to `target` for `subject` acting as `acting`.
    pub fn evaluate(
        &self,
        index: &AccessIndex,
        acting: &[Acting],
        permission: Permission,
        target: &Target<'_>,
    ) -> Outcome {
        if self.policies.is_empty() {
            return Outcome::default();
        }
        let domains: Vec<&str> = target
            .chain
            .iter()
            .filter(|node| node.kind == NodeKind::Domain)
            .map(|node| &*node.name)
            .collect();
        let set = self.set_for(&domains);
        let action = permission_name(permission);
        let column_id = target
            .column
            .map(|column| format!("{}#{column}", target.node().name));
        // The resource's tags, sorted, read once and only when a statement requires some.
        let tags = std::cell::OnceCell::new();
        let lifecycle = target.lifecycle();
        let applicable: Vec<usize> = set
            .statements
            .iter()
            .enumerate()
            .filter(|(_, (_, scope))| {
                scope.may_apply(acting, action, target, column_id.as_deref())
                    && (scope.requirements.is_empty()
                        || scope
                            .requirements
                            .met_by(tags.get_or_init(|| target.tags()), lifecycle))
            })
            .map(|(position, _)| position)
            .collect();
        if applicable.is_empty() {
            return Outcome::default();
        }
        let Some((request, entities)) = self.chains.request(index, acting, permission, target)
        else {
            return Outcome::default();
        };
        // Cedar evaluates every statement it is given: give it only those whose scope can
        // match (usually one or two of a domain's set), unless that is all of them.
        let narrowed;
        let policies = if applicable.len() == set.statements.len() {
            &set.policies
        } else {
            narrowed = set.subset(applicable);
            &*narrowed
        };
        let response = self.authorizer.is_authorized(&request, policies, &entities);
        let mut reasons: Vec<String> = response.diagnostics().reason().map(policy_of).collect();
        reasons.sort();
        reasons.dedup();
        match response.decision() {
            Decision::Allow => Outcome {
                permits: reasons,
                forbids: Vec::new(),
            },
            Decision::Deny => {
                // With no satisfied permit, a Deny lists forbids only when one was satisfied.
                let forbids = reasons
                    .into_iter()
                    .filter(|name| {
                        self.policies.get(name).is_some_and(|(_, statements)| {
                            statements.iter().any(|(s, _)| s.effect() == Effect::Forbid)
                        })
                    })
                    .collect();
                Outcome {
                    permits: Vec::new(),
                    forbids,
                }
            }
        }
    }
}
