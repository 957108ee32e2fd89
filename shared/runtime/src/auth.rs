//! Authentication: bearer JWT verification (HS256 dev secret; RS256 / ES256 keys from a JWKS
//! file), the principal a request acts as, dev token minting, and the identity of a Weft service
//! read from its client certificate's SAN.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use prost::Message;
use serde::{Deserialize, Serialize};
use tonic::metadata::MetadataMap;
use tonic::transport::CertificateDer;

use crate::config::{AuthConfig, ServiceKind, read_file};
use crate::error::ApiError;

/// Response header of governance's public RPCs: the outbox sequence its access index reflects
/// when it answered (the gateway drops decisions cached before it).
pub const INDEX_SEQUENCE_HEADER: &str = "x-weft-index-sequence";

/// Response header of the catalog's public RPCs: its outbox position after the call (see
/// `sequence_header`).
pub const CATALOG_SEQUENCE_HEADER: &str = "x-weft-catalog-sequence";

/// Request header a client may send to the gateway: decide this call on a catalog projection
/// at least at this position (a `x-weft-catalog-sequence` it received, e.g. through another
/// gateway replica).
pub const MIN_CATALOG_SEQUENCE_HEADER: &str = "x-weft-min-catalog-sequence";

/// Metadata key carrying the caller's principal from the gateway to a service (protobuf
/// `weft.common.v1.Principal`). Trusted only from a peer with a Weft service certificate.
pub const PRINCIPAL_METADATA_KEY: &str = "x-weft-principal-bin";

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Subject, e.g. "users/alice".
    pub subject: String,
    /// Groups of the subject, as its token states them.
    pub groups: Vec<String>,
}

/// The authenticated caller of a request, placed in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    /// Member of the configured admin group.
    pub is_admin: bool,
    /// The newest catalog event sequence the caller has caused or seen (the gateway tracks
    /// it, see `MIN_CATALOG_SEQUENCE_HEADER`); decisions about the caller are made on a
    /// projection at least that new. 0 when unknown.
    pub catalog_position: i64,
}

impl Caller {
    /// A caller acting as `subject` with `groups` (no catalog position known).
    pub fn new(subject: impl Into<String>, groups: Vec<String>, is_admin: bool) -> Self {
        Self {
            principal: Principal {
                subject: subject.into(),
                groups,
            },
            is_admin,
            catalog_position: 0,
        }
    }

    /// A Weft service acting on its own behalf (e.g. "services/lineage" setting inherited
    /// tags): no groups, not an administrator.
    pub fn service(kind: ServiceKind) -> Self {
        Self::new(format!("services/{kind}"), Vec::new(), false)
    }

    pub fn subject(&self) -> &str {
        &self.principal.subject
    }
}

/// Claims of a Weft bearer token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default)]
    pub groups: Vec<String>,
    pub exp: u64,
    #[serde(default)]
    pub iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

struct VerificationKey {
    key_id: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Verifies bearer tokens against the configured keys.
pub struct TokenVerifier {
    keys: Vec<VerificationKey>,
    issuer: Option<String>,
    audience: Option<String>,
    admin_group: String,
}

impl TokenVerifier {
    pub fn from_config(config: &AuthConfig) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        if let Some(secret) = load_hs256_secret(config)? {
            keys.push(VerificationKey {
                key_id: None,
                algorithm: Algorithm::HS256,
                key: DecodingKey::from_secret(&secret),
            });
        }
        if let Some(file) = &config.jwks_file {
            let jwks: JwkSet = serde_json::from_slice(&read_file("auth.jwks_file", file)?)
                .context("auth.jwks_file: not a JWKS document")?;
            for jwk in &jwks.keys {
                let algorithm = match jwk.common.key_algorithm.map(|a| a.to_string()).as_deref() {
                    Some("RS256") => Algorithm::RS256,
                    Some("ES256") => Algorithm::ES256,
                    Some(other) => bail!(
                        "auth.jwks_file: key algorithm {other} is not supported (RS256, ES256)"
                    ),
                    None => match &jwk.algorithm {
                        jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                        jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => {
                            Algorithm::ES256
                        }
                        _ => bail!("auth.jwks_file: only RSA and EC keys are supported"),
                    },
                };
                keys.push(VerificationKey {
                    key_id: jwk.common.key_id.clone(),
                    algorithm,
                    key: DecodingKey::from_jwk(jwk).context("auth.jwks_file: unusable key")?,
                });
            }
        }
        if keys.is_empty() {
            bail!("auth: no token verification key configured");
        }
        Ok(TokenVerifier {
            keys,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            admin_group: config.admin_group.clone(),
        })
    }

