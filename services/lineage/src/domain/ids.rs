//! Node ids of the lineage graph: "job:{namespace}:{name}", "dataset:{namespace}:{name}" and
//! "column:{namespace}:{name}#{field}". Namespaces hold ':' (postgres://db:5432), so an id is
//! only ever built, never split: a node's parts are stored with it.

use weft_proto::weft::lineage::v1::{Node, NodeKind};

pub fn job(namespace: &str, name: &str) -> String {
    format!("job:{namespace}:{name}")
}

pub fn dataset(namespace: &str, name: &str) -> String {
    format!("dataset:{namespace}:{name}")
}

pub fn column(namespace: &str, name: &str, field: &str) -> String {
    format!("column:{namespace}:{name}#{field}")
}

/// The prefix of the ids of a dataset's columns.
pub fn columns_of(namespace: &str, name: &str) -> String {
    format!("column:{namespace}:{name}#")
}

pub fn job_node(namespace: &str, name: &str) -> Node {
    node(job(namespace, name), NodeKind::Job, namespace, name, "")
}

pub fn dataset_node(namespace: &str, name: &str) -> Node {
    node(
        dataset(namespace, name),
        NodeKind::Dataset,
        namespace,
        name,
        "",
    )
}

pub fn column_node(namespace: &str, name: &str, field: &str) -> Node {
    node(
        column(namespace, name, field),
        NodeKind::Column,
        namespace,
        name,
        field,
    )
}

fn node(id: String, kind: NodeKind, namespace: &str, name: &str, field: &str) -> Node {
    Node {
        id,
        kind: kind as i32,
        namespace: namespace.to_string(),
        name: name.to_string(),
        field: field.to_string(),
        ..Node::default()
    }
}
