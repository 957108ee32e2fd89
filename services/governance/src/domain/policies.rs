//! Guardrail policies (Cedar), managed by administrators. A policy is compiled and validated
//! against Weft's Cedar schema on every write; one that does not validate is refused with
//! Cedar's message.

use weft_proto::weft::governance::v1::*;
use weft_runtime::{ApiError, FieldErrors, fieldmask, validate};
use weft_storage::resources::{self, Edit};

use super::{Governance, Indexed, list_filtered, no_state, require_admin};
use weft_runtime::Caller;

/// Longest policy text.
const MAX_POLICY: usize = 100_000;

impl Governance {
    fn validate_policy(&self, errors: &mut FieldErrors, name: &str, policy: &Policy) {
        validate::description(errors, "policy.description", &policy.description);
        if !policy.domain.is_empty() {
            validate::name(errors, "policy.domain", &policy.domain, &["domains"]);
        }
        if policy.cedar.trim().is_empty() {
            errors.add("policy.cedar", "is required");
        } else if policy.cedar.len() > MAX_POLICY {
            errors.add(
                "policy.cedar",
                format!("must be at most {MAX_POLICY} characters"),
            );
        } else if let Err(message) = self
            .engine()
            .index()
            .guardrails()
            .compile(name, &policy.cedar)
        {
            errors.add("policy.cedar", message);
        }
    }

    pub async fn create_policy(
        &self,
        caller: &Caller,
        request: CreatePolicyRequest,
    ) -> Result<Policy, ApiError> {
        require_admin(caller, "create policies")?;
        let mut errors = FieldErrors::new();
        validate::resource_id(&mut errors, "policy_id", &request.policy_id);
        let input = request.policy.clone().unwrap_or_default();
        let name = format!("policies/{}", request.policy_id);
        self.validate_policy(&mut errors, &name, &input);
        errors.into_result()?;
        let policy = Policy {
            name,
            description: input.description,
            cedar: input.cedar,
            domain: input.domain,
            enabled: input.enabled,
            ..Default::default()
        };
        let created = resources::create(
            self.store(),
            caller.subject(),
            "CreatePolicy",
            &request.request_id,
            &request,
            move |_| Box::pin(async move { Ok(policy) }),
        )
        .await?;
        self.applied(created).await
    }

    pub async fn get_policy(&self, name: &str) -> Result<Policy, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", name, &["policies"]);
        errors.into_result()?;
        resources::get(self.store().db(), name).await
    }

    pub async fn list_policies(
        &self,
        request: ListPoliciesRequest,
    ) -> Result<ListPoliciesResponse, ApiError> {
        let (policies, next_page_token) = list_filtered(
            self,
            "policies",
            &request.filter,
            &[("domain", Indexed::Parent)],
            no_state,
            request.page_size,
            &request.page_token,
        )
        .await?;
        Ok(ListPoliciesResponse {
            policies,
            next_page_token,
        })
    }

    pub async fn update_policy(
        &self,
        caller: &Caller,
        request: UpdatePolicyRequest,
    ) -> Result<Policy, ApiError> {
        require_admin(caller, "update policies")?;
        let input = request.policy.unwrap_or_default();
        let fields = fieldmask::resolve(
            request.update_mask.as_ref(),
            &["description", "cedar", "domain", "enabled"],
        )?;
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "policy.name", &input.name, &["policies"]);
        errors.into_result()?;
        let current = self.get_policy(&input.name).await?;
        let mut merged = current.clone();
        for field in &fields {
            match *field {
                "description" => merged.description = input.description.clone(),
                "cedar" => merged.cedar = input.cedar.clone(),
                "domain" => merged.domain = input.domain.clone(),
                "enabled" => merged.enabled = input.enabled,
                other => return Err(fieldmask::unhandled(other)),
            }
        }
        let mut errors = FieldErrors::new();
        self.validate_policy(&mut errors, &input.name, &merged);
        errors.into_result()?;
        let updated = resources::update(
            self.store(),
            caller.subject(),
            Edit::new("UpdatePolicy", &input.name, &input.etag).mask(&fields),
            move |_, mut policy: Policy| {
                Box::pin(async move {
                    policy.description = merged.description;
                    policy.cedar = merged.cedar;
                    policy.domain = merged.domain;
                    policy.enabled = merged.enabled;
                    Ok(policy)
                })
            },
        )
        .await?;
        self.applied(updated).await
    }

    pub async fn delete_policy(
        &self,
        caller: &Caller,
        request: DeletePolicyRequest,
    ) -> Result<(), ApiError> {
        require_admin(caller, "delete policies")?;
        self.get_policy(&request.name).await?;
        resources::delete::<Policy, _>(
            self.store(),
            caller.subject(),
            Edit::new("DeletePolicy", &request.name, &request.etag),
            |_, _| Box::pin(async { Ok(()) }),
        )
        .await?;
        self.applied(()).await
    }
}