    /// Verifies a bearer token and returns its principal.
    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let invalid = || ApiError::Unauthenticated("invalid bearer token".to_string());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        let candidates = self.keys.iter().filter(|key| {
            key.algorithm == header.alg
                && (header.kid.is_none() || key.key_id.is_none() || key.key_id == header.kid)
        });
        let mut last_error = None;
        for candidate in candidates {
            let mut validation = Validation::new(candidate.algorithm);
            validation.set_required_spec_claims(&["exp", "sub"]);
            match &self.issuer {
                Some(issuer) => validation.set_issuer(&[issuer]),
                None => validation.iss = None,
            }
            match &self.audience {
                Some(audience) => validation.set_audience(&[audience]),
                None => validation.validate_aud = false,
            }
            match jsonwebtoken::decode::<Claims>(token, &candidate.key, &validation) {
                Ok(data) => {
                    if data.claims.sub.trim().is_empty() {
                        return Err(invalid());
                    }
                    return Ok(Principal {
                        subject: data.claims.sub,
                        groups: data.claims.groups,
                    });
                }
                Err(error) => last_error = Some(error),
            }
        }
        match last_error.map(|e| e.into_kind()) {
            Some(jsonwebtoken::errors::ErrorKind::ExpiredSignature) => Err(
                ApiError::Unauthenticated("bearer token expired".to_string()),
            ),
            _ => Err(invalid()),
        }
    }

    pub fn caller(&self, principal: Principal) -> Caller {
        let is_admin = principal.groups.contains(&self.admin_group);
        Caller {
            principal,
            is_admin,
            catalog_position: 0,
        }
    }
}

fn load_hs256_secret(config: &AuthConfig) -> anyhow::Result<Option<Vec<u8>>> {
    if let Some(secret) = &config.hs256_secret {
        return Ok(Some(secret.as_bytes().to_vec()));
    }
    let Some(file) = &config.hs256_secret_file else {
        return Ok(None);
    };
    let secret = read_file("auth.hs256_secret_file", file)?;
    let secret = String::from_utf8(secret).context("auth.hs256_secret_file: not UTF-8")?;
    let secret = secret.trim();
    if secret.len() < 32 {
        bail!("auth.hs256_secret_file: the secret must be at least 32 bytes");
    }
    Ok(Some(secret.as_bytes().to_vec()))
}

/// Mints an HS256 token (dev mode, `weft token issue`).
pub fn issue_hs256_token(
    secret: &[u8],
    subject: &str,
    groups: &[String],
    ttl: Duration,
) -> anyhow::Result<String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let claims = Claims {
        sub: subject.to_string(),
        groups: groups.to_vec(),
        exp: now + ttl.as_secs(),
        iat: now,
        iss: None,
    };
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )?)
}

/// Certificates whose identity is known, by their DER bytes: a service sees a handful (one per
/// peer service), and parsing X.509 on every RPC was a visible part of a `Check`'s cost.
static KNOWN_IDENTITIES: LazyLock<RwLock<HashMap<Vec<u8>, Option<ServiceKind>>>> =
    LazyLock::new(Default::default);
/// Certificates remembered at most (the map is emptied when full).
const KNOWN_IDENTITIES_CAPACITY: usize = 256;

