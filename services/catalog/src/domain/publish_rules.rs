//! The PUBLISH rules of governance, asked before a product is published: the product and its
//! assets go to governance's rule evaluation (`RuleEvaluator`) as a JSON descriptor (proto field names, every field
//! present, so rules can rely on them); any BLOCK violation refuses the publish with the
//! violations listed, and an unreachable governance refuses it too (fail closed).

use std::sync::Arc;

use prost::Message;
use prost_reflect::{DynamicMessage, SerializeOptions};
use weft_access_checks::RuleEvaluator;
use weft_proto::weft::catalog::v1::{Asset, DataProduct};
use weft_proto::weft::governance::v1::{EvaluateRulesRequest, RuleAction, RuleSeverity};
use weft_runtime::{ApiError, Violation};

/// Governance's PUBLISH rules, as the catalog asks them.
#[derive(Clone)]
pub struct PublishRules {
    rules: Arc<dyn RuleEvaluator>,
}

/// `message` as JSON with proto field names and default values written out.
fn to_json(message: &impl Message, full_name: &str) -> Result<serde_json::Value, ApiError> {
    let descriptor = weft_proto::descriptor_pool()
        .get_message_by_name(full_name)
        .ok_or_else(|| ApiError::internal(format!("{full_name} is not in the descriptor pool")))?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .map_err(ApiError::internal)?;
    let options = SerializeOptions::new()
        .skip_default_fields(false)
        .use_proto_field_name(true);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(ApiError::internal)
}

impl PublishRules {
    pub fn new(rules: Arc<dyn RuleEvaluator>) -> Self {
        Self { rules }
    }

    /// Evaluates the rules on the product about to be published; returns the evaluation id,
    /// FAILED_PRECONDITION listing the BLOCK violations, or UNAVAILABLE.
    pub async fn check(&self, product: &DataProduct, assets: &[Asset]) -> Result<String, ApiError> {
        let assets: Vec<serde_json::Value> = assets
            .iter()
            .map(|asset| to_json(asset, "weft.catalog.v1.Asset"))
            .collect::<Result<_, _>>()?;
        let descriptor = serde_json::json!({
            "product": to_json(product, "weft.catalog.v1.DataProduct")?,
            "assets": assets,
        });
        let domain = product
            .name
            .split_once("/dataProducts/")
            .map(|(domain, _)| domain.to_string())
            .unwrap_or_default();
        let request = EvaluateRulesRequest {
            action: RuleAction::Publish as i32,
            descriptor_json: descriptor.to_string(),
            request: None,
            domain,
        };
        let evaluation = self
            .rules
            .evaluate(request)
            .await
            .map_err(|error| match error {
                ApiError::Unavailable(reason) => {
                    ApiError::Unavailable(format!("{reason}: publishing is refused until it can"))
                }
                other => other,
            })?;
        if evaluation.blocked {
            let violations = evaluation
                .violations
                .iter()
                .filter(|v| v.severity() == RuleSeverity::Block)
                .map(|v| Violation {
                    kind: "RULE_VIOLATION".to_string(),
                    subject: v.rule.clone(),
                    description: v.message.clone(),
                })
                .collect();
            return Err(ApiError::precondition(
                format!(
                    "{} breaks governance rules and is not published",
                    product.name
                ),
                violations,
            ));
        }
        Ok(evaluation.evaluation_id)
    }
}
