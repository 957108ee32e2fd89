//! Metadata rules (federated computational governance): CEL expressions evaluated on PUBLISH
//! (over the product descriptor) and SUBSCRIBE (also over the request), scoped to a domain and
//! its sub-domains, severity BLOCK or WARN, versioned. A rule holds when its expression is
//! `true`; `false`, another value or an evaluation error is a violation (so a broken BLOCK rule
//! blocks: fail closed).
//!
//! In scope: `product` and `assets`, and for SUBSCRIBE `request` (project, data_product, assets,
//! justification, requested_by). On PUBLISH the catalog sends the DataProduct and its Assets as
//! JSON with proto field names and every field present; on SUBSCRIBE governance builds them from
//! its projection: `product` {name, owners, tags ("key=value"), lifecycle_state} and `assets`
//! [{name, tags, schema: {columns: [{name, type, description}]}}].

use serde_json::{Value, json};
use weft_proto::weft::governance::v1::*;
use weft_runtime::{ApiError, FieldErrors, fieldmask, recursion, validate};
use weft_storage::resources::{self, Edit};

use super::{Governance, Indexed, list_filtered, no_state, require_admin};
use weft_runtime::Caller;

/// Longest rule expression: each operator of a chain is a level of CEL's evaluator (1,000 of
/// them need tens of MiB of stack in a debug build); real rules are a few hundred characters.
const MAX_EXPRESSION: usize = 2_000;
/// Deepest nesting of a rule (brackets and prefix operators): CEL's parser recurses about ten
/// frames per level; real rules nest a handful.
const MAX_NESTING: usize = 32;
/// Actor of the default rules.
const SEEDER: &str = "services/governance";

/// The default rule set, created on first start (administrators may change or disable them).
const DEFAULT_RULES: &[(&str, &str, &str, &str)] = &[
    (
        "product-has-owner",
        "A data product names at least one owner.",
        "size(product.owners) > 0",
        "the data product has no owner",
    ),
    (
        "product-described",
        "A data product's description is at least 20 characters long.",
        "size(product.description) >= 20",
        "the data product's description is shorter than 20 characters",
    ),
    (
        "columns-described",
        "Every column of every asset is described.",
        "assets.all(a, a.schema.columns.all(c, size(c.description) > 0))",
        "a column has no description",
    ),
    (
        "pii-classified",
        "Every column tagged pii=… also carries a classification tag.",
        "assets.all(a, a.schema.columns.all(c, !c.tags.exists(t, t.key == 'pii') || c.tags.exists(t, t.key == 'classification')))",
        "a column tagged pii has no classification tag",
    ),
];

/// Compiles a rule's expression, refusing one nested past `MAX_NESTING` before CEL parses it.
/// Callers run it (and the program) through `recursion::on_large_stack`: a chain of thousands
/// of operators is as deep for CEL as thousands of parentheses.
fn compile(expression: &str) -> Result<cel::Program, String> {
    if recursion::nesting_depth(expression) > MAX_NESTING {
        return Err(format!(
            "brackets and prefix operators nest at most {MAX_NESTING} levels"
        ));
    }
    cel::Program::compile(expression).map_err(|error| error.to_string())
}

/// Whether `expression` is a rule expression governance accepts (its size, nesting and CEL's
/// compiler); the error is what a CreateRule would say. The fuzz target drives it.
pub fn check_expression(expression: &str) -> Result<(), String> {
    let mut errors = FieldErrors::new();
    validate_rule(
        &mut errors,
        &Rule {
            expression: expression.to_string(),
            action: RuleAction::Publish as i32,
            severity: RuleSeverity::Block as i32,
            ..Default::default()
        },
    );
    errors.into_result().map_err(|error| error.to_string())
}