/// The Weft service a certificate belongs to, from its SAN `<service>.weft.internal`. The chain
/// was verified by TLS before this is asked.
pub fn service_identity(certs: &[CertificateDer<'_>]) -> Option<ServiceKind> {
    let leaf = certs.first()?;
    if let Some(known) = KNOWN_IDENTITIES
        .read()
        .expect("identity cache lock")
        .get(leaf.as_ref())
    {
        return *known;
    }
    let identity = parse_service_identity(leaf);
    let mut known = KNOWN_IDENTITIES.write().expect("identity cache lock");
    if known.len() >= KNOWN_IDENTITIES_CAPACITY {
        known.clear();
    }
    known.insert(leaf.to_vec(), identity);
    identity
}

fn parse_service_identity(leaf: &CertificateDer<'_>) -> Option<ServiceKind> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    let san = cert.subject_alternative_name().ok()??;
    san.value.general_names.iter().find_map(|name| match name {
        x509_parser::extensions::GeneralName::DNSName(dns) => ServiceKind::ALL
            .into_iter()
            .find(|kind| kind.tls_name() == *dns),
        _ => None,
    })
}

/// Authenticates requests to a service: a principal forwarded by a Weft service (over mTLS), or
/// a bearer token the service verifies itself.
#[derive(Clone)]
pub struct Authenticator {
    verifier: Arc<TokenVerifier>,
}

impl Authenticator {
    pub fn new(verifier: Arc<TokenVerifier>) -> Self {
        Self { verifier }
    }

    /// The authenticator of a process, from its `[auth]` configuration.
    pub fn from_config(config: &AuthConfig) -> anyhow::Result<Self> {
        Ok(Self::new(Arc::new(TokenVerifier::from_config(config)?)))
    }

    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    /// The caller of a public RPC.
    pub fn authenticate(
        &self,
        metadata: &MetadataMap,
        peer_certs: Option<&[CertificateDer<'_>]>,
    ) -> Result<Caller, ApiError> {
        let peer_service = peer_certs.and_then(service_identity);
        if let Some(forwarded) = metadata.get_bin(PRINCIPAL_METADATA_KEY) {
            if peer_service.is_none() {
                return Err(ApiError::Unauthenticated(
                    "a forwarded principal is accepted only from a Weft service certificate"
                        .to_string(),
                ));
            }
            let bytes = forwarded.to_bytes().map_err(|_| {
                ApiError::Unauthenticated("malformed forwarded principal".to_string())
            })?;
            let principal =
                weft_proto::weft::common::v1::Principal::decode(bytes).map_err(|_| {
                    ApiError::Unauthenticated("malformed forwarded principal".to_string())
                })?;
            if principal.subject.is_empty() {
                return Err(ApiError::Unauthenticated(
                    "forwarded principal has no subject".to_string(),
                ));
            }
            return Ok(self.verifier.caller(Principal {
                subject: principal.subject,
                groups: principal.groups,
            }));
        }
        let token = bearer_token(metadata)?;
        Ok(self.verifier.caller(self.verifier.verify(token)?))
    }

    /// The caller of a backend's public RPC. The gateway authorizes public RPCs, so a backend
    /// accepts a forwarded principal only from the gateway's certificate, and a bearer token
    /// (a direct call, bypassing the gateway) only from an administrator.
    pub fn authenticate_behind_gateway(
        &self,
        metadata: &MetadataMap,
        peer_certs: Option<&[CertificateDer<'_>]>,
    ) -> Result<Caller, ApiError> {
        let forwarded = metadata.get_bin(PRINCIPAL_METADATA_KEY).is_some();
        // (Without any service certificate, `authenticate` refuses a forwarded principal.)
        if forwarded
            && peer_certs
                .and_then(service_identity)
                .is_some_and(|service| service != ServiceKind::Gateway)
        {
            return Err(ApiError::PermissionDenied(
                "public RPCs are forwarded by the gateway only".to_string(),
            ));
        }
        let caller = self.authenticate(metadata, peer_certs)?;
        if !forwarded && !caller.is_admin {
            return Err(ApiError::PermissionDenied(
                "public RPCs are authorized at the gateway: call it (a direct call needs an \
                 administrator's token)"
                    .to_string(),
            ));
        }
        Ok(caller)
    }

    /// The Weft service calling an internal RPC; refused without a service certificate.
    pub fn authenticate_service(
        &self,
        peer_certs: Option<&[CertificateDer<'_>]>,
    ) -> Result<ServiceKind, ApiError> {
        peer_certs.and_then(service_identity).ok_or_else(|| {
            ApiError::Unauthenticated("internal RPCs need a Weft service certificate".to_string())
        })
    }
}

/// The bearer token of a request's `authorization` metadata.
pub fn bearer_token(metadata: &MetadataMap) -> Result<&str, ApiError> {
    let value = metadata.get("authorization").ok_or_else(|| {
        ApiError::Unauthenticated(
            "missing bearer token (authorization: Bearer <token>)".to_string(),
        )
    })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthenticated("malformed authorization header".to_string()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| {
            ApiError::Unauthenticated("authorization must be 'Bearer <token>'".to_string())
        })?;
    Ok(token.trim())
}

/// Encodes a principal for `PRINCIPAL_METADATA_KEY`.
pub fn encode_principal(principal: &Principal) -> Vec<u8> {
    weft_proto::weft::common::v1::Principal {
        subject: principal.subject.clone(),
        groups: principal.groups.clone(),
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier(secret: &str) -> TokenVerifier {
        TokenVerifier::from_config(&AuthConfig {
            hs256_secret: Some(secret.to_string()),
            admin_group: "weft-admins".to_string(),
            ..AuthConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn a_minted_token_verifies_and_carries_its_groups() {
        let secret = "s".repeat(32);
        let token = issue_hs256_token(
            secret.as_bytes(),
            "users/alice",
            &["analysts".into()],
            Duration::from_secs(60),
        )
        .unwrap();
        let principal = verifier(&secret).verify(&token).unwrap();
        assert_eq!(principal.subject, "users/alice");
        assert_eq!(principal.groups, ["analysts"]);
        assert!(!verifier(&secret).caller(principal).is_admin);
    }

    #[test]
    fn wrong_secret_and_expired_tokens_are_refused() {
        let token =
            issue_hs256_token(&[b'a'; 32], "users/alice", &[], Duration::from_secs(60)).unwrap();
        assert!(matches!(
            verifier(&"b".repeat(32)).verify(&token),
            Err(ApiError::Unauthenticated(_))
        ));
        let secret = "s".repeat(32);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Claims {
                sub: "users/a".into(),
                groups: vec![],
                exp: now - 3600,
                iat: now - 7200,
                iss: None,
            },
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap();
        let error = verifier(&secret).verify(&expired).unwrap_err();
        assert!(error.to_string().contains("expired"), "{error}");
        assert!(verifier(&secret).verify("not-a-jwt").is_err());
    }

    #[test]
    fn es256_tokens_verify_against_a_jwks_file_and_kid_selects_the_key() {
        use base64::Engine;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let signing = rcgen::KeyPair::generate().unwrap();
        let other = rcgen::KeyPair::generate().unwrap();
        let jwk = |key: &rcgen::KeyPair, kid: &str| {
            let point = key.public_key_raw();
            serde_json::json!({
                "kty": "EC", "crv": "P-256", "alg": "ES256", "kid": kid, "use": "sig",
                "x": b64(&point[1..33]), "y": b64(&point[33..65]),
            })
        };
        let dir = tempfile::tempdir().unwrap();
        let jwks_file = dir.path().join("jwks.json");
        let jwks = serde_json::json!({ "keys": [jwk(&other, "old"), jwk(&signing, "current")] });
        std::fs::write(&jwks_file, jwks.to_string()).unwrap();
        let verifier = TokenVerifier::from_config(&AuthConfig {
            jwks_file: Some(jwks_file),
            issuer: Some("https://idp.example".into()),
            admin_group: "weft-admins".into(),
            ..AuthConfig::default()
        })
        .unwrap();

        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let sign = |kid: &str, iss: &str| {
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some(kid.to_string());
            let claims = Claims {
                sub: "users/zoe".into(),
                groups: vec!["weft-admins".into()],
                exp: now + 600,
                iat: now,
                iss: Some(iss.to_string()),
            };
            let key = EncodingKey::from_ec_pem(signing.serialize_pem().as_bytes()).unwrap();
            jsonwebtoken::encode(&header, &claims, &key).unwrap()
        };
        let principal = verifier
            .verify(&sign("current", "https://idp.example"))
            .unwrap();
        assert_eq!(principal.subject, "users/zoe");
        assert!(verifier.caller(principal).is_admin);
        // Signed by "current" but claiming the other key, or from another issuer: refused.
        assert!(
            verifier
                .verify(&sign("old", "https://idp.example"))
                .is_err()
        );
        assert!(
            verifier
                .verify(&sign("current", "https://evil.example"))
                .is_err()
        );
        // An HS256 token cannot stand in for an ES256 one (algorithm confusion).
        let hs = issue_hs256_token(
            b"0123456789abcdef0123456789abcdef",
            "users/zoe",
            &[],
            Duration::from_secs(60),
        )
        .unwrap();
        assert!(verifier.verify(&hs).is_err());
    }
}
