//! Assets: a product's output ports (tables, views, file sets, streams) at a unique location,
//! with a schema whose every change makes a new version checked against the compatibility mode.

use std::collections::HashMap;
use weft_storage::Conn;

use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, BatchCreateAssetsRequest, BatchCreateAssetsResponse, Column,
    CompatibilityMode, CreateAssetRequest, DataProduct, DeleteAssetRequest,
    DiffSchemaVersionsRequest, DiffSchemaVersionsResponse, ListAssetsRequest, ListAssetsResponse,
    ListSchemaVersionsRequest, ListSchemaVersionsResponse, Schema, SchemaVersion,
    UpdateAssetRequest,
};
use weft_runtime::paging::PageRequest;
use weft_runtime::{ApiError, Caller, FieldErrors, fieldmask, filter, validate};

use super::Catalog;
use super::custom_properties;
use super::forms::check_forms;
use super::inherited_tags::carry_inherited_tags;
use super::references::{KnownTagKeys, check_tags_with, check_terms};
use super::schemas::{diff, normalize, validate_schema, violations};
use crate::store::assets;
use weft_proto::resource::asset_kind_column;
use weft_storage::resources::{self, Edit};

const DATA_PRODUCTS: &[&str] = &["domains", "dataProducts"];
const ASSETS: &[&str] = &["domains", "dataProducts", "assets"];
const SCHEMA_VERSIONS: &[&str] = &["domains", "dataProducts", "assets", "schemaVersions"];
const GLOSSARY_TERMS: &[&str] = &["glossaries", "terms"];
const MUTABLE_FIELDS: &[&str] = &[
    "display_name",
    "description",
    "owners",
    "tags",
    "glossary_terms",
    "forms",
    "schema",
    "compatibility",
    "location",
    "custom_properties",
];
const FILTER_FIELDS: &[&str] = &["kind", "owner", "tag", "glossary_term"];
const MAX_LOCATION_PART: usize = 1024;
/// Most creates in one BatchCreateAssets (one transaction).
const MAX_BATCH_CREATES: usize = 1000;

pub(crate) fn validate_fields(errors: &mut FieldErrors, asset: &Asset) {
    if !asset.display_name.is_empty() {
        validate::display_name(errors, "asset.display_name", &asset.display_name);
    }
    if asset.kind() == AssetKind::Unspecified {
        errors.add("asset.kind", "is required: TABLE, VIEW, FILE_SET or STREAM");
    }
    match &asset.location {
        None => errors.add(
            "asset.location",
            "is required (OpenLineage namespace and name)",
        ),
        Some(location) => {
            for (field, value) in [("namespace", &location.namespace), ("name", &location.name)] {
                if value.trim().is_empty() {
                    errors.add(format!("asset.location.{field}"), "is required");
                } else if value.len() > MAX_LOCATION_PART || value.chars().any(char::is_control) {
                    errors.add(
                        format!("asset.location.{field}"),
                        format!("must be at most {MAX_LOCATION_PART} printable characters"),
                    );
                }
            }
        }
    }
    validate::description(errors, "asset.description", &asset.description);
    validate::principals(errors, "asset.owners", &asset.owners);
    validate::tags(errors, "asset.tags", &asset.tags);
    for (index, term) in asset.glossary_terms.iter().enumerate() {
        validate::name(
            errors,
            &format!("asset.glossary_terms[{index}]"),
            term,
            GLOSSARY_TERMS,
        );
    }
    if let Some(schema) = &asset.schema {
        validate_schema(errors, "asset.schema", schema);
    }
    custom_properties::validate(errors, "asset.custom_properties", &asset.custom_properties);
}

/// Declared tags and existing (enabled, if new) terms, on the asset and on every column.
pub(crate) async fn check_references<C: Conn>(
    conn: &C,
    asset: &Asset,
    previous: Option<&Asset>,
) -> Result<(), ApiError> {
    check_references_with(conn, &mut KnownTagKeys::new(), asset, previous).await
}

