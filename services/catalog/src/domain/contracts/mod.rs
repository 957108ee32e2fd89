//! Open Data Contract Standard v3: importing a contract into a product and its assets, and
//! exporting a product (or one of its published revisions) as a contract. See `import` for what
//! maps to first-class fields; everything else is kept as "odcs:<key>" custom properties, so an
//! export gives it back and importing the export gives the same product.

mod document;
mod expansion;
mod export;
mod import;
mod sla;
mod types;
mod values;

use std::collections::HashMap;
use weft_storage::Conn;

use serde_json::json;
use weft_proto::weft::catalog::v1::{
    Asset, Column, CompatibilityMode, DataProduct, Domain, ExportDataContractRequest,
    ExportDataContractResponse, ImportDataContractRequest, ImportDataContractResponse,
    LifecycleState, TagKey,
};
use weft_runtime::{ApiError, Caller, FieldErrors, validate};
use weft_storage::Change;
use weft_storage::write::now;

use super::Catalog;
use super::{assets, data_products};
use crate::domain::schemas::normalize;
use crate::store::revisions;
use document::FIELD;
use import::{Plan, TagKeys, merge_service_level, plan, resource_id_from};
use weft_proto::time::timestamp as to_timestamp;
use weft_storage::resources::{self, StandardFields, change};

const DOMAINS: &[&str] = &["domains"];
const DATA_PRODUCTS: &[&str] = &["domains", "dataProducts"];

/// Every declared tag key with its allowed values.
async fn tag_keys<C: Conn>(conn: &C) -> Result<TagKeys, ApiError> {
    let mut keys = TagKeys::new();
    let mut after: Option<String> = None;
    loop {
        let page = resources::list::<TagKey, _>(conn, vec![], after.as_deref(), 1_000).await?;
        let done = page.len() < 1_000;
        after = page.last().map(|k| k.name.clone());
        for key in page {
            let id = key.name.trim_start_matches("tagKeys/").to_string();
            keys.insert(id, key.allowed_values);
        }
        if done {
            return Ok(keys);
        }
    }
}

/// Reports the faults Weft's own validation finds in what a contract describes under
/// `contract_yaml`, with where in the contract they come from.
fn in_contract(result: Result<(), ApiError>, at: &str) -> Result<(), ApiError> {
    result.map_err(|error| match error {
        ApiError::InvalidArgument(faults) => ApiError::InvalidArgument(
            faults
                .into_iter()
                .map(|(field, message)| {
                    let at = if at.is_empty() { "(the contract)" } else { at };
                    (FIELD.to_string(), format!("{at}: {field}: {message}"))
                })
                .collect(),
        ),
        other => other,
    })
}

/// Carries the glossary terms of columns that stay (a contract does not hold them).
fn keep_column_terms(columns: &mut [Column], previous: &[Column]) {
    for column in columns {
        if let Some(old) = previous.iter().find(|c| c.name == column.name) {
            if column.glossary_terms.is_empty() {
                column.glossary_terms = old.glossary_terms.clone();
            }
            keep_column_terms(&mut column.fields, &old.fields);
        }
    }
}

/// Output fields and etags aside, whether two values are the same.
fn same<R: StandardFields + Clone + PartialEq>(a: &R, b: &R) -> bool {
    let clear = |r: &R| {
        let mut r = r.clone();
        r.set_etag(String::new());
        r.set_times(None, None);
        r
    };
    clear(a) == clear(b)
}

/// What an import makes of a contract, without a database: parsed, validated against the ODCS
/// schema and planned into a product and assets (`tag_keys`: the declared tag keys and their
/// allowed values). The fuzz target drives the import's input handling through it.
pub fn plan_contract(
    yaml: &str,
    product_id: &str,
    tag_keys: &HashMap<String, Vec<String>>,
) -> Result<usize, ApiError> {
    let contract = document::parse(yaml)?;
    let planned = plan(
        &contract,
        &format!("domains/fuzz/dataProducts/{product_id}"),
        product_id,
        tag_keys,
    )?;
    Ok(planned.assets.len())
}

