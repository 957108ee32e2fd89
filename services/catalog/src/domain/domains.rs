//! Domains: business domains nested through `parent_domain`.

use serde_json::json;
use weft_proto::weft::catalog::v1::{
    CreateDomainRequest, DataProduct, DeleteDomainRequest, Domain, ListDomainsRequest,
    ListDomainsResponse, UpdateDomainRequest,
};
use weft_runtime::paging::PageRequest;
use weft_runtime::{ApiError, FieldErrors, Violation, fieldmask, filter, validate};
use weft_storage::idempotency::{IdempotencyKey, decode_replay, replay_on_conflict};
use weft_storage::write::now;

use super::time::to_timestamp;
use super::{Catalog, change, check_etag, revision_of};
use crate::storage::resources;

const DOMAINS: &[&str] = &["domains"];
const MUTABLE_FIELDS: &[&str] = &[
    "display_name",
    "description",
    "parent_domain",
    "owners",
    "tags",
];
const FILTER_FIELDS: &[&str] = &["parent_domain", "owner", "tag"];
/// Deepest nesting of domains.
const MAX_DEPTH: usize = 32;

fn validate_fields(errors: &mut FieldErrors, domain: &Domain) {
    validate::display_name(errors, "domain.display_name", &domain.display_name);
    validate::description(errors, "domain.description", &domain.description);
    if !domain.parent_domain.is_empty() {
        validate::name(
            errors,
            "domain.parent_domain",
            &domain.parent_domain,
            DOMAINS,
        );
    }
    validate::principals(errors, "domain.owners", &domain.owners);
    validate::tags(errors, "domain.tags", &domain.tags);
}

impl Catalog {
    pub async fn create_domain(
        &self,
        actor: &str,
        request: CreateDomainRequest,
    ) -> Result<Domain, ApiError> {
        let mut errors = FieldErrors::new();
        validate::resource_id(&mut errors, "domain_id", &request.domain_id);
        match &request.domain {
            Some(domain) => validate_fields(&mut errors, domain),
            None => errors.add("domain", "is required"),
        }
        errors.into_result()?;
        let key = IdempotencyKey::from_request("CreateDomain", &request.request_id, &request)?;
        replay_on_conflict(self.store(), key.as_ref(), async {
            let txn = self.store().begin_write(actor).await?;
            if let Some(key) = &key
                && let Some(stored) = key.replay(txn.conn()).await?
            {
                return decode_replay(&stored);
            }
            let input = request.domain.clone().unwrap_or_default();
            if !input.parent_domain.is_empty()
                && resources::find::<Domain, _>(txn.conn(), &input.parent_domain)
                    .await?
                    .is_none()
            {
                return Err(ApiError::invalid(
                    "domain.parent_domain",
                    format!("{} does not exist", input.parent_domain),
                ));
            }
            let time = Some(to_timestamp(now()));
            let domain = Domain {
                name: format!("domains/{}", request.domain_id),
                uid: uuid::Uuid::new_v4().to_string(),
                create_time: time,
                update_time: time,
                etag: String::new(),
                ..input
            };
            let created = resources::insert(txn.conn(), &domain).await?;
            if let Some(key) = &key {
                key.remember(txn.conn(), &created).await?;
            }
            txn.commit(vec![change(
                "CreateDomain",
                "domain.created",
                &created.name,
                "Domain",
                &created,
                json!({ "request_id": request.request_id }),
            )])
            .await?;
            Ok(created)
        })
        .await
    }