/// `check_references`, looking each tag key up once across calls sharing `keys` (a batch).
async fn check_references_with<C: Conn>(
    conn: &C,
    keys: &mut KnownTagKeys,
    asset: &Asset,
    previous: Option<&Asset>,
) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    check_tags_with(conn, keys, &mut errors, "asset.tags", &asset.tags).await?;
    check_forms(conn, &mut errors, "asset.forms", &asset.forms).await?;
    let already: Vec<String> = previous.map(all_terms).unwrap_or_default();
    check_terms(
        conn,
        &mut errors,
        "asset.glossary_terms",
        &asset.glossary_terms,
        &already,
    )
    .await?;
    let mut stack: Vec<(String, &Column)> = asset
        .schema
        .as_ref()
        .map(|s| {
            s.columns
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("asset.schema.columns[{i}]"), c))
                .collect()
        })
        .unwrap_or_default();
    while let Some((field, column)) = stack.pop() {
        let field_tags = format!("{field}.tags");
        check_tags_with(conn, keys, &mut errors, &field_tags, &column.tags).await?;
        check_terms(
            conn,
            &mut errors,
            &format!("{field}.glossary_terms"),
            &column.glossary_terms,
            &already,
        )
        .await?;
        stack.extend(
            column
                .fields
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("{field}.fields[{i}]"), c)),
        );
    }
    errors.into_result()
}

/// Every term an asset carries, on itself or its columns.
fn all_terms(asset: &Asset) -> Vec<String> {
    let mut terms = asset.glossary_terms.clone();
    let mut stack: Vec<&Column> = asset.schema.iter().flat_map(|s| &s.columns).collect();
    while let Some(column) = stack.pop() {
        terms.extend(column.glossary_terms.iter().cloned());
        stack.extend(&column.fields);
    }
    terms
}

pub(crate) fn mode_of(asset: &Asset) -> CompatibilityMode {
    match asset.compatibility() {
        CompatibilityMode::Unspecified => CompatibilityMode::Backward,
        mode => mode,
    }
}

fn parse_kind(value: &str) -> Result<AssetKind, ApiError> {
    let upper = value.to_ascii_uppercase();
    let full = if upper.starts_with("ASSET_KIND_") {
        upper
    } else {
        format!("ASSET_KIND_{upper}")
    };
    AssetKind::from_str_name(&full)
        .filter(|kind| *kind != AssetKind::Unspecified)
        .ok_or_else(|| {
            ApiError::invalid(
                "filter",
                format!("unknown kind '{value}': TABLE, VIEW, FILE_SET or STREAM"),
            )
        })
}

/// Stores what belongs to a new (validated) asset besides its resource row: its location claim
/// and schema version 1.
pub(crate) async fn register_new<C: Conn>(
    conn: &C,
    asset: &Asset,
    actor: &str,
) -> Result<(), ApiError> {
    assets::claim_location(
        conn,
        asset.location.as_ref().expect("validated"),
        &asset.name,
    )
    .await?;
    let schema = asset.schema.clone().unwrap_or_default();
    assets::insert_schema_version(conn, &asset.name, 1, actor, &schema).await
}

/// Applies what changed from `previous` to the (validated) `asset`: moves its location claim, and
/// checks a schema change against the compatibility mode (FAILED_PRECONDITION listing each
/// violation) before storing it as a new version.
pub(crate) async fn apply_changes<C: Conn>(
    conn: &C,
    previous: &Asset,
    asset: &mut Asset,
    actor: &str,
) -> Result<(), ApiError> {
    if asset.location != previous.location {
        assets::release_location(conn, &asset.name).await?;
        assets::claim_location(
            conn,
            asset.location.as_ref().expect("validated"),
            &asset.name,
        )
        .await?;
    }
    // Inherited tags are lineage's, not part of the schema: versions compare without them.
    let old_schema = normalize(&previous.schema.clone().unwrap_or_default());
    let mut new_schema = normalize(&asset.schema.clone().unwrap_or_default());
    if new_schema != old_schema {
        let mode = mode_of(asset);
        let broken = violations(&old_schema, &new_schema, mode);
        if !broken.is_empty() {
            return Err(ApiError::precondition(
                format!(
                    "{}: the schema change breaks {} compatibility ({} violation(s))",
                    asset.name,
                    mode.as_str_name().trim_start_matches("COMPATIBILITY_MODE_"),
                    broken.len()
                ),
                broken,
            ));
        }
        asset.schema_version = previous.schema_version + 1;
        assets::insert_schema_version(conn, &asset.name, asset.schema_version, actor, &new_schema)
            .await?;
    }
    if let Some(previous_schema) = &previous.schema {
        carry_inherited_tags(previous_schema, &mut new_schema);
    }
    asset.schema = Some(new_schema);
    Ok(())
}

