//! Data products: a domain's owned, documented data, created as DRAFT.

use weft_proto::weft::catalog::v1::{
    Asset, CreateDataProductRequest, DataProduct, DeleteDataProductRequest, Domain, LifecycleState,
    ListDataProductsRequest, ListDataProductsResponse, UpdateDataProductRequest,
};
use weft_runtime::paging::PageRequest;
use weft_runtime::{ApiError, Caller, FieldErrors, Violation, fieldmask, filter, validate};
use weft_storage::Conn;

use super::Catalog;
use super::custom_properties;
use super::forms::check_forms;
use super::references::{check_tags, check_terms};
use crate::store::revisions;
use weft_proto::resource::lifecycle_column;
use weft_storage::resources::{self, Edit};

const DOMAINS: &[&str] = &["domains"];
const DATA_PRODUCTS: &[&str] = &["domains", "dataProducts"];
const GLOSSARY_TERMS: &[&str] = &["glossaries", "terms"];
const MUTABLE_FIELDS: &[&str] = &[
    "display_name",
    "description",
    "owners",
    "tags",
    "glossary_terms",
    "service_level",
    "subscription_policy",
    "forms",
    "custom_properties",
];
const FILTER_FIELDS: &[&str] = &["lifecycle_state", "owner", "tag", "glossary_term"];

/// The principals of a product that must exist: its owners and its approvers.
fn principal_fields<'a>(
    product: &'a DataProduct,
    fields: &[&str],
) -> Vec<(&'static str, &'a [String])> {
    let mut named = Vec::new();
    if fields.contains(&"owners") {
        named.push(("data_product.owners", &product.owners[..]));
    }
    if fields.contains(&"subscription_policy")
        && let Some(policy) = &product.subscription_policy
    {
        named.push((
            "data_product.subscription_policy.approvers",
            &policy.approvers[..],
        ));
    }
    named
}

pub(crate) fn validate_fields(errors: &mut FieldErrors, product: &DataProduct) {
    validate::display_name(errors, "data_product.display_name", &product.display_name);
    validate::description(errors, "data_product.description", &product.description);
    validate::principals(errors, "data_product.owners", &product.owners);
    validate::tags(errors, "data_product.tags", &product.tags);
    for (index, term) in product.glossary_terms.iter().enumerate() {
        validate::name(
            errors,
            &format!("data_product.glossary_terms[{index}]"),
            term,
            GLOSSARY_TERMS,
        );
    }
    if let Some(level) = &product.service_level {
        if !(0.0..=100.0).contains(&level.availability_percent) {
            errors.add(
                "data_product.service_level.availability_percent",
                "must be between 0 and 100",
            );
        }
        if level
            .freshness
            .as_ref()
            .is_some_and(|f| f.seconds < 0 || f.nanos < 0)
        {
            errors.add(
                "data_product.service_level.freshness",
                "must not be negative",
            );
        }
    }
    custom_properties::validate(
        errors,
        "data_product.custom_properties",
        &product.custom_properties,
    );
    if let Some(policy) = &product.subscription_policy {
        validate::principals(
            errors,
            "data_product.subscription_policy.approvers",
            &policy.approvers,
        );
    }
}

/// Tags are declared and terms exist (enabled, unless already attached).
pub(crate) async fn check_references<C: Conn>(
    conn: &C,
    product: &DataProduct,
    previous: Option<&DataProduct>,
) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    check_tags(conn, &mut errors, "data_product.tags", &product.tags).await?;
    check_forms(conn, &mut errors, "data_product.forms", &product.forms).await?;
    let already = previous.map_or(&[][..], |p| &p.glossary_terms[..]);
    check_terms(
        conn,
        &mut errors,
        "data_product.glossary_terms",
        &product.glossary_terms,
        already,
    )
    .await?;
    errors.into_result()
}

fn parse_state(value: &str) -> Result<LifecycleState, ApiError> {
    let upper = value.to_ascii_uppercase();
    let full = if upper.starts_with("LIFECYCLE_STATE_") {
        upper
    } else {
        format!("LIFECYCLE_STATE_{upper}")
    };
    LifecycleState::from_str_name(&full)
        .filter(|state| *state != LifecycleState::Unspecified)
        .ok_or_else(|| {
            ApiError::invalid(
                "filter",
                format!(
                    "unknown lifecycle_state '{value}': DRAFT, PUBLISHED, DEPRECATED or RETIRED"
                ),
            )
        })
}

