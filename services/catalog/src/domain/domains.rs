//! Domains: business domains nested through `parent_domain`.

use weft_proto::weft::catalog::v1::{
    CreateDomainRequest, DataProduct, DeleteDomainRequest, Domain, ListDomainsRequest,
    ListDomainsResponse, UpdateDomainRequest,
};
use weft_runtime::paging::PageRequest;
use weft_runtime::{ApiError, Caller, FieldErrors, Violation, fieldmask, filter, validate};
use weft_storage::Conn;

use super::Catalog;
use super::control::ControlFields;
use super::references::check_tags;
use weft_storage::resources::{self, Edit};

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

/// The parent exists and is not the domain itself or one of its descendants; tags are declared.
async fn check_references<C: Conn>(conn: &C, domain: &Domain) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    check_tags(conn, &mut errors, "domain.tags", &domain.tags).await?;
    errors.into_result()?;
    let mut cursor = domain.parent_domain.clone();
    for _ in 0..MAX_DEPTH {
        if cursor.is_empty() {
            return Ok(());
        }
        if cursor == domain.name {
            return Err(ApiError::invalid(
                "domain.parent_domain",
                "would make the domain its own ancestor",
            ));
        }
        let ancestor = resources::find::<Domain, _>(conn, &cursor)
            .await?
            .ok_or_else(|| {
                ApiError::invalid("domain.parent_domain", format!("{cursor} does not exist"))
            })?;
        cursor = ancestor.parent_domain;
    }
    Err(ApiError::invalid(
        "domain.parent_domain",
        format!("domains nest at most {MAX_DEPTH} levels deep"),
    ))
}

impl Catalog {
    pub async fn create_domain(
        &self,
        caller: &Caller,
        request: CreateDomainRequest,
    ) -> Result<Domain, ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::resource_id(&mut errors, "domain_id", &request.domain_id);
        match &request.domain {
            Some(domain) => validate_fields(&mut errors, domain),
            None => errors.add("domain", "is required"),
        }
        errors.into_result()?;
        if let Some(domain) = &request.domain {
            self.require_existing_principals(&[("domain.owners", &domain.owners)])
                .await?;
        }
        let domain = Domain {
            name: format!("domains/{}", request.domain_id),
            uid: uuid::Uuid::new_v4().to_string(),
            etag: String::new(),
            ..request.domain.clone().unwrap_or_default()
        };
        resources::create(
            self.store(),
            actor,
            "CreateDomain",
            &request.request_id,
            &request,
            move |conn| {
                Box::pin(async move {
                    check_references(conn, &domain).await?;
                    Ok(domain)
                })
            },
        )
        .await
    }

    pub async fn get_domain(&self, name: &str) -> Result<Domain, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", name, DOMAINS);
        errors.into_result()?;
        resources::get(self.store().db(), name).await
    }

    /// The page's domains `caller` may DESCRIBE (a page may come back short; its token still
    /// leads on).
    pub async fn list_domains(
        &self,
        caller: &Caller,
        request: ListDomainsRequest,
    ) -> Result<ListDomainsResponse, ApiError> {
        let terms = filter::parse(&request.filter, FILTER_FIELDS)?;
        let page = PageRequest::parse(request.page_size, &request.page_token, &request.filter)?;
        let conditions = terms
            .iter()
            .map(|term| {
                Ok(match term.field.as_str() {
                    "parent_domain" if term.value.is_empty() => resources::without_parent(),
                    "parent_domain" => resources::parent_is(&term.value),
                    "owner" => resources::owned_by(&term.value),
                    "tag" => resources::tagged(&term.value),
                    other => return Err(filter::unhandled(other)),
                })
            })
            .collect::<Result<_, ApiError>>()?;
        let mut domains = resources::list::<Domain, _>(
            self.store().db(),
            conditions,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut domains, |d| &d.name);
        self.visibility()
            .retain_describable(caller, &mut domains, |d| Some(&d.name))
            .await?;
        Ok(ListDomainsResponse {
            domains,
            next_page_token,
        })
    }

    pub async fn update_domain(
        &self,
        caller: &Caller,
        request: UpdateDomainRequest,
    ) -> Result<Domain, ApiError> {
        let Some(input) = request.domain else {
            return Err(ApiError::invalid("domain", "is required"));
        };
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "domain.name", &input.name, DOMAINS);
        errors.into_result()?;
        let fields = fieldmask::resolve(request.update_mask.as_ref(), MUTABLE_FIELDS)?;
        let etag = self
            .authorize_control_changes::<Domain>(
                caller,
                &input.name,
                &input.etag,
                ControlFields {
                    owners: fields.contains(&"owners").then_some(&input.owners[..]),
                    parent: fields
                        .contains(&"parent_domain")
                        .then_some((&input.parent_domain[..], |d: &Domain| &d.parent_domain)),
                },
            )
            .await?;
        if fields.contains(&"owners") {
            self.require_existing_principals(&[("domain.owners", &input.owners)])
                .await?;
        }
        let (name, apply_fields) = (input.name.clone(), fields.clone());
        resources::update(
            self.store(),
            caller.subject(),
            Edit::new("UpdateDomain", &name, &etag).mask(&fields),
            move |conn, mut domain: Domain| {
                Box::pin(async move {
                    for field in &apply_fields {
                        match *field {
                            "display_name" => domain.display_name = input.display_name.clone(),
                            "description" => domain.description = input.description.clone(),
                            "parent_domain" => domain.parent_domain = input.parent_domain.clone(),
                            "owners" => domain.owners = input.owners.clone(),
                            "tags" => domain.tags = input.tags.clone(),
                            other => return Err(fieldmask::unhandled(other)),
                        }
                    }
                    let mut errors = FieldErrors::new();
                    validate_fields(&mut errors, &domain);
                    errors.into_result()?;
                    check_references(conn, &domain).await?;
                    Ok(domain)
                })
            },
        )
        .await
    }

    /// Refused while the domain has sub-domains or data products.
    pub async fn delete_domain(
        &self,
        caller: &Caller,
        request: DeleteDomainRequest,
    ) -> Result<(), ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", &request.name, DOMAINS);
        errors.into_result()?;
        resources::delete(
            self.store(),
            actor,
            Edit::new("DeleteDomain", &request.name, &request.etag),
            |conn, domain: &Domain| {
                Box::pin(async move {
                    let sub_domains =
                        resources::count_children::<Domain, _>(conn, &domain.name).await?;
                    let products =
                        resources::count_children::<DataProduct, _>(conn, &domain.name).await?;
                    let mut violations = Vec::new();
                    if sub_domains > 0 {
                        violations.push(Violation {
                            kind: "HAS_SUB_DOMAINS".to_string(),
                            subject: domain.name.clone(),
                            description: format!(
                                "{sub_domains} sub-domain(s) must be deleted or moved first"
                            ),
                        });
                    }
                    if products > 0 {
                        violations.push(Violation {
                            kind: "HAS_DATA_PRODUCTS".to_string(),
                            subject: domain.name.clone(),
                            description: format!(
                                "{products} data product(s) must be deleted first"
                            ),
                        });
                    }
                    if violations.is_empty() {
                        Ok(())
                    } else {
                        Err(ApiError::precondition(
                            format!("{} is not empty", domain.name),
                            violations,
                        ))
                    }
                })
            },
        )
        .await
        .map(drop)
    }
}