/// A new asset from a validated create request: its name, uid, schema version 1.
fn new_asset(parent: &str, asset_id: &str, input: Option<&Asset>) -> Asset {
    let input = input.cloned().unwrap_or_default();
    Asset {
        name: format!("{parent}/assets/{asset_id}"),
        uid: uuid::Uuid::new_v4().to_string(),
        compatibility: mode_of(&input) as i32,
        schema: Some(normalize(&input.schema.clone().unwrap_or_default())),
        schema_version: 1,
        etag: String::new(),
        ..input
    }
}

/// The faults of one create of a batch, under `at` ("requests[3]"): a parent other than the
/// batch's (the gateway authorized the batch's), a request id of its own, its fields.
fn validate_batch_entry(
    errors: &mut FieldErrors,
    at: &str,
    parent: &str,
    create: &CreateAssetRequest,
) {
    let mut entry = FieldErrors::new();
    if !create.parent.is_empty() && create.parent != parent {
        entry.add("parent", "must be empty or the batch's parent");
    }
    if !create.request_id.is_empty() {
        entry.add("request_id", "must be empty: the batch has one request_id");
    }
    validate::resource_id(&mut entry, "asset_id", &create.asset_id);
    match &create.asset {
        Some(asset) => validate_fields(&mut entry, asset),
        None => entry.add("asset", "is required"),
    }
    errors.nest(at, entry);
}