impl Catalog {
    pub async fn import_data_contract(
        &self,
        caller: &Caller,
        request: ImportDataContractRequest,
    ) -> Result<ImportDataContractResponse, ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "parent", &request.parent, DOMAINS);
        if !request.data_product_id.is_empty() {
            validate::resource_id(&mut errors, "data_product_id", &request.data_product_id);
        }
        errors.into_result()?;
        let contract = document::parse(&request.contract_yaml)?;
        let product_id = if request.data_product_id.is_empty() {
            let id = contract["id"].as_str().unwrap_or_default();
            resource_id_from(id, "c-").ok_or_else(|| {
                ApiError::invalid(
                    "data_product_id",
                    format!("is required: the contract's id '{id}' gives no resource id"),
                )
            })?
        } else {
            request.data_product_id.clone()
        };
        let product_name = format!("{}/dataProducts/{product_id}", request.parent);

        // The owners a contract names are checked as an update's would be (see `control`): a
        // project among them must exist, and replacing an existing product's owners needs
        // MANAGE_GRANTS on it (ALTER on the domain, which an import needs, is not enough).
        // The import then applies only to the product as it was checked.
        let checked_etag = {
            let planned = plan(
                &contract,
                &product_name,
                &product_id,
                &tag_keys(self.store().db()).await?,
            )?;
            let owners = &planned.product.owners;
            self.require_existing_principals(&[("contract_yaml", owners)])
                .await?;
            match resources::find::<DataProduct, _>(self.store().db(), &product_name).await? {
                Some(_) if !owners.is_empty() => Some(
                    self.authorize_owner_change::<DataProduct>(
                        caller,
                        &product_name,
                        "",
                        &["owners"],
                        owners,
                    )
                    .await?,
                ),
                Some(previous) => Some(previous.etag),
                None => None,
            }
        };

        let txn = self.store().begin_write(actor).await?;
        let conn = txn.conn();
        resources::get::<Domain, _>(conn, &request.parent).await?;
        let Plan {
            product: described,
            service_level,
            assets: described_assets,
            notes,
        } = plan(
            &contract,
            &product_name,
            &product_id,
            &tag_keys(conn).await?,
        )?;
        let time = to_timestamp(now());
        let mut changes: Vec<Change> = Vec::new();
        let detail = json!({ "contract": product_name });

        // The product: created as DRAFT, or its contract fields replaced.
        let previous = resources::find::<DataProduct, _>(conn, &product_name).await?;
        if previous.as_ref().map(|p| p.etag.as_str()) != checked_etag.as_deref() && !caller.is_admin
        {
            return Err(ApiError::stale_etag(&product_name));
        }
        let mut product = match &previous {
            Some(previous) => DataProduct {
                display_name: described.display_name.clone(),
                description: described.description.clone(),
                tags: described.tags.clone(),
                owners: if !described.owners.is_empty() {
                    described.owners.clone()
                } else {
                    previous.owners.clone()
                },
                service_level: merge_service_level(previous.service_level.clone(), &service_level),
                custom_properties: described.custom_properties.clone(),
                ..previous.clone()
            },
            None => DataProduct {
                name: product_name.clone(),
                uid: uuid::Uuid::new_v4().to_string(),
                lifecycle_state: LifecycleState::Draft as i32,
                service_level: merge_service_level(None, &service_level),
                create_time: Some(time),
                update_time: Some(time),
                ..described
            },
        };
        let mut errors = FieldErrors::new();
        data_products::validate_fields(&mut errors, &product);
        in_contract(errors.into_result(), "")?;
        in_contract(
            data_products::check_references(conn, &product, previous.as_ref()).await,
            "",
        )?;
        match &previous {
            None => {
                product = resources::insert(conn, &product).await?;
                changes.push(change(
                    "ImportDataContract",
                    "created",
                    &product,
                    detail.clone(),
                ));
            }
            Some(previous) if !same(previous, &product) => {
                product.update_time = Some(time);
                let revision = previous.etag.parse().unwrap_or_default();
                product = resources::update_row(conn, &product, revision).await?;
                changes.push(change(
                    "ImportDataContract",
                    "updated",
                    &product,
                    detail.clone(),
                ));
            }
            Some(_) => {}
        }

        // Its assets: created, or their contract fields replaced (schema changes checked
        // against each asset's compatibility mode).
        let mut imported: Vec<Asset> = Vec::new();
        let mut notes = notes;
        for (id, at, described) in described_assets {
            let name = format!("{product_name}/assets/{id}");
            let previous = resources::find::<Asset, _>(conn, &name).await?;
            let mut asset = match &previous {
                Some(previous) => {
                    let mut schema = described.schema.clone().unwrap_or_default();
                    let old = previous.schema.clone().unwrap_or_default();
                    keep_column_terms(&mut schema.columns, &old.columns);
                    Asset {
                        display_name: described.display_name.clone(),
                        description: described.description.clone(),
                        kind: described.kind,
                        location: described.location.clone(),
                        tags: described.tags.clone(),
                        schema: Some(schema),
                        custom_properties: described.custom_properties.clone(),
                        ..previous.clone()
                    }
                }
                None => Asset {
                    name: name.clone(),
                    uid: uuid::Uuid::new_v4().to_string(),
                    compatibility: CompatibilityMode::Backward as i32,
                    schema_version: 1,
                    create_time: Some(time),
                    update_time: Some(time),
                    ..described
                },
            };
            let mut errors = FieldErrors::new();
            assets::validate_fields(&mut errors, &asset);
            in_contract(errors.into_result(), &at)?;
            in_contract(
                assets::check_references(conn, &asset, previous.as_ref()).await,
                &at,
            )?;
            match &previous {
                None => {
                    asset.schema = Some(normalize(&asset.schema.clone().unwrap_or_default()));
                    assets::register_new(conn, &asset, actor).await?;
                    asset = resources::insert(conn, &asset).await?;
                    changes.push(change(
                        "ImportDataContract",
                        "created",
                        &asset,
                        detail.clone(),
                    ));
                }
                Some(previous) => {
                    assets::apply_changes(conn, previous, &mut asset, actor).await?;
                    if !same(previous, &asset) {
                        asset.update_time = Some(time);
                        let revision = previous.etag.parse().unwrap_or_default();
                        asset = resources::update_row(conn, &asset, revision).await?;
                        changes.push(change(
                            "ImportDataContract",
                            "updated",
                            &asset,
                            detail.clone(),
                        ));
                    }
                }
            }
            imported.push(asset);
        }
        for other in resources::all_children::<Asset, _>(conn, &product_name).await? {
            if !imported.iter().any(|a| a.name == other.name) {
                notes.push(weft_proto::weft::catalog::v1::ContractNote {
                    path: "schema".to_string(),
                    message: format!(
                        "{} is not in the contract and was left as it is",
                        other.name
                    ),
                });
            }
        }
        if !request.validate_only && !changes.is_empty() {
            txn.commit(changes).await?;
        }
        Ok(ImportDataContractResponse {
            data_product: Some(product),
            assets: imported,
            notes,
        })
    }

    pub async fn export_data_contract(
        &self,
        request: ExportDataContractRequest,
    ) -> Result<ExportDataContractResponse, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", &request.name, DATA_PRODUCTS);
        errors.into_result()?;
        let db = self.store().db();
        let (product, assets) = if request.revision.is_empty() {
            let product: DataProduct = resources::get(db, &request.name).await?;
            let assets = resources::all_children::<Asset, _>(db, &request.name).await?;
            (product, assets)
        } else {
            let number = request
                .revision
                .strip_prefix(&format!("{}/revisions/", request.name))
                .unwrap_or(&request.revision)
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "revision",
                        "must be a revision of the product: its number or {name}/revisions/{number}",
                    )
                })?;
            let revision = revisions::find(db, &request.name, number)
                .await?
                .ok_or_else(|| {
                    ApiError::not_found(format!("{}/revisions/{number}", request.name))
                })?;
            (revision.data_product.unwrap_or_default(), revision.assets)
        };
        let contract = export::contract(&product, &assets);
        Ok(ExportDataContractResponse {
            contract_yaml: document::render(&contract)?,
        })
    }
}
