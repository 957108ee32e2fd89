//! Metadata form types (typed fields, required or optional) and the forms products and assets
//! carry, validated against their type on every write.

use std::collections::HashSet;
use std::sync::LazyLock;
use weft_storage::Conn;

use regex::Regex;
use weft_proto::weft::catalog::v1::form_value::Value;
use weft_proto::weft::catalog::v1::{
    CreateMetadataFormTypeRequest, DeleteMetadataFormTypeRequest, FormFieldType,
    ListMetadataFormTypesRequest, ListMetadataFormTypesResponse, MetadataForm, MetadataFormType,
};
use weft_runtime::paging::PageRequest;
use weft_runtime::{ApiError, Caller, FieldErrors, Violation, validate};

use super::Catalog;
use weft_storage::resources::{self, Edit, labels};

const FORM_TYPES: &[&str] = &["metadataFormTypes"];
const MAX_FIELDS: usize = 100;
const MAX_VALUE_LENGTH: usize = 10_000;

static FIELD_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9_]{0,62}$").expect("valid regex"));

fn validate_form_type(errors: &mut FieldErrors, form_type: &MetadataFormType) {
    if !form_type.display_name.is_empty() {
        validate::display_name(errors, "form_type.display_name", &form_type.display_name);
    }
    validate::description(errors, "form_type.description", &form_type.description);
    if form_type.fields.is_empty() || form_type.fields.len() > MAX_FIELDS {
        errors.add(
            "form_type.fields",
            format!("must have 1 to {MAX_FIELDS} fields"),
        );
    }
    let mut names = HashSet::new();
    for (index, field) in form_type.fields.iter().enumerate() {
        let at = format!("form_type.fields[{index}]");
        if !FIELD_NAME.is_match(&field.name) {
            errors.add(
                format!("{at}.name"),
                "must be 1-63 lowercase letters, digits or '_', starting with a letter",
            );
        } else if !names.insert(field.name.as_str()) {
            errors.add(
                format!("{at}.name"),
                format!("'{}' appears twice", field.name),
            );
        }
        match field.r#type() {
            FormFieldType::Unspecified => errors.add(
                format!("{at}.type"),
                "is required: STRING, INT, DOUBLE, BOOL, DATE or ENUM",
            ),
            FormFieldType::Enum => {
                let distinct: HashSet<&String> = field.enum_values.iter().collect();
                if field.enum_values.is_empty() || distinct.len() != field.enum_values.len() {
                    errors.add(
                        format!("{at}.enum_values"),
                        "an ENUM field needs distinct values",
                    );
                }
            }
            _ if !field.enum_values.is_empty() => {
                errors.add(format!("{at}.enum_values"), "only ENUM fields have values")
            }
            _ => {}
        }
        validate::description(errors, &format!("{at}.description"), &field.description);
    }
}

/// Every form's type exists, its values are fields of the type with the right type, and its
/// required fields are set.
pub async fn check_forms<C: Conn>(
    conn: &C,
    errors: &mut FieldErrors,
    field: &str,
    forms: &[MetadataForm],
) -> Result<(), ApiError> {
    let mut seen = HashSet::new();
    for (index, form) in forms.iter().enumerate() {
        let at = format!("{field}[{index}]");
        if validate::parse_name(&form.form_type, FORM_TYPES).is_none() {
            errors.add(format!("{at}.form_type"), "must be metadataFormTypes/{id}");
            continue;
        }
        if !seen.insert(form.form_type.as_str()) {
            errors.add(
                format!("{at}.form_type"),
                "a resource carries one form of each type",
            );
            continue;
        }
        let Some(form_type) = resources::find::<MetadataFormType, _>(conn, &form.form_type).await?
        else {
            errors.add(
                format!("{at}.form_type"),
                format!("{} does not exist", form.form_type),
            );
            continue;
        };
        let mut keys: Vec<&String> = form.values.keys().collect();
        keys.sort();
        for key in keys {
            let value_field = format!("{at}.values.{key}");
            let Some(definition) = form_type.fields.iter().find(|f| f.name == *key) else {
                errors.add(value_field, format!("is not a field of {}", form_type.name));
                continue;
            };
            if let Err(message) = check_value(definition, form.values[key].value.as_ref()) {
                errors.add(value_field, message);
            }
        }
        for definition in form_type.fields.iter().filter(|f| f.required) {
            if !form.values.contains_key(&definition.name) {
                errors.add(
                    format!("{at}.values.{}", definition.name),
                    "is required by the form type",
                );
            }
        }
    }
    Ok(())
}

