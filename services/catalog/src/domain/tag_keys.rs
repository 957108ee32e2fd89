//! Tag keys: the declared keys (and allowed values) every tag must use.

use weft_proto::weft::catalog::v1::{
    CreateTagKeyRequest, DeleteTagKeyRequest, ListTagKeysRequest, ListTagKeysResponse, TagKey,
    UpdateTagKeyRequest,
};
use weft_runtime::paging::PageRequest;
use weft_runtime::{ApiError, Caller, FieldErrors, Violation, fieldmask, validate};

use super::Catalog;
use weft_storage::resources::{self, Edit, labels};

const TAG_KEYS: &[&str] = &["tagKeys"];
const MUTABLE_FIELDS: &[&str] = &["description", "allowed_values", "classification"];

fn validate_fields(errors: &mut FieldErrors, key: &TagKey) {
    validate::description(errors, "tag_key.description", &key.description);
    for (index, value) in key.allowed_values.iter().enumerate() {
        if value.is_empty() || value.chars().count() > 256 || value.chars().any(char::is_control) {
            errors.add(
                format!("tag_key.allowed_values[{index}]"),
                "must be 1-256 printable characters",
            );
        }
    }
    let mut sorted = key.allowed_values.clone();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != key.allowed_values.len() {
        errors.add("tag_key.allowed_values", "must not repeat a value");
    }
}

impl Catalog {
    pub async fn create_tag_key(
        &self,
        caller: &Caller,
        request: CreateTagKeyRequest,
    ) -> Result<TagKey, ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::resource_id(&mut errors, "tag_key_id", &request.tag_key_id);
        match &request.tag_key {
            Some(key) => validate_fields(&mut errors, key),
            None => errors.add("tag_key", "is required"),
        }
        errors.into_result()?;
        let key = TagKey {
            name: format!("tagKeys/{}", request.tag_key_id),
            etag: String::new(),
            ..request.tag_key.clone().unwrap_or_default()
        };
        resources::create(
            self.store(),
            actor,
            "CreateTagKey",
            &request.request_id,
            &request,
            move |_| Box::pin(async move { Ok(key) }),
        )
        .await
    }

    pub async fn get_tag_key(&self, name: &str) -> Result<TagKey, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", name, TAG_KEYS);
        errors.into_result()?;
        resources::get(self.store().db(), name).await
    }

    pub async fn list_tag_keys(
        &self,
        request: ListTagKeysRequest,
    ) -> Result<ListTagKeysResponse, ApiError> {
        let page = PageRequest::parse(request.page_size, &request.page_token, "tagKeys")?;
        let mut tag_keys = resources::list::<TagKey, _>(
            self.store().db(),
            vec![],
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut tag_keys, |k| &k.name);
        Ok(ListTagKeysResponse {
            tag_keys,
            next_page_token,
        })
    }

    /// Narrowing the allowed values is refused while a value it drops is in use.
    pub async fn update_tag_key(
        &self,
        caller: &Caller,
        request: UpdateTagKeyRequest,
    ) -> Result<TagKey, ApiError> {
        let actor = caller.subject();
        let Some(input) = request.tag_key else {
            return Err(ApiError::invalid("tag_key", "is required"));
        };
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "tag_key.name", &input.name, TAG_KEYS);
        errors.into_result()?;
        let fields = fieldmask::resolve(request.update_mask.as_ref(), MUTABLE_FIELDS)?;
        let name = input.name.clone();
        let etag = input.etag.clone();
        let apply_fields = fields.clone();
        resources::update(
            self.store(),
            actor,
            Edit::new("UpdateTagKey", &name, &etag).mask(&fields),
            move |conn, mut key: TagKey| {
                Box::pin(async move {
                    for field in &apply_fields {
                        match *field {
                            "description" => key.description = input.description.clone(),
                            "allowed_values" => key.allowed_values = input.allowed_values.clone(),
                            "classification" => key.classification = input.classification,
                            other => return Err(fieldmask::unhandled(other)),
                        }
                    }
                    let mut errors = FieldErrors::new();
                    validate_fields(&mut errors, &key);
                    errors.into_result()?;
                    if !key.allowed_values.is_empty() {
                        let id = key.name.trim_start_matches("tagKeys/");
                        let violations: Vec<Violation> = labels::tag_values_in_use(conn, id)
                            .await?
                            .into_iter()
                            .filter(|value| !key.allowed_values.contains(value))
                            .map(|value| Violation {
                                kind: "TAG_VALUE_IN_USE".to_string(),
                                subject: format!("{id}={value}"),
                                description: format!("resources are tagged {id}={value}"),
                            })
                            .collect();
                        if !violations.is_empty() {
                            return Err(ApiError::precondition(
                                "allowed_values would exclude values in use",
                                violations,
                            ));
                        }
                    }
                    Ok(key)
                })
            },
        )
        .await
    }

    pub async fn delete_tag_key(
        &self,
        caller: &Caller,
        request: DeleteTagKeyRequest,
    ) -> Result<(), ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", &request.name, TAG_KEYS);
        errors.into_result()?;
        resources::delete(
            self.store(),
            actor,
            Edit::new("DeleteTagKey", &request.name, &request.etag),
            |conn, key: &TagKey| {
                Box::pin(async move {
                    let id = key.name.trim_start_matches("tagKeys/");
                    let uses = labels::count_tag_uses(conn, id, None).await?;
                    if uses > 0 {
                        return Err(ApiError::precondition(
                            format!("{} is in use", key.name),
                            vec![Violation {
                                kind: "TAG_KEY_IN_USE".to_string(),
                                subject: key.name.clone(),
                                description: format!("{uses} tag(s) use this key"),
                            }],
                        ));
                    }
                    Ok(())
                })
            },
        )
        .await
        .map(drop)
    }
}