    pub async fn get_domain(&self, name: &str) -> Result<Domain, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", name, DOMAINS);
        errors.into_result()?;
        resources::get(self.store().db(), name).await
    }

    pub async fn list_domains(
        &self,
        request: ListDomainsRequest,
    ) -> Result<ListDomainsResponse, ApiError> {
        let terms = filter::parse(&request.filter, FILTER_FIELDS)?;
        let page = PageRequest::parse(request.page_size, &request.page_token, &request.filter)?;
        let mut conditions = Vec::new();
        for term in &terms {
            conditions.push(match term.field.as_str() {
                "parent_domain" if term.value.is_empty() => resources::parent_is(None),
                "parent_domain" => resources::parent_is(Some(&term.value)),
                "owner" => resources::owned_by(&term.value),
                _ => resources::tagged(&term.value),
            });
        }
        let mut domains = resources::list::<Domain, _>(
            self.store().db(),
            conditions,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut domains, |d| &d.name);
        Ok(ListDomainsResponse {
            domains,
            next_page_token,
        })
    }

    pub async fn update_domain(
        &self,
        actor: &str,
        request: UpdateDomainRequest,
    ) -> Result<Domain, ApiError> {
        let Some(input) = request.domain else {
            return Err(ApiError::invalid("domain", "is required"));
        };
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "domain.name", &input.name, DOMAINS);
        errors.into_result()?;
        let fields = fieldmask::resolve(request.update_mask.as_ref(), MUTABLE_FIELDS)?;

        let txn = self.store().begin_write(actor).await?;
        let current: Domain = resources::get(txn.conn(), &input.name).await?;
        check_etag(&input.name, &input.etag, &current.etag)?;
        let mut updated = current.clone();
        for field in &fields {
            match *field {
                "display_name" => updated.display_name = input.display_name.clone(),
                "description" => updated.description = input.description.clone(),
                "parent_domain" => updated.parent_domain = input.parent_domain.clone(),
                "owners" => updated.owners = input.owners.clone(),
                _ => updated.tags = input.tags.clone(),
            }
        }
        let mut errors = FieldErrors::new();
        validate_fields(&mut errors, &updated);
        errors.into_result()?;
        if updated.parent_domain != current.parent_domain && !updated.parent_domain.is_empty() {
            self.check_new_parent(&txn, &updated.name, &updated.parent_domain)
                .await?;
        }
        updated.update_time = Some(to_timestamp(now()));
        let saved = resources::update(txn.conn(), &updated, revision_of(&current.etag)).await?;
        txn.commit(vec![change(
            "UpdateDomain",
            "domain.updated",
            &saved.name,
            "Domain",
            &saved,
            json!({ "update_mask": fields }),
        )])
        .await?;
        Ok(saved)
    }

    /// A new parent must exist and must not be the domain itself or one of its descendants.
    async fn check_new_parent(
        &self,
        txn: &weft_storage::WriteTxn,
        name: &str,
        parent: &str,
    ) -> Result<(), ApiError> {
        let mut cursor = parent.to_string();
        for _ in 0..MAX_DEPTH {
            if cursor == name {
                return Err(ApiError::invalid(
                    "domain.parent_domain",
                    "would make the domain its own ancestor",
                ));
            }
            let ancestor = resources::find::<Domain, _>(txn.conn(), &cursor)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid("domain.parent_domain", format!("{cursor} does not exist"))
                })?;
            if ancestor.parent_domain.is_empty() {
                return Ok(());
            }
            cursor = ancestor.parent_domain;
        }
        Err(ApiError::invalid(
            "domain.parent_domain",
            format!("domains nest at most {MAX_DEPTH} levels deep"),
        ))
    }

    pub async fn delete_domain(
        &self,
        actor: &str,
        request: DeleteDomainRequest,
    ) -> Result<(), ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", &request.name, DOMAINS);
        errors.into_result()?;
        let txn = self.store().begin_write(actor).await?;
        let current: Domain = resources::get(txn.conn(), &request.name).await?;
        check_etag(&request.name, &request.etag, &current.etag)?;
        let sub_domains = resources::count_children::<Domain, _>(txn.conn(), &request.name).await?;
        let products =
            resources::count_children::<DataProduct, _>(txn.conn(), &request.name).await?;
        if sub_domains > 0 || products > 0 {
            let mut violations = Vec::new();
            if sub_domains > 0 {
                violations.push(Violation {
                    kind: "HAS_SUB_DOMAINS".to_string(),
                    subject: request.name.clone(),
                    description: format!(
                        "{sub_domains} sub-domain(s) must be deleted or moved first"
                    ),
                });
            }
            if products > 0 {
                violations.push(Violation {
                    kind: "HAS_DATA_PRODUCTS".to_string(),
                    subject: request.name.clone(),
                    description: format!("{products} data product(s) must be deleted first"),
                });
            }
            return Err(ApiError::precondition(
                format!("{} is not empty", request.name),
                violations,
            ));
        }
        resources::delete::<Domain, _>(txn.conn(), &request.name, revision_of(&current.etag))
            .await?;
        txn.commit(vec![change(
            "DeleteDomain",
            "domain.deleted",
            &request.name,
            "Domain",
            &current,
            json!({}),
        )])
        .await?;
        Ok(())
    }
}
