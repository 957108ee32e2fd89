//! Weft's v1 API: prost messages, tonic clients and servers for every service, and the encoded
//! file descriptor set used by gRPC reflection and by the gateway's generic access rules.

#![allow(clippy::all, clippy::pedantic)]

include!(concat!(env!("OUT_DIR"), "/weft_includes.rs"));

/// Encoded `FileDescriptorSet` of every Weft proto (with comments as source info, so grpcurl's
/// `describe` shows them), plus the well-known types they import.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/weft_descriptor.bin"));

/// Fully-qualified names of the public services, as the gateway exposes them.
pub const PUBLIC_SERVICES: [&str; 5] = [
    "weft.catalog.v1.CatalogService",
    "weft.governance.v1.GovernanceService",
    "weft.provisioning.v1.ProvisioningService",
    "weft.lineage.v1.LineageService",
    "weft.gateway.v1.PortalService",
];

/// The descriptor pool of the whole API, decoded once.
pub fn descriptor_pool() -> &'static prost_reflect::DescriptorPool {
    static POOL: std::sync::OnceLock<prost_reflect::DescriptorPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        prost_reflect::DescriptorPool::decode(FILE_DESCRIPTOR_SET)
            .expect("the build script encodes a valid descriptor set")
    })
}

pub mod columns;
pub mod data_type;
pub mod names;
pub mod packed_strs;
pub mod resource;
pub mod text;
pub mod time;

pub use names::permission_name;
