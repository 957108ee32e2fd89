//! SCRAM-SHA-256 password verifiers (RFC 5802 / 7677, as PostgreSQL stores them): a role's
//! password is set as its verifier, so the clear password never travels in a statement and
//! never reaches the data plane's own logs (what psql's `\password` does).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac, pbkdf2};
use weft_runtime::ApiError;

/// PostgreSQL's default iteration count.
const ITERATIONS: u32 = 4096;

/// "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" for `password`.
pub fn verifier(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| ApiError::internal("no system randomness for a salt"))?;
    Ok(verifier_with_salt(password, &salt, ITERATIONS))
}

fn verifier_with_salt(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut salted = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(iterations).unwrap_or(std::num::NonZeroU32::MIN),
        salt,
        password.as_bytes(),
        &mut salted,
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
    let client_key = hmac::sign(&key, b"Client Key");
    let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
    let server_key = hmac::sign(&key, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key.as_ref()),
        STANDARD.encode(server_key.as_ref())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifier_matches_rfc_7677s_example() {
        // RFC 7677 section 3's input (password "pencil", salt "W22ZaJ0SNY7soEsUEjb6gQ==",
        // 4096 iterations); StoredKey and ServerKey computed independently with Python's
        // hashlib and hmac. The tests log in to a scram-sha-256 PostgreSQL with it too.
        let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let expected = verifier_with_salt("pencil", &salt, 4096);
        assert_eq!(
            expected,
            "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
        );
        assert_ne!(verifier("pencil").unwrap(), expected);
    }
}