fn validate_rule(errors: &mut FieldErrors, rule: &Rule) {
    validate::description(errors, "rule.description", &rule.description);
    validate::description(errors, "rule.message", &rule.message);
    if rule.expression.trim().is_empty() {
        errors.add("rule.expression", "is required");
    } else if rule.expression.len() > MAX_EXPRESSION {
        errors.add(
            "rule.expression",
            format!("must be at most {MAX_EXPRESSION} characters"),
        );
    } else if let Err(message) = recursion::on_large_stack(|| compile(&rule.expression).map(drop)) {
        errors.add("rule.expression", message);
    }
    if rule.action() == RuleAction::Unspecified {
        errors.add("rule.action", "must be PUBLISH or SUBSCRIBE");
    }
    if rule.severity() == RuleSeverity::Unspecified {
        errors.add("rule.severity", "must be BLOCK or WARN");
    }
    if !rule.domain.is_empty() {
        validate::name(errors, "rule.domain", &rule.domain, &["domains"]);
    }
}

/// Evaluates one rule; `None` when it holds, else the violation's message.
fn violation_of(rule: &Rule, scope: &[(&str, &Value)]) -> Option<String> {
    recursion::on_large_stack(|| evaluate(rule, scope))
}

fn evaluate(rule: &Rule, scope: &[(&str, &Value)]) -> Option<String> {
    let program = match compile(&rule.expression) {
        Ok(program) => program,
        Err(error) => return Some(format!("the rule does not compile: {error}")),
    };
    let mut context = cel::Context::default();
    for (name, value) in scope {
        if let Err(error) = context.add_variable(*name, *value) {
            return Some(format!("the input could not be given to the rule: {error}"));
        }
    }
    match program.execute(&context) {
        Ok(cel::Value::Bool(true)) => None,
        Ok(cel::Value::Bool(false)) => Some(if rule.message.is_empty() {
            format!("{} does not hold", rule.name)
        } else {
            rule.message.clone()
        }),
        Ok(other) => Some(format!("the rule evaluated to {other:?}, not a boolean")),
        Err(error) => Some(format!("the rule could not be evaluated: {error}")),
    }
}

impl Governance {
    /// Creates the default rules unless they were created before (even if since deleted).
    pub async fn seed_default_rules(&self) -> Result<(), ApiError> {
        use weft_storage::projection;
        const MARKER: &str = "default-rules";
        if projection::cursor(self.store().db(), MARKER).await? > 0 {
            return Ok(());
        }
        let txn = self.store().begin_write(SEEDER).await?;
        let mut changes = Vec::new();
        for (id, description, expression, message) in DEFAULT_RULES {
            let rule = Rule {
                name: format!("rules/{id}"),
                description: description.to_string(),
                expression: expression.to_string(),
                message: message.to_string(),
                action: RuleAction::Publish as i32,
                severity: RuleSeverity::Block as i32,
                enabled: true,
                version: 1,
                ..Default::default()
            };
            if resources::find::<Rule, _>(txn.conn(), &rule.name)
                .await?
                .is_none()
            {
                let created = resources::insert(txn.conn(), &rule).await?;
                changes.push(resources::change(
                    "SeedDefaultRules",
                    "created",
                    &created,
                    json!({}),
                ));
            }
        }
        projection::set_cursor(txn.conn(), MARKER, 1).await?;
        txn.commit(changes).await?;
        Ok(())
    }

    pub async fn create_rule(
        &self,
        caller: &Caller,
        request: CreateRuleRequest,
    ) -> Result<Rule, ApiError> {
        require_admin(caller, "create rules")?;
        let mut errors = FieldErrors::new();
        validate::resource_id(&mut errors, "rule_id", &request.rule_id);
        let input = request.rule.clone().unwrap_or_default();
        validate_rule(&mut errors, &input);
        errors.into_result()?;
        let rule = Rule {
            name: format!("rules/{}", request.rule_id),
            version: 1,
            update_time: None,
            etag: String::new(),
            create_time: None,
            ..input
        };
        resources::create(
            self.store(),
            caller.subject(),
            "CreateRule",
            &request.request_id,
            &request,
            move |_| Box::pin(async move { Ok(rule) }),
        )
        .await
    }

