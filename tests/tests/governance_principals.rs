//! Updates and deletes of the principals administrators manage (users, groups, service
//! accounts), through the gateway, on every backend: the masked fields change and nothing else,
//! a stale etag is ABORTED, an unknown mask path is INVALID_ARGUMENT naming it, a plain user is
//! refused, and a deleted principal is NOT_FOUND.

use prost_types::FieldMask;
use tonic::Code;
use weft_proto::weft::governance::v1::*;
use weft_tests::{bad_fields, governance, on_every_backend};

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn managed_principals_update_the_masked_fields_and_delete() {
    on_every_backend!(|suite| {
        let mut admin = governance(&suite, &suite.admin_token());
        let mut bob = governance(&suite, &suite.token("users/bob", &[]));

        let user = admin
            .create_user(CreateUserRequest {
                user: Some(User {
                    display_name: "Alice".into(),
                    email: "alice@example.com".into(),
                    ..Default::default()
                }),
                user_id: "alice".into(),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let renamed = admin
            .update_user(UpdateUserRequest {
                user: Some(User {
                    name: user.name.clone(),
                    etag: user.etag.clone(),
                    display_name: "Alice A.".into(),
                    email: "ignored@example.com".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["display_name"]),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(renamed.display_name, "Alice A.");
        assert_eq!(renamed.email, "alice@example.com", "not in the mask");
        assert_ne!(renamed.etag, user.etag);

        let stale = admin
            .update_user(UpdateUserRequest {
                user: Some(User {
                    name: user.name.clone(),
                    etag: user.etag.clone(),
                    display_name: "Late".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["display_name"]),
            })
            .await
            .unwrap_err();
        assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
        let unknown = admin
            .update_user(UpdateUserRequest {
                user: Some(User {
                    name: user.name.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["uid"]),
            })
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), Code::InvalidArgument, "{unknown:?}");
        assert!(
            bad_fields(&unknown)
                .iter()
                .any(|f| f.contains("update_mask")),
            "{unknown:?}"
        );
        let refused = bob
            .update_user(UpdateUserRequest {
                user: Some(User {
                    name: user.name.clone(),
                    display_name: "Bob was here".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["display_name"]),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

        let group = admin
            .create_group(CreateGroupRequest {
                group: Some(Group {
                    display_name: "Analysts".into(),
                    members: vec!["users/alice".into()],
                    ..Default::default()
                }),
                group_id: "analysts".into(),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let grown = admin
            .update_group(UpdateGroupRequest {
                group: Some(Group {
                    name: group.name.clone(),
                    members: vec!["users/alice".into(), "users/bob".into()],
                    display_name: "ignored".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["members"]),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(grown.members, ["users/alice", "users/bob"]);
        assert_eq!(grown.display_name, "Analysts");

        let account = admin
            .create_service_account(CreateServiceAccountRequest {
                service_account: Some(ServiceAccount {
                    display_name: "Airflow".into(),
                    owners: vec!["users/alice".into()],
                    ..Default::default()
                }),
                service_account_id: "airflow".into(),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let handed_over = admin
            .update_service_account(UpdateServiceAccountRequest {
                service_account: Some(ServiceAccount {
                    name: account.name.clone(),
                    owners: vec!["users/bob".into()],
                    ..Default::default()
                }),
                update_mask: mask(&["owners"]),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(handed_over.owners, ["users/bob"]);
        assert_eq!(handed_over.display_name, "Airflow");

        // Deletes: a stale etag is refused, then each goes, and is NOT_FOUND afterwards.
        let stale_delete = admin
            .delete_group(DeleteGroupRequest {
                name: group.name.clone(),
                etag: group.etag.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(stale_delete.code(), Code::Aborted, "{stale_delete:?}");
        admin
            .delete_group(DeleteGroupRequest {
                name: group.name.clone(),
                etag: grown.etag.clone(),
            })
            .await
            .unwrap();
        admin
            .delete_service_account(DeleteServiceAccountRequest {
                name: account.name.clone(),
                etag: String::new(),
            })
            .await
            .unwrap();
        admin
            .delete_user(DeleteUserRequest {
                name: user.name.clone(),
                etag: String::new(),
            })
            .await
            .unwrap();
        for gone in [
            admin
                .get_group(GetGroupRequest {
                    name: group.name.clone(),
                })
                .await
                .map(drop),
            admin
                .get_service_account(GetServiceAccountRequest {
                    name: account.name.clone(),
                })
                .await
                .map(drop),
            admin
                .get_user(GetUserRequest {
                    name: user.name.clone(),
                })
                .await
                .map(drop),
        ] {
            assert_eq!(gone.unwrap_err().code(), Code::NotFound);
        }
        let again = admin
            .delete_user(DeleteUserRequest {
                name: user.name.clone(),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(again.code(), Code::NotFound, "{again:?}");
    });
}
