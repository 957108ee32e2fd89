//! Conversions between protobuf timestamps and the database's.

use chrono::{DateTime, Utc};

pub fn to_timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

pub fn from_timestamp(time: Option<&prost_types::Timestamp>) -> DateTime<Utc> {
    time.and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .unwrap_or_default()
}
