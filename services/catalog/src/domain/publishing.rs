//! The lifecycle of data products: publishing freezes an immutable revision of the product and
//! its assets (consumers see that one; later edits go to the draft), deprecation, retirement.
//!
//! Publishing asks governance's PUBLISH rules first (`publish_rules`: refused on a BLOCK
//! violation, and while governance cannot be reached); the evaluation id is kept in the revision.

use weft_proto::weft::catalog::v1::{
    Asset, DataProduct, DataProductRevision, DeprecateDataProductRequest,
    GetDataProductRevisionRequest, LifecycleState, ListDataProductRevisionsRequest,
    ListDataProductRevisionsResponse, PublishDataProductRequest, RetireDataProductRequest,
};
use weft_runtime::paging::PageRequest;
use weft_runtime::{ApiError, Caller, FieldErrors, Violation, validate};
use weft_storage::write::now;

use super::Catalog;
use crate::store::revisions;
use weft_proto::time::timestamp as to_timestamp;
use weft_storage::resources::{self, Edit};

const DATA_PRODUCTS: &[&str] = &["domains", "dataProducts"];
const REVISIONS: &[&str] = &["domains", "dataProducts", "revisions"];

fn transition_error(
    product: &DataProduct,
    to: LifecycleState,
    allowed_from: &[LifecycleState],
) -> ApiError {
    let name = |state: LifecycleState| {
        state
            .as_str_name()
            .trim_start_matches("LIFECYCLE_STATE_")
            .to_string()
    };
    ApiError::precondition(
        format!(
            "{} is {} and cannot become {}",
            product.name,
            name(product.lifecycle_state()),
            name(to)
        ),
        vec![Violation {
            kind: "INVALID_TRANSITION".to_string(),
            subject: product.name.clone(),
            description: format!(
                "allowed from {}",
                allowed_from
                    .iter()
                    .map(|s| name(*s))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        }],
    )
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    validate::name(&mut errors, "name", name, DATA_PRODUCTS);
    errors.into_result()
}

impl Catalog {
    /// Freezes revision N+1 of the product and its assets and makes the product PUBLISHED.
    pub async fn publish_data_product(
        &self,
        caller: &Caller,
        request: PublishDataProductRequest,
    ) -> Result<DataProduct, ApiError> {
        let actor = caller.subject();
        check_name(&request.name)?;
        let actor_name = actor.to_string();
        let rules = self.publish_rules().clone();
        resources::update(
            self.store(),
            actor,
            Edit::new("PublishDataProduct", &request.name, &request.etag)
                .verb("published")
                .mask::<&str>(&[]),
            move |conn, mut product: DataProduct| {
                Box::pin(async move {
                    let allowed = [LifecycleState::Draft, LifecycleState::Published];
                    if !allowed.contains(&product.lifecycle_state()) {
                        return Err(transition_error(
                            &product,
                            LifecycleState::Published,
                            &allowed,
                        ));
                    }
                    let assets = resources::all_children::<Asset, _>(conn, &product.name).await?;
                    if assets.is_empty() {
                        return Err(ApiError::precondition(
                            format!("{} has no assets to publish", product.name),
                            vec![Violation {
                                kind: "NO_ASSETS".to_string(),
                                subject: product.name.clone(),
                                description: "a data product publishes at least one asset"
                                    .to_string(),
                            }],
                        ));
                    }
                    // Asked inside the transaction, so that what is evaluated is what is frozen.
                    let rule_evaluation_id = rules.check(&product, &assets).await?;
                    let number = revisions::latest_number(conn, &product.name).await? + 1;
                    let revision_name = format!("{}/revisions/{number}", product.name);
                    product.lifecycle_state = LifecycleState::Published as i32;
                    product.published_revision = revision_name.clone();
                    let revision = DataProductRevision {
                        name: revision_name,
                        data_product: Some(product.clone()),
                        assets,
                        rule_evaluation_id,
                        published_by: actor_name,
                        publish_time: Some(to_timestamp(now())),
                    };
                    revisions::insert(conn, &product.name, number, &revision).await?;
                    Ok(product)
                })
            },
        )
        .await
    }

    pub async fn deprecate_data_product(
        &self,
        caller: &Caller,
        request: DeprecateDataProductRequest,
    ) -> Result<DataProduct, ApiError> {
        let actor = caller.subject();
        check_name(&request.name)?;
        self.transition(
            actor,
            "DeprecateDataProduct",
            "deprecated",
            &request.name,
            &request.etag,
            LifecycleState::Deprecated,
            &[LifecycleState::Published],
        )
        .await
    }

    pub async fn retire_data_product(
        &self,
        caller: &Caller,
        request: RetireDataProductRequest,
    ) -> Result<DataProduct, ApiError> {
        let actor = caller.subject();
        check_name(&request.name)?;
        self.transition(
            actor,
            "RetireDataProduct",
            "retired",
            &request.name,
            &request.etag,
            LifecycleState::Retired,
            &[LifecycleState::Published, LifecycleState::Deprecated],
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn transition(
        &self,
        actor: &str,
        method: &'static str,
        verb: &'static str,
        name: &str,
        etag: &str,
        to: LifecycleState,
        allowed_from: &'static [LifecycleState],
    ) -> Result<DataProduct, ApiError> {
        resources::update(
            self.store(),
            actor,
            Edit::new(method, name, etag).verb(verb).mask::<&str>(&[]),
            move |_, mut product: DataProduct| {
                Box::pin(async move {
                    if !allowed_from.contains(&product.lifecycle_state()) {
                        return Err(transition_error(&product, to, allowed_from));
                    }
                    product.lifecycle_state = to as i32;
                    Ok(product)
                })
            },
        )
        .await
    }

    pub async fn list_data_product_revisions(
        &self,
        request: ListDataProductRevisionsRequest,
    ) -> Result<ListDataProductRevisionsResponse, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "parent", &request.parent, DATA_PRODUCTS);
        errors.into_result()?;
        resources::get::<DataProduct, _>(self.store().db(), &request.parent).await?;
        let page = PageRequest::parse(request.page_size, &request.page_token, &request.parent)?;
        let before = page.after_number()?;
        let found = revisions::list(
            self.store().db(),
            &request.parent,
            before,
            page.fetch_limit(),
        )
        .await?;
        // Pages are keyed by revision number (newest first).
        let mut keyed: Vec<(String, DataProductRevision)> = found
            .into_iter()
            .map(|r| (r.name.rsplit('/').next().unwrap_or_default().to_string(), r))
            .collect();
        let next_page_token = page.finish(&mut keyed, |(key, _)| key);
        Ok(ListDataProductRevisionsResponse {
            revisions: keyed.into_iter().map(|(_, r)| r).collect(),
            next_page_token,
        })
    }

    pub async fn get_data_product_revision(
        &self,
        request: GetDataProductRevisionRequest,
    ) -> Result<DataProductRevision, ApiError> {
        let parsed = request
            .name
            .rsplit_once("/revisions/")
            .and_then(|(product, number)| Some((product, number.parse::<i64>().ok()?)))
            .filter(|(product, number)| {
                *number >= 1 && validate::parse_name(product, &REVISIONS[..2]).is_some()
            });
        let Some((product, number)) = parsed else {
            return Err(ApiError::invalid(
                "name",
                "must be domains/{id}/dataProducts/{id}/revisions/{number}",
            ));
        };
        revisions::find(self.store().db(), product, number)
            .await?
            .ok_or_else(|| ApiError::not_found(&request.name))
    }
}
