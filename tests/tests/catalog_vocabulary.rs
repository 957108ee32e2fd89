//! Tag keys, glossaries and glossary terms through the gateway, on SQLite and PostgreSQL: the
//! declared vocabulary every tag and term attachment is checked against.

use prost_types::FieldMask;
use tonic::Code;
use weft_proto::weft::catalog::v1::{
    CreateDataProductRequest, CreateDomainRequest, CreateGlossaryRequest,
    CreateGlossaryTermRequest, DataProduct, DeleteGlossaryRequest, DeleteGlossaryTermRequest,
    DeleteTagKeyRequest, Domain, Glossary, GlossaryTerm, ListDataProductsRequest,
    ListGlossaryTermsRequest, ListTagKeysRequest, TagKey, TermState, UpdateDataProductRequest,
    UpdateGlossaryTermRequest, UpdateTagKeyRequest,
};
use weft_proto::weft::common::v1::Tag;
use weft_tests::{
    Catalog, bad_fields, catalog, declare_tag_keys, on_every_backend, precondition_violations,
};

fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.into(),
        value: value.into(),
    }
}

async fn domain_with_tags(
    client: &mut Catalog,
    id: &str,
    tags: Vec<Tag>,
) -> Result<Domain, tonic::Status> {
    client
        .create_domain(CreateDomainRequest {
            domain_id: id.into(),
            domain: Some(Domain {
                display_name: id.into(),
                tags,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn term(
    client: &mut Catalog,
    glossary: &str,
    id: &str,
    name: &str,
    is_a: &[&str],
) -> Result<GlossaryTerm, tonic::Status> {
    client
        .create_glossary_term(CreateGlossaryTermRequest {
            parent: glossary.into(),
            term_id: id.into(),
            term: Some(GlossaryTerm {
                display_name: name.into(),
                description: format!("{name}, as finance defines it"),
                is_a: is_a.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn tags_must_use_declared_keys_and_allowed_values() {
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        declare_tag_keys(&mut client, &[("tier", &["gold", "silver"]), ("team", &[])]).await;
        let keys = client
            .list_tag_keys(ListTagKeysRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            keys.tag_keys
                .iter()
                .map(|k| k.name.as_str())
                .collect::<Vec<_>>(),
            ["tagKeys/team", "tagKeys/tier"]
        );

        domain_with_tags(
            &mut client,
            "ok",
            vec![tag("tier", "gold"), tag("team", "anything")],
        )
        .await
        .unwrap();
        let error = domain_with_tags(&mut client, "unknown", vec![tag("colour", "red")])
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        assert_eq!(bad_fields(&error), ["domain.tags[0].key"]);
        let error = domain_with_tags(
            &mut client,
            "bronze",
            vec![tag("team", "x"), tag("tier", "bronze")],
        )
        .await
        .unwrap_err();
        assert_eq!(bad_fields(&error), ["domain.tags[1].value"]);
        assert!(
            error.message().contains("gold, silver"),
            "{}",
            error.message()
        );

        // Narrowing allowed values is refused while a dropped value is in use; widening is fine.
        let tier = client
            .get_tag_key(weft_proto::weft::catalog::v1::GetTagKeyRequest {
                name: "tagKeys/tier".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let narrowed = client
            .update_tag_key(UpdateTagKeyRequest {
                tag_key: Some(TagKey {
                    allowed_values: vec!["silver".into()],
                    ..tier.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["allowed_values".into()],
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(narrowed.code(), Code::FailedPrecondition);
        assert_eq!(
            precondition_violations(&narrowed),
            [("TAG_VALUE_IN_USE".to_string(), "tier=gold".to_string())]
        );
        let widened = client
            .update_tag_key(UpdateTagKeyRequest {
                tag_key: Some(TagKey {
                    allowed_values: vec!["gold".into(), "silver".into(), "bronze".into()],
                    ..tier
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["allowed_values".into()],
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(widened.allowed_values.len(), 3);
        domain_with_tags(&mut client, "bronze", vec![tag("tier", "bronze")])
            .await
            .unwrap();

        // A key in use cannot be deleted; an unused one can.
        let error = client
            .delete_tag_key(DeleteTagKeyRequest {
                name: "tagKeys/tier".into(),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(precondition_violations(&error)[0].0, "TAG_KEY_IN_USE");
        declare_tag_keys(&mut client, &[("unused", &[])]).await;
        client
            .delete_tag_key(DeleteTagKeyRequest {
                name: "tagKeys/unused".into(),
                etag: String::new(),
            })
            .await
            .unwrap();

        // Bad declarations.
        let error = client
            .create_tag_key(weft_proto::weft::catalog::v1::CreateTagKeyRequest {
                tag_key_id: "Bad_Key".into(),
                tag_key: Some(TagKey {
                    allowed_values: vec!["a".into(), "a".into()],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&error), ["tag_key_id", "tag_key.allowed_values"]);
        let error = client
            .create_tag_key(weft_proto::weft::catalog::v1::CreateTagKeyRequest {
                tag_key_id: "team".into(),
                tag_key: Some(TagKey::default()),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::AlreadyExists);
    });
}

#[tokio::test]
async fn glossary_terms_relate_and_attach_only_while_enabled() {
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        client
            .create_glossary(CreateGlossaryRequest {
                glossary_id: "finance".into(),
                glossary: Some(Glossary {
                    display_name: "Finance".into(),
                    owners: vec!["groups/finance".into()],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        let revenue = term(&mut client, "glossaries/finance", "revenue", "Revenue", &[])
            .await
            .unwrap();
        let net = term(
            &mut client,
            "glossaries/finance",
            "net-revenue",
            "Net revenue",
            &[&revenue.name],
        )
        .await
        .unwrap();
        assert_eq!(net.is_a, vec![revenue.name.clone()]);
        assert_eq!(net.state(), TermState::Unspecified);

        // Bad relations and duplicates.
        let error = term(
            &mut client,
            "glossaries/finance",
            "gross",
            "Gross",
            &["glossaries/finance/terms/missing"],
        )
        .await
        .unwrap_err();
        assert_eq!(bad_fields(&error), ["term.is_a[0]"]);
        let error = term(
            &mut client,
            "glossaries/finance",
            "revenue-2",
            "revenue",
            &[],
        )
        .await
        .unwrap_err();
        assert_eq!(
            error.code(),
            Code::AlreadyExists,
            "display names are unique per glossary"
        );
        let error = term(&mut client, "glossaries/nowhere", "x", "X", &[])
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::NotFound);
        let cycle = client
            .update_glossary_term(UpdateGlossaryTermRequest {
                term: Some(GlossaryTerm {
                    is_a: vec![net.name.clone()],
                    ..revenue.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["is_a".into()],
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&cycle), ["term.is_a"]);

        // Attach a term to a product; a disabled term stays where it is but cannot be added anew.
        client
            .create_domain(CreateDomainRequest {
                domain_id: "sales".into(),
                domain: Some(Domain {
                    display_name: "Sales".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        let product = client
            .create_data_product(CreateDataProductRequest {
                parent: "domains/sales".into(),
                data_product_id: "orders".into(),
                data_product: Some(DataProduct {
                    display_name: "Orders".into(),
                    glossary_terms: vec![net.name.clone()],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let by_term = client
            .list_data_products(ListDataProductsRequest {
                parent: "domains/-".into(),
                filter: format!("glossary_term = \"{}\"", net.name),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(by_term.data_products.len(), 1);
        client
            .update_glossary_term(UpdateGlossaryTermRequest {
                term: Some(GlossaryTerm {
                    state: TermState::Disabled as i32,
                    ..net.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["state".into()],
                }),
            })
            .await
            .unwrap();
        let kept = client
            .update_data_product(UpdateDataProductRequest {
                data_product: Some(DataProduct {
                    description: "Orders of the web shop".into(),
                    ..product.clone()
                }),
                update_mask: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(kept.glossary_terms, vec![net.name.clone()]);
        let error = client
            .create_data_product(CreateDataProductRequest {
                parent: "domains/sales".into(),
                data_product_id: "returns".into(),
                data_product: Some(DataProduct {
                    display_name: "Returns".into(),
                    glossary_terms: vec![net.name.clone()],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&error), ["data_product.glossary_terms[0]"]);
        assert!(error.message().contains("disabled"), "{}", error.message());

        // Terms in use (by a product, or by another term's isA) cannot be deleted; a glossary
        // with terms cannot be deleted.
        for name in [&net.name, &revenue.name] {
            let error = client
                .delete_glossary_term(DeleteGlossaryTermRequest {
                    name: name.clone(),
                    etag: String::new(),
                })
                .await
                .unwrap_err();
            assert_eq!(
                precondition_violations(&error)[0].0,
                "TERM_IN_USE",
                "{name}"
            );
        }
        let error = client
            .delete_glossary(DeleteGlossaryRequest {
                name: "glossaries/finance".into(),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(precondition_violations(&error)[0].0, "HAS_TERMS");
        let terms = client
            .list_glossary_terms(ListGlossaryTermsRequest {
                parent: "glossaries/finance".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(terms.terms.len(), 2);
    });
}

#[tokio::test]
async fn metadata_forms_are_validated_against_their_type() {
    use weft_proto::weft::catalog::v1::form_value::Value;
    use weft_proto::weft::catalog::v1::{
        CreateMetadataFormTypeRequest, DeleteMetadataFormTypeRequest, FormField, FormFieldType,
        FormValue, MetadataForm, MetadataFormType,
    };
    fn field(name: &str, r#type: FormFieldType, required: bool, values: &[&str]) -> FormField {
        FormField {
            name: name.into(),
            r#type: r#type as i32,
            required,
            enum_values: values.iter().map(|v| v.to_string()).collect(),
            description: String::new(),
        }
    }
    fn form(values: Vec<(&str, Value)>) -> MetadataForm {
        MetadataForm {
            form_type: "metadataFormTypes/retention".into(),
            values: values
                .into_iter()
                .map(|(k, v)| (k.to_string(), FormValue { value: Some(v) }))
                .collect(),
        }
    }
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        client
            .create_metadata_form_type(CreateMetadataFormTypeRequest {
                form_type_id: "retention".into(),
                form_type: Some(MetadataFormType {
                    display_name: "Retention".into(),
                    fields: vec![
                        field("days", FormFieldType::Int, true, &[]),
                        field(
                            "legal_basis",
                            FormFieldType::Enum,
                            true,
                            &["contract", "consent"],
                        ),
                        field("review_on", FormFieldType::Date, false, &[]),
                        field("archived", FormFieldType::Bool, false, &[]),
                    ],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        let error = client
            .create_metadata_form_type(CreateMetadataFormTypeRequest {
                form_type_id: "broken".into(),
                form_type: Some(MetadataFormType {
                    fields: vec![
                        field("x", FormFieldType::Enum, false, &[]),
                        field("x", FormFieldType::Unspecified, false, &[]),
                    ],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            bad_fields(&error),
            [
                "form_type.fields[0].enum_values",
                "form_type.fields[1].name",
                "form_type.fields[1].type"
            ]
        );

        client
            .create_domain(CreateDomainRequest {
                domain_id: "sales".into(),
                domain: Some(Domain {
                    display_name: "Sales".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        let product = |forms: Vec<MetadataForm>| CreateDataProductRequest {
            parent: "domains/sales".into(),
            data_product_id: "orders".into(),
            data_product: Some(DataProduct {
                display_name: "Orders".into(),
                forms,
                ..Default::default()
            }),
            request_id: String::new(),
        };
        let error = client
            .create_data_product(product(vec![form(vec![
                ("days", Value::StringValue("thirty".into())),
                ("legal_basis", Value::StringValue("whim".into())),
                ("review_on", Value::StringValue("2026-02-30".into())),
                ("colour", Value::StringValue("red".into())),
            ])]))
            .await
            .unwrap_err();
        assert_eq!(
            bad_fields(&error),
            [
                "data_product.forms[0].values.colour",
                "data_product.forms[0].values.days",
                "data_product.forms[0].values.legal_basis",
                "data_product.forms[0].values.review_on",
            ]
        );
        let error = client
            .create_data_product(product(vec![form(vec![("days", Value::IntValue(30))])]))
            .await
            .unwrap_err();
        assert_eq!(
            bad_fields(&error),
            ["data_product.forms[0].values.legal_basis"]
        );
        let created = client
            .create_data_product(product(vec![form(vec![
                ("days", Value::IntValue(30)),
                ("legal_basis", Value::StringValue("contract".into())),
                ("review_on", Value::StringValue("2027-01-31".into())),
            ])]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(created.forms.len(), 1);

        // A form type in use cannot be deleted.
        let error = client
            .delete_metadata_form_type(DeleteMetadataFormTypeRequest {
                name: "metadataFormTypes/retention".into(),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(precondition_violations(&error)[0].0, "FORM_TYPE_IN_USE");
    });
}
