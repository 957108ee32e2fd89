//! rustls TLS for Weft: server config with optional client-certificate verification (mTLS),
//! client config for service-to-service calls, and the dev PKI `weft up` and the tests generate.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use crate::config::{ServiceKind, TlsConfig, read_file};

/// Server TLS: the service's certificate; with a CA, client certificates signed by it are
/// verified (optional, so that token-bearing clients can still connect; internal RPCs require one).
pub fn server_tls_config(config: &TlsConfig) -> anyhow::Result<Option<ServerTlsConfig>> {
    let (Some(cert), Some(key)) = (&config.cert_file, &config.key_file) else {
        return Ok(None);
    };
    let identity = Identity::from_pem(
        read_file("tls.cert_file", cert)?,
        read_file("tls.key_file", key)?,
    );
    let mut tls = ServerTlsConfig::new().identity(identity);
    if let Some(ca) = &config.ca_file {
        tls = tls
            .client_ca_root(Certificate::from_pem(read_file("tls.ca_file", ca)?))
            .client_auth_optional(true);
    }
    Ok(Some(tls))
}

/// Client TLS towards another Weft service: trust the CA and present this service's certificate.
/// `None` when no client certificate is configured (plaintext towards the other services).
pub fn client_tls_config(
    config: &TlsConfig,
    target: ServiceKind,
) -> anyhow::Result<Option<ClientTlsConfig>> {
    let (Some(cert), Some(key)) = (&config.cert_file, &config.key_file) else {
        return Ok(None);
    };
    let mut tls = ClientTlsConfig::new()
        .domain_name(target.tls_name())
        .identity(Identity::from_pem(
            read_file("client_tls.cert_file", cert)?,
            read_file("client_tls.key_file", key)?,
        ));
    if let Some(ca) = &config.ca_file {
        tls = tls.ca_certificate(Certificate::from_pem(read_file("client_tls.ca_file", ca)?));
    }
    Ok(Some(tls))
}

/// Files of a generated dev PKI.
#[derive(Debug, Clone)]
pub struct DevPki {
    pub dir: PathBuf,
}

impl DevPki {
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    pub fn cert_file(&self, service: ServiceKind) -> PathBuf {
        self.dir.join(format!("{service}.pem"))
    }

    pub fn key_file(&self, service: ServiceKind) -> PathBuf {
        self.dir.join(format!("{service}.key"))
    }

    /// The TLS settings of one service in this PKI.
    /// (The same certificate serves as server and client certificate.)
    pub fn tls_config(&self, service: ServiceKind) -> TlsConfig {
        TlsConfig {
            cert_file: Some(self.cert_file(service)),
            key_file: Some(self.key_file(service)),
            ca_file: Some(self.ca_file()),
        }
    }

    /// Generates a CA and a certificate per service (server and client use, SANs
    /// `<service>.weft.internal`, `localhost`, `127.0.0.1`) under `dir`, unless already there.
    pub fn ensure(dir: &Path) -> anyhow::Result<DevPki> {
        let pki = DevPki {
            dir: dir.to_path_buf(),
        };
        let complete = pki.ca_file().exists()
            && ServiceKind::ALL
                .iter()
                .all(|s| pki.cert_file(*s).exists() && pki.key_file(*s).exists());
        if complete {
            return Ok(pki);
        }
        create_private_dir(dir)?;

        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Weft dev CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);
        write_private(&pki.ca_file(), ca_cert.pem().as_bytes())?;

        for service in ServiceKind::ALL {
            let key = KeyPair::generate()?;
            let mut params =
                CertificateParams::new(vec![service.tls_name(), "localhost".to_string()])?;
            params
                .subject_alt_names
                .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
            params
                .distinguished_name
                .push(DnType::CommonName, service.tls_name());
            params.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
            let cert = params.signed_by(&key, &issuer)?;
            write_private(&pki.cert_file(service), cert.pem().as_bytes())?;
            write_private(&pki.key_file(service), key.serialize_pem().as_bytes())?;
        }
        Ok(pki)
    }
}

/// Creates `dir` (and its missing parents) for its owner only, and makes an existing one so:
/// data directories hold databases, keys and tokens.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot make {} private", dir.display()))
}

/// Writes a file readable by its owner only (keys and tokens).
pub fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents)?;
    Ok(())
}

/// A lazily connecting channel to a backend.
pub fn channel(
    config: &crate::ServiceConfig,
    kind: ServiceKind,
) -> anyhow::Result<tonic::transport::Channel> {
    let url = config.backends.url(kind).unwrap_or_default();
    let tls = client_tls_config(&config.client_tls, kind)?;
    let url = match (&tls, url.strip_prefix("http://")) {
        (Some(_), Some(rest)) => format!("https://{rest}"),
        _ => url.to_string(),
    };
    let mut endpoint = tonic::transport::Endpoint::from_shared(url.clone())
        .with_context(|| format!("backends.{kind}: invalid URL {url}"))?
        .connect_timeout(std::time::Duration::from_secs(5))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(std::time::Duration::from_secs(30));
    if let Some(tls) = tls {
        endpoint = endpoint
            .tls_config(tls)
            .with_context(|| format!("backends.{kind}: TLS configuration"))?;
    }
    Ok(endpoint.connect_lazy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_certificates_identify_their_service() {
        let dir = tempfile::tempdir().unwrap();
        let pki = DevPki::ensure(dir.path()).unwrap();
        for service in ServiceKind::ALL {
            let pem = std::fs::read(pki.cert_file(service)).unwrap();
            let (_, der) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
            let der = tonic::transport::CertificateDer::from(der.contents);
            assert_eq!(
                crate::auth::service_identity(std::slice::from_ref(&der)),
                Some(service)
            );
            // Asked again, answered from the identities already parsed.
            assert_eq!(crate::auth::service_identity(&[der]), Some(service));
        }
        // A certificate that is not one (the cache keys on the bytes, not on a parse).
        let junk = tonic::transport::CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        assert_eq!(
            crate::auth::service_identity(std::slice::from_ref(&junk)),
            None
        );
        assert_eq!(crate::auth::service_identity(&[junk]), None);
    }
}
