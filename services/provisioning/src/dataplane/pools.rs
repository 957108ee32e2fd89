//! Connections to the data planes, kept between fulfilment rounds. A round visits every
//! consumer environment, most of them on the same data plane; opening a connection (SCRAM,
//! maybe TLS) for each costs more than the round's own queries. One small pool per admin URL and
//! database, keyed by a digest of them so that the URL (a secret) is not kept a second time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, PgPoolOptions, Postgres};

use super::Target;
use super::postgres::{self, CONNECT_TIMEOUT};

/// Connections per data plane: fulfilment takes one at a time, a reconcile asked for by a user
/// may take another meanwhile.
const PER_PLANE: u32 = 2;
/// A connection unused this long is closed (a data plane no environment names any more keeps
/// none open).
const IDLE: Duration = Duration::from_secs(120);

#[derive(Default)]
pub struct Pools {
    pools: Mutex<HashMap<Vec<u8>, PgPool>>,
}

impl Pools {
    /// A connection to `target` as its admin, from its pool.
    pub async fn acquire(&self, target: &Target) -> Result<PoolConnection<Postgres>, String> {
        let pool = self.pool(target)?;
        pool.acquire().await.map_err(|error| match error {
            sqlx::Error::PoolTimedOut => format!(
                "cannot connect to the data plane: no answer in {}s",
                CONNECT_TIMEOUT.as_secs()
            ),
            error => format!(
                "cannot connect to the data plane: {}",
                postgres::describe(&error)
            ),
        })
    }

    fn pool(&self, target: &Target) -> Result<PgPool, String> {
        let mut key = ring::digest::Context::new(&ring::digest::SHA256);
        key.update(target.admin_url.expose().as_bytes());
        key.update(&[0]);
        key.update(target.database.as_deref().unwrap_or_default().as_bytes());
        let key = key.finish().as_ref().to_vec();
        let mut pools = self
            .pools
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(pool) = pools.get(&key) {
            return Ok(pool.clone());
        }
        let pool = PgPoolOptions::new()
            .max_connections(PER_PLANE)
            .min_connections(0)
            .idle_timeout(IDLE)
            .acquire_timeout(CONNECT_TIMEOUT)
            // A connection the data plane closed (restart, admin's terminate) is replaced.
            .test_before_acquire(true)
            .connect_lazy_with(postgres::options(target)?);
        pools.insert(key, pool.clone());
        Ok(pool)
    }
}
