//! Inherited tags: the classification tags lineage propagates to columns downstream of a tagged
//! column (lineage's tag propagation). Lineage owns them: it sends a column's whole set, the catalog
//! stores it on the asset's column (output only, not part of the schema's versions) and emits
//! the asset's `asset.updated` event, through which governance's tag-based grants and guardrails
//! see them. Columns already holding the set sent are left alone (no event), so lineage's
//! recomputation after that event changes nothing and the exchange settles.

use std::collections::BTreeMap;

use weft_proto::columns;
use weft_proto::weft::catalog::v1::{Asset, InheritedTag, Schema, SetInheritedTagsRequest};
use weft_runtime::{ApiError, Caller, FieldErrors, validate};

use super::Catalog;
use weft_storage::resources::{self, Edit};

const ASSETS: &[&str] = &["domains", "dataProducts", "assets"];

/// (column path, its new inherited tags), per asset.
type AssetUpdates = BTreeMap<String, Vec<(String, Vec<InheritedTag>)>>;

impl Catalog {
    /// Replaces the inherited tags of the given columns; returns how many columns changed.
    /// Columns (or assets) that no longer exist are skipped: lineage's next pass follows the
    /// catalog's events and no longer sends them.
    pub async fn set_inherited_tags(
        &self,
        caller: &Caller,
        request: SetInheritedTagsRequest,
    ) -> Result<i64, ApiError> {
        let actor = caller.subject();
        let updates = validated(request)?;
        let mut changed = 0;
        for (name, columns) in updates {
            let Some(asset) = resources::find::<Asset, _>(self.store().db(), &name).await? else {
                continue;
            };
            let mut preview = asset;
            let count = apply(&mut preview, &columns);
            if count == 0 {
                continue;
            }
            let result = resources::update(
                self.store(),
                actor,
                Edit::new("SetInheritedTags", &name, "").mask(&["schema.columns.inherited_tags"]),
                move |_, mut asset: Asset| {
                    Box::pin(async move {
                        apply(&mut asset, &columns);
                        Ok(asset)
                    })
                },
            )
            .await;
            match result {
                Ok(_) => changed += count,
                Err(ApiError::NotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(changed)
    }
}

fn validated(request: SetInheritedTagsRequest) -> Result<AssetUpdates, ApiError> {
    let mut errors = FieldErrors::new();
    let mut updates = AssetUpdates::new();
    for (index, entry) in request.columns.into_iter().enumerate() {
        let at = format!("columns[{index}]");
        validate::name(&mut errors, &format!("{at}.asset"), &entry.asset, ASSETS);
        if entry.column.is_empty() {
            errors.add(format!("{at}.column"), "is required (a dotted column path)");
        }
        for (tag_index, inherited) in entry.tags.iter().enumerate() {
            let field = format!("{at}.tags[{tag_index}]");
            match &inherited.tag {
                Some(tag) => validate::tags(
                    &mut errors,
                    &format!("{field}.tag"),
                    std::slice::from_ref(tag),
                ),
                None => errors.add(format!("{field}.tag"), "is required"),
            }
            if inherited.source.is_empty() {
                errors.add(format!("{field}.source"), "is required");
            }
        }
        updates
            .entry(entry.asset)
            .or_default()
            .push((entry.column, entry.tags));
    }
    errors.into_result()?;
    Ok(updates)
}

/// Sets each column's inherited tags; returns how many columns changed.
fn apply(asset: &mut Asset, columns: &[(String, Vec<InheritedTag>)]) -> i64 {
    let Some(schema) = asset.schema.as_mut() else {
        return 0;
    };
    let mut changed = 0;
    for (path, tags) in columns {
        if let Some(column) = columns::find_mut(&mut schema.columns, path)
            && column.inherited_tags != *tags
        {
            column.inherited_tags = tags.clone();
            changed += 1;
        }
    }
    changed
}

/// Copies the inherited tags of `from`'s columns onto the columns of `into` at the same paths:
/// an owner's schema change keeps what lineage propagated to the columns that remain.
pub fn carry_inherited_tags(from: &Schema, into: &mut Schema) {
    for (path, column) in columns::flatten(&from.columns) {
        if !column.inherited_tags.is_empty()
            && let Some(target) = columns::find_mut(&mut into.columns, &path)
        {
            target.inherited_tags = column.inherited_tags.clone();
        }
    }
}