    pub async fn get_rule(&self, name: &str) -> Result<Rule, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", name, &["rules"]);
        errors.into_result()?;
        resources::get(self.store().db(), name).await
    }

    pub async fn list_rules(
        &self,
        request: ListRulesRequest,
    ) -> Result<ListRulesResponse, ApiError> {
        let (rules, next_page_token) = list_filtered(
            self,
            "rules",
            &request.filter,
            &[("domain", Indexed::Parent)],
            no_state,
            request.page_size,
            &request.page_token,
        )
        .await?;
        Ok(ListRulesResponse {
            rules,
            next_page_token,
        })
    }

    /// Updates a rule; every change makes a new version.
    pub async fn update_rule(
        &self,
        caller: &Caller,
        request: UpdateRuleRequest,
    ) -> Result<Rule, ApiError> {
        require_admin(caller, "update rules")?;
        let input = request.rule.unwrap_or_default();
        let fields = fieldmask::resolve(
            request.update_mask.as_ref(),
            &[
                "description",
                "expression",
                "message",
                "action",
                "severity",
                "domain",
                "enabled",
            ],
        )?;
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "rule.name", &input.name, &["rules"]);
        errors.into_result()?;
        let (name, etag) = (input.name.clone(), input.etag.clone());
        resources::update(
            self.store(),
            caller.subject(),
            Edit::new("UpdateRule", &name, &etag).mask(&fields),
            move |_, mut rule: Rule| {
                Box::pin(async move {
                    for field in &fields {
                        match *field {
                            "description" => rule.description = input.description.clone(),
                            "expression" => rule.expression = input.expression.clone(),
                            "message" => rule.message = input.message.clone(),
                            "action" => rule.action = input.action,
                            "severity" => rule.severity = input.severity,
                            "domain" => rule.domain = input.domain.clone(),
                            "enabled" => rule.enabled = input.enabled,
                            other => return Err(fieldmask::unhandled(other)),
                        }
                    }
                    let mut errors = FieldErrors::new();
                    validate_rule(&mut errors, &rule);
                    errors.into_result()?;
                    rule.version += 1;
                    Ok(rule)
                })
            },
        )
        .await
    }

    pub async fn delete_rule(
        &self,
        caller: &Caller,
        request: DeleteRuleRequest,
    ) -> Result<(), ApiError> {
        require_admin(caller, "delete rules")?;
        self.get_rule(&request.name).await?;
        resources::delete::<Rule, _>(
            self.store(),
            caller.subject(),
            Edit::new("DeleteRule", &request.name, &request.etag),
            |_, _| Box::pin(async { Ok(()) }),
        )
        .await?;
        Ok(())
    }

    /// Evaluates the enabled rules of `request.action` that apply in `request.domain` (global
    /// rules, and those of the domain and its parents) and returns every violation.
    pub async fn evaluate_rules(
        &self,
        request: EvaluateRulesRequest,
    ) -> Result<EvaluateRulesResponse, ApiError> {
        let action = request.action();
        let mut errors = FieldErrors::new();
        if action == RuleAction::Unspecified {
            errors.add("action", "must be PUBLISH or SUBSCRIBE");
        }
        let descriptor: Value = match serde_json::from_str(&request.descriptor_json) {
            Ok(Value::Object(descriptor)) => Value::Object(descriptor),
            Ok(_) => {
                errors.add("descriptor_json", "must be a JSON object");
                Value::Null
            }
            Err(error) => {
                errors.add("descriptor_json", format!("is not JSON: {error}"));
                Value::Null
            }
        };
        if action == RuleAction::Subscribe && request.request.is_none() {
            errors.add("request", "is required for SUBSCRIBE");
        }
        errors.into_result()?;
        let product = descriptor.get("product").cloned().unwrap_or(Value::Null);
        let assets = descriptor
            .get("assets")
            .cloned()
            .unwrap_or(Value::Array(Vec::new()));
        let subscription = request
            .request
            .as_ref()
            .map(|r| {
                json!({
                    "project": r.project,
                    "data_product": r.data_product,
                    "assets": r.assets,
                    "justification": r.justification,
                    "requested_by": r.requested_by,
                })
            })
            .unwrap_or(Value::Null);
        let resource = product
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let domains = self.domain_chain(&request.domain);
        let rules = resources::all::<Rule, _>(self.store().db()).await?;
        let scope = [
            ("product", &product),
            ("assets", &assets),
            ("request", &subscription),
        ];
        let mut violations = Vec::new();
        for rule in rules {
            let applies = rule.enabled
                && rule.action() == action
                && (rule.domain.is_empty() || domains.contains(&rule.domain));
            if !applies {
                continue;
            }
            if let Some(message) = violation_of(&rule, &scope) {
                violations.push(RuleViolation {
                    rule: rule.name.clone(),
                    rule_version: rule.version,
                    severity: rule.severity,
                    message,
                    resource: resource.clone(),
                });
            }
        }
        let blocked = violations
            .iter()
            .any(|v| v.severity() == RuleSeverity::Block);
        Ok(EvaluateRulesResponse {
            evaluation_id: uuid::Uuid::now_v7().to_string(),
            violations,
            blocked,
        })
    }

    /// `domain` and its parent domains, from the catalog projection.
    fn domain_chain(&self, domain: &str) -> Vec<String> {
        if domain.is_empty() {
            return Vec::new();
        }
        let index = self.engine().index();
        match index.target(domain) {
            Some(target) => target.names().map(str::to_string).collect(),
            None => vec![domain.to_string()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(expression: &str) -> Rule {
        Rule {
            name: "rules/r".into(),
            expression: expression.into(),
            message: "broken".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_default_rules_compile_and_judge_a_descriptor() {
        let good = json!({
            "name": "domains/sales/dataProducts/orders",
            "owners": ["users/olivia"],
            "description": "Every order placed on the web shop.",
        });
        let assets = json!([{ "schema": { "columns": [
            { "description": "The id.", "tags": [] },
            { "description": "E-mail.", "tags": [
                { "key": "pii", "value": "email" },
                { "key": "classification", "value": "confidential" }
            ] }
        ] } }]);
        let none = Value::Null;
        for (id, _, expression, _) in DEFAULT_RULES {
            let verdict = violation_of(
                &rule(expression),
                &[("product", &good), ("assets", &assets), ("request", &none)],
            );
            assert_eq!(verdict, None, "{id}");
        }
        let bad = json!({ "name": "p", "owners": [], "description": "short" });
        let bad_assets = json!([{ "schema": { "columns": [
            { "description": "", "tags": [ { "key": "pii", "value": "email" } ] }
        ] } }]);
        for (id, _, expression, message) in DEFAULT_RULES {
            let verdict = violation_of(
                &Rule {
                    message: message.to_string(),
                    ..rule(expression)
                },
                &[
                    ("product", &bad),
                    ("assets", &bad_assets),
                    ("request", &none),
                ],
            );
            assert_eq!(verdict.as_deref(), Some(*message), "{id}");
        }
    }

    #[test]
    fn a_rule_that_errs_or_is_not_boolean_is_a_violation() {
        let product = json!({ "owners": [] });
        let none = Value::Null;
        let scope = [("product", &product), ("assets", &none), ("request", &none)];
        let missing = violation_of(&rule("product.nope == 1"), &scope).unwrap();
        assert!(missing.contains("could not be evaluated"), "{missing}");
        let number = violation_of(&rule("size(product.owners)"), &scope).unwrap();
        assert!(number.contains("not a boolean"), "{number}");
        assert!(compile("size(product.owners) >").is_err());
    }

    #[test]
    fn deep_rules_are_refused_and_long_chains_do_not_exhaust_the_stack() {
        // 32 parentheses overflowed a 2 MiB stack in CEL's parser (debug build).
        let deep = format!(
            "{}true{}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        let mut errors = FieldErrors::new();
        validate_rule(&mut errors, &rule(&deep));
        let Err(ApiError::InvalidArgument(faults)) = errors.into_result() else {
            panic!("a deep rule is refused");
        };
        assert_eq!(faults[0].0, "rule.expression");
        assert!(faults[0].1.contains("nest at most"), "{faults:?}");
        for deep in [
            format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000)),
            format!("{}true", "!".repeat(9_000)),
        ] {
            assert!(compile(&deep).unwrap_err().contains("nest at most"));
        }
        // The longest chain the size limit allows parses and runs (on the large stack).
        let chain = vec!["1"; (MAX_EXPRESSION - 4) / 2].join("+") + ">0";
        assert!(chain.len() <= MAX_EXPRESSION);
        let none = Value::Null;
        let verdict = violation_of(&rule(&chain), &[("product", &none)]);
        assert_eq!(verdict, None);
    }
}