impl Catalog {
    pub async fn create_data_product(
        &self,
        caller: &Caller,
        request: CreateDataProductRequest,
    ) -> Result<DataProduct, ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "parent", &request.parent, DOMAINS);
        validate::resource_id(&mut errors, "data_product_id", &request.data_product_id);
        match &request.data_product {
            Some(product) => validate_fields(&mut errors, product),
            None => errors.add("data_product", "is required"),
        }
        errors.into_result()?;
        if let Some(product) = &request.data_product {
            self.require_existing_principals(&principal_fields(
                product,
                &["owners", "subscription_policy"],
            ))
            .await?;
        }
        let product = DataProduct {
            name: format!(
                "{}/dataProducts/{}",
                request.parent, request.data_product_id
            ),
            uid: uuid::Uuid::new_v4().to_string(),
            lifecycle_state: LifecycleState::Draft as i32,
            published_revision: String::new(),
            etag: String::new(),
            ..request.data_product.clone().unwrap_or_default()
        };
        let parent = request.parent.clone();
        resources::create(
            self.store(),
            actor,
            "CreateDataProduct",
            &request.request_id,
            &request,
            move |conn| {
                Box::pin(async move {
                    resources::get::<Domain, _>(conn, &parent).await?;
                    check_references(conn, &product, None).await?;
                    Ok(product)
                })
            },
        )
        .await
    }

    pub async fn get_data_product(&self, name: &str) -> Result<DataProduct, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", name, DATA_PRODUCTS);
        errors.into_result()?;
        resources::get(self.store().db(), name).await
    }

    /// The page's products `caller` may DESCRIBE (a page may come back short; its token still
    /// leads on).
    pub async fn list_data_products(
        &self,
        caller: &Caller,
        request: ListDataProductsRequest,
    ) -> Result<ListDataProductsResponse, ApiError> {
        let all_domains = request.parent == "domains/-";
        if !all_domains {
            let mut errors = FieldErrors::new();
            validate::name(&mut errors, "parent", &request.parent, DOMAINS);
            errors.into_result()?;
        }
        let terms = filter::parse(&request.filter, FILTER_FIELDS)?;
        let page = PageRequest::parse(
            request.page_size,
            &request.page_token,
            &format!("{}\n{}", request.parent, request.filter),
        )?;
        let mut conditions = Vec::new();
        if !all_domains {
            conditions.push(resources::parent_is(&request.parent));
        }
        for term in &terms {
            conditions.push(match term.field.as_str() {
                "lifecycle_state" => {
                    resources::state_is(lifecycle_column(parse_state(&term.value)?))
                }
                "owner" => resources::owned_by(&term.value),
                "glossary_term" => resources::referring_to(&term.value),
                "tag" => resources::tagged(&term.value),
                other => return Err(filter::unhandled(other)),
            });
        }
        let mut data_products = resources::list::<DataProduct, _>(
            self.store().db(),
            conditions,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut data_products, |p| &p.name);
        self.visibility()
            .retain_describable(caller, &mut data_products, |p| Some(&p.name))
            .await?;
        Ok(ListDataProductsResponse {
            data_products,
            next_page_token,
        })
    }

    pub async fn update_data_product(
        &self,
        caller: &Caller,
        request: UpdateDataProductRequest,
    ) -> Result<DataProduct, ApiError> {
        let Some(input) = request.data_product else {
            return Err(ApiError::invalid("data_product", "is required"));
        };
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "data_product.name", &input.name, DATA_PRODUCTS);
        errors.into_result()?;
        let fields = fieldmask::resolve(request.update_mask.as_ref(), MUTABLE_FIELDS)?;
        let etag = self
            .authorize_owner_change::<DataProduct>(
                caller,
                &input.name,
                &input.etag,
                &fields,
                &input.owners,
            )
            .await?;
        self.require_existing_principals(&principal_fields(&input, &fields))
            .await?;
        let (name, apply_fields) = (input.name.clone(), fields.clone());
        resources::update(
            self.store(),
            caller.subject(),
            Edit::new("UpdateDataProduct", &name, &etag).mask(&fields),
            move |conn, mut product: DataProduct| {
                Box::pin(async move {
                    let previous = product.clone();
                    for field in &apply_fields {
                        match *field {
                            "display_name" => product.display_name = input.display_name.clone(),
                            "description" => product.description = input.description.clone(),
                            "owners" => product.owners = input.owners.clone(),
                            "tags" => product.tags = input.tags.clone(),
                            "glossary_terms" => {
                                product.glossary_terms = input.glossary_terms.clone()
                            }
                            "service_level" => product.service_level = input.service_level.clone(),
                            "forms" => product.forms = input.forms.clone(),
                            "custom_properties" => {
                                product.custom_properties = input.custom_properties.clone()
                            }
                            "subscription_policy" => {
                                product.subscription_policy = input.subscription_policy.clone()
                            }
                            other => return Err(fieldmask::unhandled(other)),
                        }
                    }
                    let mut errors = FieldErrors::new();
                    validate_fields(&mut errors, &product);
                    errors.into_result()?;
                    check_references(conn, &product, Some(&previous)).await?;
                    Ok(product)
                })
            },
        )
        .await
    }

    pub async fn delete_data_product(
        &self,
        caller: &Caller,
        request: DeleteDataProductRequest,
    ) -> Result<(), ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", &request.name, DATA_PRODUCTS);
        errors.into_result()?;
        // Refused while the product has assets.
        resources::delete(
            self.store(),
            actor,
            Edit::new("DeleteDataProduct", &request.name, &request.etag),
            |conn, product: &DataProduct| {
                Box::pin(async move {
                    let assets = resources::count_children::<Asset, _>(conn, &product.name).await?;
                    if assets == 0 {
                        return revisions::delete_all(conn, &product.name).await;
                    }
                    Err(ApiError::precondition(
                        format!("{} is not empty", product.name),
                        vec![Violation {
                            kind: "HAS_ASSETS".to_string(),
                            subject: product.name.clone(),
                            description: format!("{assets} asset(s) must be deleted first"),
                        }],
                    ))
                })
            },
        )
        .await
        .map(drop)
    }
}
