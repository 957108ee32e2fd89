//! Conversions between protobuf timestamps and chrono's UTC times, for every service.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;

/// `time` as a protobuf timestamp.
pub fn timestamp(time: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

/// The UTC time of `timestamp`; `None` when chrono can not represent it.
pub fn date_time(timestamp: &Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(timestamp.seconds, timestamp.nanos.max(0) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_survives_the_round_trip_and_out_of_range_is_none() {
        let time = DateTime::from_timestamp(1_764_000_000, 123_456_789).unwrap();
        assert_eq!(date_time(&timestamp(time)), Some(time));
        let far = Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        };
        assert_eq!(date_time(&far), None);
    }
}