impl Catalog {
    pub async fn create_asset(
        &self,
        caller: &Caller,
        request: CreateAssetRequest,
    ) -> Result<Asset, ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "parent", &request.parent, DATA_PRODUCTS);
        validate::resource_id(&mut errors, "asset_id", &request.asset_id);
        match &request.asset {
            Some(asset) => validate_fields(&mut errors, asset),
            None => errors.add("asset", "is required"),
        }
        errors.into_result()?;
        if let Some(asset) = &request.asset {
            self.require_existing_principals(&[("asset.owners", &asset.owners)])
                .await?;
        }
        let asset = new_asset(&request.parent, &request.asset_id, request.asset.as_ref());
        let (parent, actor_name) = (request.parent.clone(), actor.to_string());
        resources::create(
            self.store(),
            actor,
            "CreateAsset",
            &request.request_id,
            &request,
            move |conn| {
                Box::pin(async move {
                    resources::get::<DataProduct, _>(conn, &parent).await?;
                    check_references(conn, &asset, None).await?;
                    register_new(conn, &asset, &actor_name).await?;
                    Ok(asset)
                })
            },
        )
        .await
    }

    /// Creates every asset of the batch in one transaction, or none: a fault of any (invalid
    /// field, taken location, unknown reference) refuses the batch, naming `requests[i]`.
    pub async fn batch_create_assets(
        &self,
        caller: &Caller,
        request: BatchCreateAssetsRequest,
    ) -> Result<BatchCreateAssetsResponse, ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "parent", &request.parent, DATA_PRODUCTS);
        let mut ids = HashMap::new();
        let mut locations = HashMap::new();
        if request.requests.is_empty() || request.requests.len() > MAX_BATCH_CREATES {
            errors.add(
                "requests",
                format!(
                    "must hold 1 to {MAX_BATCH_CREATES} creates (it holds {})",
                    request.requests.len()
                ),
            );
        } else {
            for (index, create) in request.requests.iter().enumerate() {
                let at = format!("requests[{index}]");
                validate_batch_entry(&mut errors, &at, &request.parent, create);
                if let Some(first) = ids.insert(create.asset_id.as_str(), index) {
                    errors.add(
                        format!("{at}.asset_id"),
                        format!("repeats requests[{first}].asset_id"),
                    );
                }
                if let Some(location) = create.asset.as_ref().and_then(|a| a.location.as_ref())
                    && let Some(first) = locations
                        .insert((location.namespace.as_str(), location.name.as_str()), index)
                {
                    errors.add(
                        format!("{at}.asset.location"),
                        format!("repeats requests[{first}].asset.location"),
                    );
                }
            }
        }
        errors.into_result()?;
        let owner_fields: Vec<(String, &[String])> = request
            .requests
            .iter()
            .enumerate()
            .filter_map(|(index, create)| {
                let asset = create.asset.as_ref()?;
                Some((format!("requests[{index}].asset.owners"), &asset.owners[..]))
            })
            .collect();
        let owner_fields: Vec<(&str, &[String])> = owner_fields
            .iter()
            .map(|(field, owners)| (field.as_str(), *owners))
            .collect();
        self.require_existing_principals(&owner_fields).await?;
        let assets: Vec<Asset> = request
            .requests
            .iter()
            .map(|create| new_asset(&request.parent, &create.asset_id, create.asset.as_ref()))
            .collect();
        let (parent, actor_name) = (request.parent.clone(), actor.to_string());
        resources::create_many(
            self.store(),
            actor,
            "BatchCreateAssets",
            &request.request_id,
            &request,
            move |conn| {
                Box::pin(async move {
                    resources::get::<DataProduct, _>(conn, &parent).await?;
                    let mut keys = KnownTagKeys::new();
                    for (index, asset) in assets.iter().enumerate() {
                        let within = |error: ApiError| error.within(&format!("requests[{index}]"));
                        check_references_with(conn, &mut keys, asset, None)
                            .await
                            .map_err(within)?;
                        register_new(conn, asset, &actor_name)
                            .await
                            .map_err(within)?;
                    }
                    Ok(assets)
                })
            },
            |assets| BatchCreateAssetsResponse { assets },
        )
        .await
    }

    pub async fn get_asset(&self, name: &str) -> Result<Asset, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", name, ASSETS);
        errors.into_result()?;
        resources::get(self.store().db(), name).await
    }

    pub async fn list_assets(
        &self,
        request: ListAssetsRequest,
    ) -> Result<ListAssetsResponse, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "parent", &request.parent, DATA_PRODUCTS);
        errors.into_result()?;
        let terms = filter::parse(&request.filter, FILTER_FIELDS)?;
        let page = PageRequest::parse(
            request.page_size,
            &request.page_token,
            &format!("{}\n{}", request.parent, request.filter),
        )?;
        let mut conditions = vec![resources::parent_is(&request.parent)];
        for term in &terms {
            conditions.push(match term.field.as_str() {
                "kind" => resources::state_is(asset_kind_column(parse_kind(&term.value)?)),
                "owner" => resources::owned_by(&term.value),
                "glossary_term" => resources::referring_to(&term.value),
                "tag" => resources::tagged(&term.value),
                other => return Err(filter::unhandled(other)),
            });
        }
        let mut assets = resources::list::<Asset, _>(
            self.store().db(),
            conditions,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut assets, |a| &a.name);
        Ok(ListAssetsResponse {
            assets,
            next_page_token,
        })
    }

    /// A schema change makes a new version, refused with FAILED_PRECONDITION listing each
    /// violation when it breaks the (new) compatibility mode.
    pub async fn update_asset(
        &self,
        caller: &Caller,
        request: UpdateAssetRequest,
    ) -> Result<Asset, ApiError> {
        let Some(input) = request.asset else {
            return Err(ApiError::invalid("asset", "is required"));
        };
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "asset.name", &input.name, ASSETS);
        errors.into_result()?;
        let fields = fieldmask::resolve(request.update_mask.as_ref(), MUTABLE_FIELDS)?;
        let etag = self
            .authorize_owner_change::<Asset>(
                caller,
                &input.name,
                &input.etag,
                &fields,
                &input.owners,
            )
            .await?;
        if fields.contains(&"owners") {
            self.require_existing_principals(&[("asset.owners", &input.owners)])
                .await?;
        }
        let (name, apply_fields, actor_name) = (
            input.name.clone(),
            fields.clone(),
            caller.subject().to_string(),
        );
        resources::update(
            self.store(),
            caller.subject(),
            Edit::new("UpdateAsset", &name, &etag).mask(&fields),
            move |conn, mut asset: Asset| {
                Box::pin(async move {
                    let previous = asset.clone();
                    for field in &apply_fields {
                        match *field {
                            "display_name" => asset.display_name = input.display_name.clone(),
                            "description" => asset.description = input.description.clone(),
                            "owners" => asset.owners = input.owners.clone(),
                            "tags" => asset.tags = input.tags.clone(),
                            "glossary_terms" => asset.glossary_terms = input.glossary_terms.clone(),
                            "forms" => asset.forms = input.forms.clone(),
                            "schema" => asset.schema = input.schema.clone(),
                            "compatibility" => asset.compatibility = mode_of(&input) as i32,
                            "custom_properties" => {
                                asset.custom_properties = input.custom_properties.clone()
                            }
                            "location" => asset.location = input.location.clone(),
                            other => return Err(fieldmask::unhandled(other)),
                        }
                    }
                    let mut errors = FieldErrors::new();
                    validate_fields(&mut errors, &asset);
                    errors.into_result()?;
                    check_references(conn, &asset, Some(&previous)).await?;
                    apply_changes(conn, &previous, &mut asset, &actor_name).await?;
                    Ok(asset)
                })
            },
        )
        .await
    }

    pub async fn delete_asset(
        &self,
        caller: &Caller,
        request: DeleteAssetRequest,
    ) -> Result<(), ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", &request.name, ASSETS);
        errors.into_result()?;
        resources::delete(
            self.store(),
            actor,
            Edit::new("DeleteAsset", &request.name, &request.etag),
            |conn, asset: &Asset| {
                Box::pin(async move {
                    assets::release_location(conn, &asset.name).await?;
                    assets::delete_schema_versions(conn, &asset.name).await
                })
            },
        )
        .await
        .map(drop)
    }

    pub async fn list_schema_versions(
        &self,
        request: ListSchemaVersionsRequest,
    ) -> Result<ListSchemaVersionsResponse, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "parent", &request.parent, ASSETS);
        errors.into_result()?;
        resources::get::<Asset, _>(self.store().db(), &request.parent).await?;
        let page = PageRequest::parse(request.page_size, &request.page_token, &request.parent)?;
        let before = page.after_number()?;
        let versions = assets::list_schema_versions(
            self.store().db(),
            &request.parent,
            before,
            page.fetch_limit(),
        )
        .await?;
        // Pages are keyed by version number (newest first), not by name.
        let mut keyed: Vec<(String, SchemaVersion)> = versions
            .into_iter()
            .map(|v| (v.version.to_string(), v))
            .collect();
        let next_page_token = page.finish(&mut keyed, |(key, _)| key);
        Ok(ListSchemaVersionsResponse {
            schema_versions: keyed.into_iter().map(|(_, v)| v).collect(),
            next_page_token,
        })
    }

    pub async fn get_schema_version(&self, name: &str) -> Result<SchemaVersion, ApiError> {
        let mut errors = FieldErrors::new();
        let parsed = validate_version_name(&mut errors, "name", name);
        errors.into_result()?;
        let (asset, version) = parsed.expect("validated");
        assets::find_schema_version(self.store().db(), &asset, version)
            .await?
            .ok_or_else(|| ApiError::not_found(name))
    }

    /// The changes between two versions, each marked breaking or not under the asset's mode.
    pub async fn diff_schema_versions(
        &self,
        request: DiffSchemaVersionsRequest,
    ) -> Result<DiffSchemaVersionsResponse, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "asset", &request.asset, ASSETS);
        if request.from_version < 1 {
            errors.add("from_version", "must be a version number (1 or more)");
        }
        if request.to_version < 1 {
            errors.add("to_version", "must be a version number (1 or more)");
        }
        errors.into_result()?;
        let db = self.store().db();
        let asset: Asset = resources::get(db, &request.asset).await?;
        let mut schemas: Vec<Schema> = Vec::new();
        for (field, version) in [
            ("from_version", request.from_version),
            ("to_version", request.to_version),
        ] {
            let found = assets::find_schema_version(db, &request.asset, version)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid(
                        field,
                        format!("{} has no schema version {version}", request.asset),
                    )
                })?;
            schemas.push(found.schema.unwrap_or_default());
        }
        Ok(DiffSchemaVersionsResponse {
            changes: diff(&schemas[0], &schemas[1], mode_of(&asset)),
        })
    }
}

/// "…/assets/{asset}/schemaVersions/{n}" → (asset name, n).
fn validate_version_name(
    errors: &mut FieldErrors,
    field: &str,
    name: &str,
) -> Option<(String, i64)> {
    let invalid = |errors: &mut FieldErrors| {
        errors.add(
            field,
            "must be domains/{id}/dataProducts/{id}/assets/{id}/schemaVersions/{number}",
        );
        None
    };
    let Some((asset, version)) = name.rsplit_once("/schemaVersions/") else {
        return invalid(errors);
    };
    let Ok(version) = version.parse::<i64>() else {
        return invalid(errors);
    };
    if version < 1 || validate::parse_name(asset, &SCHEMA_VERSIONS[..3]).is_none() {
        return invalid(errors);
    }
    Some((asset.to_string(), version))
}
