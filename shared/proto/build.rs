//! Compiles every `.proto` under the workspace's `proto/` with protox (no system `protoc`) and
//! generates prost messages plus tonic clients and servers, and the encoded descriptor set that
//! reflection and the gateway's access rules read.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let proto_root = proto_root.canonicalize()?;
    let mut files = Vec::new();
    collect_protos(&proto_root.join("weft"), &mut files)?;
    files.sort();
    println!("cargo:rerun-if-changed={}", proto_root.display());
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let mut compiler = protox::Compiler::new([&proto_root])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(&files)?;
    // The encoded set keeps custom options (the `weft.common.v1.access` rule of each RPC), which
    // `prost_types` would drop; reflection and the gateway read this one.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("weft_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    let descriptor_set = compiler.file_descriptor_set();

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // RPCs that no issue has built yet answer UNIMPLEMENTED instead of being hand-stubbed.
        .generate_default_stubs(true)
        .include_file("weft_includes.rs")
        .compile_fds(descriptor_set)?;
    Ok(())
}

fn collect_protos(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            files.push(path);
        }
    }
    Ok(())
}
