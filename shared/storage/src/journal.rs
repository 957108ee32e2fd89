//! The hash-chained audit journal: each record's hash covers the previous record's hash and its
//! own content, so any edit, deletion or reordering of a committed record breaks the chain.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sha2::{Digest, Sha256};

use crate::entities::journal;

/// The content of a journal record that its hash covers.
#[derive(Debug, Clone)]
pub struct Record {
    pub seq: i64,
    pub time: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub outcome: String,
    pub detail_json: String,
}

impl Record {
    /// Hex SHA-256 over the previous hash and each field, length-prefixed so that no two
    /// different records can serialize alike.
    pub fn hash(&self, previous_hash: &str) -> String {
        let mut hasher = Sha256::new();
        let seq = self.seq.to_string();
        let time = self
            .time
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        for part in [
            previous_hash,
            &seq,
            &time,
            &self.actor,
            &self.action,
            &self.resource,
            &self.outcome,
            &self.detail_json,
        ] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

/// Result of a chain verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Records checked.
    pub records: u64,
    /// The first broken record and why, if any.
    pub broken: Option<(i64, String)>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// Recomputes the whole chain, page by page.
pub async fn verify_chain<C: ConnectionTrait>(conn: &C) -> Result<ChainReport, sea_orm::DbErr> {
    const PAGE: u64 = 1000;
    let mut report = ChainReport {
        records: 0,
        broken: None,
    };
    let mut previous_hash = String::new();
    let mut expected_seq = 1;
    loop {
        let page = journal::Entity::find()
            .filter(journal::Column::Seq.gte(expected_seq))
            .order_by_asc(journal::Column::Seq)
            .limit(PAGE)
            .all(conn)
            .await?;
        if page.is_empty() {
            return Ok(report);
        }
        for row in &page {
            let broken = |reason: String| Some((row.seq, reason));
            if row.seq != expected_seq {
                report.broken =
                    broken(format!("expected record {expected_seq}, found {}", row.seq));
            } else if row.previous_hash != previous_hash {
                report.broken =
                    broken("previous_hash does not match the previous record".to_string());
            } else {
                let record = Record {
                    seq: row.seq,
                    time: row.time,
                    actor: row.actor.clone(),
                    action: row.action.clone(),
                    resource: row.resource.clone(),
                    outcome: row.outcome.clone(),
                    detail_json: row.detail_json.clone(),
                };
                if record.hash(&previous_hash) != row.hash {
                    report.broken = broken("content does not match its hash".to_string());
                }
            }
            if report.broken.is_some() {
                return Ok(report);
            }
            report.records += 1;
            previous_hash = row.hash.clone();
            expected_seq += 1;
        }
        if (page.len() as u64) < PAGE {
            return Ok(report);
        }
    }
}

/// The hash of the journal's first record: an identity of the database's history (derived state
/// built from another database must not be reused). `None` for an empty journal.
pub async fn genesis_hash<C: ConnectionTrait>(conn: &C) -> Result<Option<String>, sea_orm::DbErr> {
    Ok(journal::Entity::find_by_id(1i64)
        .one(conn)
        .await?
        .map(|row| row.hash))
}

/// What an audit query selects (every condition optional).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    /// The resource, or anything under it ("<resource>/…", "<resource>#…").
    pub resource: Option<String>,
    pub actions: Vec<String>,
    /// "SUCCEEDED", "DENIED" or "FAILED".
    pub outcome: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    /// Only records older than this sequence (the page token).
    pub before_sequence: Option<i64>,
    pub limit: u64,
}

/// The journal's records matching `query`, newest first.
pub async fn query<C: ConnectionTrait>(
    conn: &C,
    query: &AuditQuery,
) -> Result<Vec<journal::Model>, sea_orm::DbErr> {
    use sea_orm::Condition;
    let mut select = journal::Entity::find()
        .order_by_desc(journal::Column::Seq)
        .limit(query.limit);
    if let Some(actor) = &query.actor {
        select = select.filter(journal::Column::Actor.eq(actor.as_str()));
    }
    if let Some(resource) = &query.resource {
        // Children sort between "<resource>/" and "<resource>0" ('/' + 1), parts between
        // "<resource>#" and "<resource>$": ranges, so no LIKE pattern is built from input.
        let under = |low: char, high: char| {
            Condition::all()
                .add(journal::Column::Resource.gte(format!("{resource}{low}")))
                .add(journal::Column::Resource.lt(format!("{resource}{high}")))
        };
        select = select.filter(
            Condition::any()
                .add(journal::Column::Resource.eq(resource.as_str()))
                .add(under('/', '0'))
                .add(under('#', '$')),
        );
    }
    if !query.actions.is_empty() {
        select = select.filter(journal::Column::Action.is_in(query.actions.clone()));
    }
    if let Some(outcome) = &query.outcome {
        select = select.filter(journal::Column::Outcome.eq(outcome.as_str()));
    }
    if let Some(start) = query.start_time {
        select = select.filter(journal::Column::Time.gte(start));
    }
    if let Some(end) = query.end_time {
        select = select.filter(journal::Column::Time.lt(end));
    }
    if let Some(before) = query.before_sequence {
        select = select.filter(journal::Column::Seq.lt(before));
    }
    select.all(conn).await
}
