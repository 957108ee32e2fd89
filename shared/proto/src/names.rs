//! Short names of enum values as people and policies write them.

use crate::weft::common::v1::Permission;

/// "SELECT" for `Permission::Select` (the enum value without its `PERMISSION_` prefix): the name
/// of a Cedar action, of a permission in reasons and audit records.
pub fn permission_name(permission: Permission) -> &'static str {
    let name = permission.as_str_name();
    name.strip_prefix("PERMISSION_").unwrap_or(name)
}