fn check_value(
    definition: &weft_proto::weft::catalog::v1::FormField,
    value: Option<&Value>,
) -> Result<(), String> {
    let expected = definition.r#type();
    match (expected, value) {
        (_, None) => Err("has no value".to_string()),
        (FormFieldType::String, Some(Value::StringValue(text)))
            if text.chars().count() <= MAX_VALUE_LENGTH =>
        {
            Ok(())
        }
        (FormFieldType::String, Some(Value::StringValue(_))) => {
            Err(format!("must be at most {MAX_VALUE_LENGTH} characters"))
        }
        (FormFieldType::Int, Some(Value::IntValue(_)))
        | (FormFieldType::Double, Some(Value::DoubleValue(_) | Value::IntValue(_)))
        | (FormFieldType::Bool, Some(Value::BoolValue(_))) => Ok(()),
        (FormFieldType::Date, Some(Value::StringValue(text))) => {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|_| ())
                .map_err(|_| format!("'{text}' is not a date (YYYY-MM-DD)"))
        }
        (FormFieldType::Enum, Some(Value::StringValue(text)))
            if definition.enum_values.contains(text) =>
        {
            Ok(())
        }
        (FormFieldType::Enum, Some(Value::StringValue(text))) => Err(format!(
            "'{text}' is not one of {}",
            definition.enum_values.join(", ")
        )),
        (expected, Some(_)) => Err(format!(
            "must be a {} value",
            expected
                .as_str_name()
                .trim_start_matches("FORM_FIELD_TYPE_")
        )),
    }
}

impl Catalog {
    pub async fn create_metadata_form_type(
        &self,
        caller: &Caller,
        request: CreateMetadataFormTypeRequest,
    ) -> Result<MetadataFormType, ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::resource_id(&mut errors, "form_type_id", &request.form_type_id);
        match &request.form_type {
            Some(form_type) => validate_form_type(&mut errors, form_type),
            None => errors.add("form_type", "is required"),
        }
        errors.into_result()?;
        let form_type = MetadataFormType {
            name: format!("metadataFormTypes/{}", request.form_type_id),
            etag: String::new(),
            ..request.form_type.clone().unwrap_or_default()
        };
        resources::create(
            self.store(),
            actor,
            "CreateMetadataFormType",
            &request.request_id,
            &request,
            move |_| Box::pin(async move { Ok(form_type) }),
        )
        .await
    }

    pub async fn get_metadata_form_type(&self, name: &str) -> Result<MetadataFormType, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", name, FORM_TYPES);
        errors.into_result()?;
        resources::get(self.store().db(), name).await
    }

    pub async fn list_metadata_form_types(
        &self,
        request: ListMetadataFormTypesRequest,
    ) -> Result<ListMetadataFormTypesResponse, ApiError> {
        let page = PageRequest::parse(request.page_size, &request.page_token, "metadataFormTypes")?;
        let mut form_types = resources::list::<MetadataFormType, _>(
            self.store().db(),
            vec![],
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut form_types, |f| &f.name);
        Ok(ListMetadataFormTypesResponse {
            form_types,
            next_page_token,
        })
    }

    /// Refused while a product or asset carries a form of the type.
    pub async fn delete_metadata_form_type(
        &self,
        caller: &Caller,
        request: DeleteMetadataFormTypeRequest,
    ) -> Result<(), ApiError> {
        let actor = caller.subject();
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", &request.name, FORM_TYPES);
        errors.into_result()?;
        resources::delete(
            self.store(),
            actor,
            Edit::new("DeleteMetadataFormType", &request.name, &request.etag),
            |conn, form_type: &MetadataFormType| {
                Box::pin(async move {
                    let uses = labels::count_references(conn, &form_type.name).await?;
                    if uses == 0 {
                        return Ok(());
                    }
                    Err(ApiError::precondition(
                        format!("{} is in use", form_type.name),
                        vec![Violation {
                            kind: "FORM_TYPE_IN_USE".to_string(),
                            subject: form_type.name.clone(),
                            description: format!("{uses} resource(s) carry a form of this type"),
                        }],
                    ))
                })
            },
        )
        .await
        .map(drop)
    }
}
