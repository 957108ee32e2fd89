//! Open Data Contract Standard v3 import and export through the gateway, on SQLite and
//! PostgreSQL: every example of the standard imports, exports valid against the standard's JSON
//! schema (../shared's copy, not the catalog's) and re-imports to the same product; what has no
//! first-class field is kept and reported; bad contracts are refused with the YAML path of the
//! fault and nothing half-written.

use std::path::PathBuf;

use prost_types::FieldMask;
use tonic::Code;
use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, CreateDomainRequest, DeleteAssetRequest, DeleteDataProductRequest, Domain,
    ExportDataContractRequest, GetDataProductRequest, ImportDataContractRequest,
    ImportDataContractResponse, ListAssetsRequest, PublishDataProductRequest, UpdateAssetRequest,
    UpdateDataProductRequest,
};
use weft_tests::{
    Catalog, bad_field_messages, catalog, declare_tag_keys, disable_default_rules,
    on_every_backend, precondition_violations,
};

const DOMAIN: &str = "domains/contracts";

fn specs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs/odcs")
}

/// Every example of the standard: (file stem, YAML).
fn examples() -> Vec<(String, String)> {
    let mut examples: Vec<(String, String)> = std::fs::read_dir(specs().join("examples"))
        .expect("../shared/specs/odcs/examples is beside the project")
        .map(|entry| {
            let path = entry.unwrap().path();
            let stem = path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches(".odcs.yaml")
                .to_string();
            (stem, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    examples.sort();
    assert_eq!(examples.len(), 16, "the ODCS examples");
    examples
}

/// Checks a contract against ../shared's ODCS JSON schema, listing each fault.
fn assert_valid_odcs(yaml: &str, what: &str) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(specs().join("odcs-json-schema-v3.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft201909::new(&schema).unwrap();
    let document: serde_json::Value = yaml_serde::from_str(yaml).unwrap();
    let faults: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        faults.is_empty(),
        "{what} is not valid ODCS: {faults:?}\n{yaml}"
    );
    assert_eq!(document["apiVersion"], "v3.1.0", "{what}");
}

async fn setup(client: &mut Catalog) {
    declare_tag_keys(
        client,
        &[
            ("finance", &[]),
            ("classification", &["public", "restricted", "confidential"]),
        ],
    )
    .await;
    client
        .create_domain(CreateDomainRequest {
            domain_id: "contracts".into(),
            domain: Some(Domain {
                display_name: "Contracts".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
}

fn import(id: &str, yaml: &str) -> ImportDataContractRequest {
    ImportDataContractRequest {
        parent: DOMAIN.into(),
        contract_yaml: yaml.into(),
        data_product_id: id.into(),
        validate_only: false,
    }
}

async fn export(client: &mut Catalog, name: &str, revision: &str) -> String {
    client
        .export_data_contract(ExportDataContractRequest {
            name: name.into(),
            revision: revision.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .contract_yaml
}

/// The product and assets with output fields (times, etags, uids) cleared.
fn content(imported: &ImportDataContractResponse) -> (Vec<u8>, Vec<Vec<u8>>) {
    use prost::Message;
    let mut product = imported.data_product.clone().unwrap();
    product.create_time = None;
    product.update_time = None;
    product.etag.clear();
    product.uid.clear();
    let mut assets: Vec<Asset> = imported.assets.clone();
    assets.sort_by(|a, b| a.name.cmp(&b.name));
    let assets = assets
        .into_iter()
        .map(|mut a| {
            a.create_time = None;
            a.update_time = None;
            a.etag.clear();
            a.uid.clear();
            a.encode_to_vec()
        })
        .collect();
    (product.encode_to_vec(), assets)
}

async fn delete_product(client: &mut Catalog, name: &str) {
    let assets = client
        .list_assets(ListAssetsRequest {
            parent: name.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assets;
    for asset in assets {
        client
            .delete_asset(DeleteAssetRequest {
                name: asset.name,
                etag: String::new(),
            })
            .await
            .unwrap();
    }
    client
        .delete_data_product(DeleteDataProductRequest {
            name: name.into(),
            etag: String::new(),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn every_odcs_example_imports_exports_valid_and_reimports_to_the_same_product() {
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        setup(&mut client).await;
        for (index, (stem, yaml)) in examples().into_iter().enumerate() {
            let id = format!("example-{index}");
            let name = format!("{DOMAIN}/dataProducts/{id}");
            let first = client
                .import_data_contract(import(&id, &yaml))
                .await
                .unwrap_or_else(|e| panic!("{stem} imports: {e:?}"))
                .into_inner();
            let exported = export(&mut client, &name, "").await;
            assert_valid_odcs(&exported, &stem);

            // Importing the export into the same product changes nothing (not even the etag).
            let again = client
                .import_data_contract(import(&id, &exported))
                .await
                .unwrap_or_else(|e| panic!("{stem} re-imports: {e:?}\n{exported}"))
                .into_inner();
            assert_eq!(
                again.data_product.as_ref().unwrap().etag,
                first.data_product.as_ref().unwrap().etag,
                "{stem}: re-importing the export changed the product\n{exported}"
            );
            assert_eq!(content(&again), content(&first), "{stem}\n{exported}");

            // Into a product made afresh from the export, the same product again.
            delete_product(&mut client, &name).await;
            let fresh = client
                .import_data_contract(import(&id, &exported))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(content(&fresh), content(&first), "{stem}\n{exported}");
            assert_eq!(export(&mut client, &name, "").await, exported, "{stem}");
            // Two examples describe the same Kafka topic: locations are unique.
            delete_product(&mut client, &name).await;
        }
    });
}

#[tokio::test]
async fn contract_parts_map_to_first_class_fields_and_the_rest_is_kept_and_reported() {
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        setup(&mut client).await;
        let read = |stem: &str| {
            std::fs::read_to_string(specs().join(format!("examples/{stem}.odcs.yaml"))).unwrap()
        };

        let all = client
            .import_data_contract(import("", &read("schema--all-schema-types")))
            .await
            .unwrap()
            .into_inner();
        let product = all.data_product.clone().unwrap();
        // The id comes from the contract's (made a valid resource id), the display name from
        // its name.
        assert_eq!(
            product.name,
            "domains/contracts/dataProducts/c-53581432-6c55-4ba2-a65f-72344a91553a"
        );
        assert_eq!(product.display_name, "my_quantum");
        let tbl = all
            .assets
            .iter()
            .find(|a| a.name.ends_with("/tbl"))
            .unwrap();
        assert_eq!(tbl.kind(), AssetKind::Table);
        assert_eq!(tbl.description, "Provides core payment metrics");
        let location = tbl.location.clone().unwrap();
        assert_eq!(
            (location.namespace.as_str(), location.name.as_str()),
            (format!("weft://{}", product.name).as_str(), "tbl_1")
        );
        assert_eq!(tbl.tags[0].key, "finance");
        let columns = &tbl.schema.as_ref().unwrap().columns;
        let rcvr = columns.iter().find(|c| c.name == "rcvr_id").unwrap();
        assert_eq!(rcvr.r#type, "string");
        assert!(rcvr.nullable);
        assert_eq!(
            (rcvr.tags[0].key.as_str(), rcvr.tags[0].value.as_str()),
            ("classification", "restricted")
        );
        assert!(
            rcvr.custom_properties
                .iter()
                .any(|p| p.property == "odcs:primaryKey"),
            "{rcvr:?}"
        );
        let another = all
            .assets
            .iter()
            .find(|a| a.name.ends_with("/anotherobject"))
            .unwrap();
        let x = &another.schema.as_ref().unwrap().columns[0];
        assert_eq!(x.r#type, "array<struct>");
        let nested: Vec<&str> = x.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(nested, ["id", "zip"]);
        let anobject = all
            .assets
            .iter()
            .find(|a| a.name.ends_with("/anobject"))
            .unwrap();
        assert_eq!(
            anobject.schema.as_ref().unwrap().columns[0].r#type,
            "array<string>"
        );
        let note_paths: Vec<&str> = all.notes.iter().map(|n| n.path.as_str()).collect();
        for path in [
            "schema[0].authoritativeDefinitions",
            "schema[0].dataGranularityDescription",
            "schema[0].properties[0].transformLogic",
            "schema[0].properties[1].primaryKey",
        ] {
            assert!(
                note_paths.contains(&path),
                "{path} reported: {note_paths:?}"
            );
        }

        let types = client
            .import_data_contract(import("types", &read("data-types--all-data-types")))
            .await
            .unwrap()
            .into_inner();
        let columns = types.assets[0].schema.clone().unwrap().columns;
        let type_of = |name: &str| {
            columns
                .iter()
                .find(|c| c.name == name)
                .unwrap()
                .r#type
                .clone()
        };
        for (name, expected) in [
            ("account_id", "string"),
            ("txn_ref_date", "date"),
            ("txn_timestamp", "timestamp"),
            ("txn_timestamp_tz", "timestamptz"),
            ("txn_time", "string"),
            ("amount", "double"),
            ("age", "int"),
            ("is_open", "boolean"),
            ("latest_txns", "array<json>"),
            ("customer_details", "json"),
        ] {
            assert_eq!(type_of(name), expected, "{name}");
        }
        assert!(
            types
                .notes
                .iter()
                .any(|n| n.path == "schema[0].properties[4]" && n.message.contains("time")),
            "the time column's mapping is reported: {:?}",
            types.notes
        );

        let sla = client
            .import_data_contract(import("sla", &read("sla--database-table-sla")))
            .await
            .unwrap()
            .into_inner();
        let level = sla.data_product.unwrap().service_level.unwrap();
        assert_eq!(level.freshness.unwrap().seconds, 4 * 86_400);
        assert_eq!(level.retention, "3 y");
        assert_eq!(level.update_frequency, "1 d");
        assert!(sla.notes.iter().any(|n| n.path == "slaProperties[1]"));

        let kafka = client
            .import_data_contract(import("kafka", &read("schema--kafka-schema")))
            .await
            .unwrap()
            .into_inner();
        let orders = &kafka.assets[0];
        assert_eq!(orders.kind(), AssetKind::Stream);
        let location = orders.location.clone().unwrap();
        assert_eq!(
            (location.namespace.as_str(), location.name.as_str()),
            ("kafka://kafkabroker1:9092", "orders")
        );
        assert!(!orders.schema.as_ref().unwrap().columns[0].nullable);

        let team = client
            .import_data_contract(import("team", &read("stakeholders--basic-four-dpo")))
            .await
            .unwrap()
            .into_inner();
        assert!(
            team.data_product.unwrap().owners.is_empty(),
            "dpo members are not owners"
        );
        assert!(team.notes.iter().any(|n| n.path == "team"));

        // Owners come from team members with role "owner"; undeclared tags are kept.
        let owned = client
            .import_data_contract(import(
                "owned",
                "apiVersion: v3.1.0\nkind: DataContract\nid: owned\nversion: 2.0.0\nstatus: active\n\
                 name: Owned\ntags: [finance, unheard-of]\ndescription:\n  purpose: Owned things.\n  usage: Read it.\n\
                 team:\n  name: Owners\n  members:\n    - username: alice\n      role: owner\n    - username: bob\n      role: steward\n\
                 \x20   - username: dave\n      role: owner\n      name: Dave\n",
            ))
            .await
            .unwrap()
            .into_inner();
        let product = owned.data_product.unwrap();
        assert_eq!(product.owners, ["users/alice", "users/dave"]);
        assert_eq!(product.description, "Owned things.");
        assert_eq!(product.tags.len(), 1);
        assert!(owned.notes.iter().any(|n| n.path == "tags[1]"));
        let exported = export(&mut client, &product.name, "").await;
        assert_valid_odcs(&exported, "owned");
        let document: serde_json::Value = yaml_serde::from_str(&exported).unwrap();
        assert_eq!(document["description"]["usage"], "Read it.");
        assert_eq!(
            document["tags"],
            serde_json::json!(["finance", "unheard-of"])
        );
        let members = document["team"]["members"].as_array().unwrap();
        assert!(
            members
                .iter()
                .any(|m| m["username"] == "alice" && m["role"] == "owner")
        );
        assert!(members.iter().any(|m| m["username"] == "bob"));
        let daves: Vec<&serde_json::Value> =
            members.iter().filter(|m| m["username"] == "dave").collect();
        assert_eq!(daves.len(), 1, "{members:?}");
        assert_eq!(daves[0]["name"], "Dave");

        // An owner removed in Weft is no longer an owner member of the export.
        let mut fewer = product.clone();
        fewer.owners = vec!["users/alice".into()];
        client
            .update_data_product(UpdateDataProductRequest {
                data_product: Some(fewer),
                update_mask: Some(FieldMask {
                    paths: vec!["owners".into()],
                }),
            })
            .await
            .unwrap();
        let document: serde_json::Value =
            yaml_serde::from_str(&export(&mut client, &product.name, "").await).unwrap();
        let members = document["team"]["members"].as_array().unwrap();
        assert!(
            !members.iter().any(|m| m["username"] == "dave"),
            "{members:?}"
        );
    });
}

#[tokio::test]
async fn edits_in_weft_show_in_the_export_and_revisions_export_as_published() {
    on_every_backend!(|suite| {
        // Governance's PUBLISH rules are tested in governance_rules.rs.
        disable_default_rules(&suite).await;
        let mut client = catalog(&suite, &suite.admin_token());
        setup(&mut client).await;
        let yaml = std::fs::read_to_string(
            specs().join("examples/schema--table-columns-with-partition.odcs.yaml"),
        )
        .unwrap();
        let imported = client
            .import_data_contract(import("partitioned", &yaml))
            .await
            .unwrap()
            .into_inner();
        let product = imported.data_product.unwrap();
        client
            .publish_data_product(PublishDataProductRequest {
                name: product.name.clone(),
                etag: String::new(),
            })
            .await
            .unwrap();

        // A compatible change in Weft: year int → bigint, a description.
        let mut tbl = imported.assets[0].clone();
        let mut schema = tbl.schema.clone().unwrap();
        let year = schema
            .columns
            .iter_mut()
            .find(|c| c.name == "year")
            .unwrap();
        year.r#type = "bigint".into();
        year.description = "Year of the transaction.".into();
        tbl.schema = Some(schema);
        client
            .update_asset(UpdateAssetRequest {
                asset: Some(tbl),
                update_mask: Some(FieldMask {
                    paths: vec!["schema".into()],
                }),
            })
            .await
            .unwrap();

        let draft: serde_json::Value =
            yaml_serde::from_str(&export(&mut client, &product.name, "").await).unwrap();
        let year = draft["schema"][0]["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "year")
            .unwrap()
            .clone();
        assert_eq!(year["logicalType"], "integer");
        assert_eq!(year["physicalType"], "bigint");
        assert_eq!(year["description"], "Year of the transaction.");
        assert_eq!(year["partitioned"], true, "kept keys come back");
        assert_eq!(draft["status"], "active", "the product is published");

        let published_yaml = export(&mut client, &product.name, "1").await;
        assert_valid_odcs(&published_yaml, "revision 1");
        let published: serde_json::Value = yaml_serde::from_str(&published_yaml).unwrap();
        let year = published["schema"][0]["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "year")
            .unwrap()
            .clone();
        assert_eq!(year["physicalType"], "int", "revision 1 is as published");

        let missing = client
            .export_data_contract(ExportDataContractRequest {
                name: product.name.clone(),
                revision: "7".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Code::NotFound);
        let not_a_revision = client
            .export_data_contract(ExportDataContractRequest {
                name: product.name.clone(),
                revision: "latest".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(not_a_revision.code(), Code::InvalidArgument);
        assert_eq!(bad_field_messages(&not_a_revision)[0].0, "revision");
        let missing = client
            .export_data_contract(ExportDataContractRequest {
                name: "domains/contracts/dataProducts/nope".into(),
                revision: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Code::NotFound);
    });
}

/// The product `id` does not exist (a refused import wrote nothing).
async fn assert_absent(client: &mut Catalog, id: &str) {
    let status = client
        .get_data_product(GetDataProductRequest {
            name: format!("{DOMAIN}/dataProducts/{id}"),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{id}");
}

const SMALL: &str = "apiVersion: v3.1.0\nkind: DataContract\nid: small\nversion: 1.0.0\nstatus: draft\nname: Small\n\
servers:\n  - server: main\n    type: postgresql\n    host: db.example\n    port: 5432\n    database: shop\n    schema: public\n\
schema:\n  - name: orders\n    physicalType: table\n    properties:\n      - name: id\n        logicalType: integer\n        required: true\n      - name: note\n        logicalType: string\n";

#[tokio::test]
async fn bad_contracts_are_refused_with_their_yaml_path_and_nothing_half_written() {
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        setup(&mut client).await;
        // Each bad contract: the fault (field, start of its message) it must be refused with.
        let wrong_type = SMALL.replace("logicalType: string", "logicalType: text");
        let no_version = SMALL.replace("version: 1.0.0\n", "");
        let twice = format!("{SMALL}  - name: Orders\n");
        let dotted = SMALL.replace("name: note", "name: a.b");
        let no_id = SMALL.replace("id: small", "id: '__'");
        let cases: [(&str, &str, &str, &str); 6] = [
            ("bad", "id: [unclosed\n", "contract_yaml", "not valid YAML"),
            (
                "bad",
                &wrong_type,
                "contract_yaml",
                "schema[0].properties[1].logicalType",
            ),
            (
                "bad",
                &no_version,
                "contract_yaml",
                "(the contract): \"version\"",
            ),
            ("bad", &twice, "contract_yaml", "schema[1].name"),
            (
                "bad",
                &dotted,
                "contract_yaml",
                "schema[0]: asset.schema.columns[1].name",
            ),
            ("", &no_id, "data_product_id", "is required"),
        ];
        for (id, yaml, field, start) in cases {
            let status = client
                .import_data_contract(import(id, yaml))
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
            let faults = bad_field_messages(&status);
            assert!(
                faults
                    .iter()
                    .any(|(f, message)| f == field && message.starts_with(start)),
                "{start}: {faults:?}"
            );
        }

        let unknown_domain = client
            .import_data_contract(ImportDataContractRequest {
                parent: "domains/nowhere".into(),
                ..import("small", SMALL)
            })
            .await
            .unwrap_err();
        assert_eq!(unknown_domain.code(), Code::NotFound);
        let bad_parent = client
            .import_data_contract(ImportDataContractRequest {
                parent: "sales".into(),
                ..import("small", SMALL)
            })
            .await
            .unwrap_err();
        assert_eq!(bad_field_messages(&bad_parent)[0].0, "parent");
        // None of the refused imports wrote anything.
        assert_absent(&mut client, "bad").await;

        // validate_only answers what would be written, and writes nothing.
        let preview = client
            .import_data_contract(ImportDataContractRequest {
                validate_only: true,
                ..import("small", SMALL)
            })
            .await
            .unwrap()
            .into_inner();
        let location = preview.assets[0].location.clone().unwrap();
        assert_eq!(
            (location.namespace.as_str(), location.name.as_str()),
            ("postgres://db.example:5432", "shop.public.orders")
        );
        assert_absent(&mut client, "small").await;

        let small = client
            .import_data_contract(import("small", SMALL))
            .await
            .unwrap()
            .into_inner();
        let product = small.data_product.unwrap();

        // The same location in another product: ALREADY_EXISTS, and that product is not made.
        let taken = client
            .import_data_contract(import("copy", SMALL))
            .await
            .unwrap_err();
        assert_eq!(taken.code(), Code::AlreadyExists, "{taken:?}");
        assert_absent(&mut client, "copy").await;

        // A breaking schema change (column removed, nullable → required) is refused like any
        // other, with each violation, and the product's own change in the same import is not
        // written either.
        let breaking = SMALL
            .replace("name: Small", "name: Smaller")
            .replace("      - name: note\n        logicalType: string\n", "");
        let refused = client
            .import_data_contract(import("small", &breaking))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        let violations = precondition_violations(&refused);
        assert!(
            violations.iter().any(|(_, subject)| subject == "note"),
            "{violations:?}"
        );
        let unchanged = client
            .get_data_product(GetDataProductRequest {
                name: product.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(unchanged.display_name, "Small");
        assert_eq!(unchanged.etag, product.etag);

        // A compatible change (a new nullable column) is a new schema version.
        let widened = SMALL.replace(
            "      - name: note\n",
            "      - name: channel\n        logicalType: string\n      - name: note\n",
        );
        let changed = client
            .import_data_contract(import("small", &widened))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(changed.assets[0].schema_version, 2);

        // Custom properties are edited like any field, and checked.
        let mut edited = changed.data_product.clone().unwrap();
        edited
            .custom_properties
            .push(edited.custom_properties[0].clone());
        let duplicate = client
            .update_data_product(UpdateDataProductRequest {
                data_product: Some(edited),
                update_mask: Some(FieldMask {
                    paths: vec!["custom_properties".into()],
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(duplicate.code(), Code::InvalidArgument);
    });
}
