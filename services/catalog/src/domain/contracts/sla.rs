//! ODCS `slaProperties` ↔ a product's service level: `latency` is the freshness, `availability`
//! (in %) the availability, `frequency` and `retention` the update frequency and retention text
//! ("1 d", "3 y"). Other properties stay in the kept list.

use prost_types::Duration;
use serde_json::{Map, Value, json};
use weft_proto::weft::catalog::v1::ServiceLevel;

/// The service level fields a contract sets.
#[derive(Default, Debug, PartialEq)]
pub struct Mapped {
    freshness: Option<Duration>,
    availability_percent: Option<f64>,
    update_frequency: Option<String>,
    retention: Option<String>,
}

fn seconds_per(unit: &str) -> Option<i64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "s" | "sec" | "second" | "seconds" => 1,
        "m" | "min" | "minute" | "minutes" => 60,
        "h" | "hr" | "hour" | "hours" => 3_600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 604_800,
        "y" | "yr" | "year" | "years" => 31_536_000,
        _ => return None,
    })
}

fn text_of(entry: &Map<String, Value>) -> Option<String> {
    let value = match entry.get("value")? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(match entry.get("unit").and_then(Value::as_str) {
        Some(unit) => format!("{value} {unit}"),
        None => value,
    })
}

/// (value, unit) of a "value unit" text, the value a number when it is one.
fn value_and_unit(text: &str) -> (Value, Option<&str>) {
    let (value, unit) = match text.split_once(' ') {
        Some((value, unit)) if !unit.contains(' ') => (value, Some(unit)),
        _ => (text, None),
    };
    let value = match value.parse::<i64>() {
        Ok(n) => json!(n),
        Err(_) => value
            .parse::<f64>()
            .map_or_else(|_| json!(value), |f| json!(f)),
    };
    match (value, unit) {
        (Value::String(_), Some(_)) => (json!(text), None),
        other => other,
    }
}

impl Mapped {
    /// Takes the first entry of each mapped property; false if the entry is not mapped.
    pub fn map(&mut self, entry: &Value) -> bool {
        let Some(entry) = entry.as_object() else {
            return false;
        };
        let property = entry.get("property").and_then(Value::as_str).unwrap_or("");
        match property {
            "latency" if self.freshness.is_none() => {
                let value = entry.get("value").and_then(Value::as_f64);
                let unit = entry.get("unit").and_then(Value::as_str).unwrap_or("");
                match (value, seconds_per(unit)) {
                    (Some(value), Some(per)) if value >= 0.0 => {
                        self.freshness = Some(Duration {
                            seconds: (value * per as f64) as i64,
                            nanos: 0,
                        });
                        true
                    }
                    _ => false,
                }
            }
            "availability" if self.availability_percent.is_none() => {
                match entry.get("value").and_then(Value::as_f64) {
                    Some(value) if (0.0..=100.0).contains(&value) => {
                        self.availability_percent = Some(value);
                        true
                    }
                    _ => false,
                }
            }
            "frequency" if self.update_frequency.is_none() => {
                self.update_frequency = text_of(entry);
                self.update_frequency.is_some()
            }
            "retention" if self.retention.is_none() => {
                self.retention = text_of(entry);
                self.retention.is_some()
            }
            _ => false,
        }
    }

    pub fn apply(&self, level: &mut ServiceLevel) {
        if let Some(freshness) = self.freshness {
            level.freshness = Some(freshness);
        }
        if let Some(availability) = self.availability_percent {
            level.availability_percent = availability;
        }
        if let Some(frequency) = &self.update_frequency {
            level.update_frequency = frequency.clone();
        }
        if let Some(retention) = &self.retention {
            level.retention = retention.clone();
        }
    }
}

/// The ODCS entry of one service level field, or None when the field is unset.
fn entry_for(property: &str, level: &ServiceLevel) -> Option<Map<String, Value>> {
    let mut entry = Map::new();
    entry.insert("property".into(), json!(property));
    match property {
        "latency" => {
            let seconds = level.freshness.as_ref()?.seconds;
            let (value, unit) = [(86_400, "d"), (3_600, "h"), (60, "m")]
                .into_iter()
                .find(|(per, _)| seconds % per == 0 && seconds > 0)
                .map_or((seconds, "s"), |(per, unit)| (seconds / per, unit));
            entry.insert("value".into(), json!(value));
            entry.insert("unit".into(), json!(unit));
        }
        "availability" => {
            if level.availability_percent == 0.0 {
                return None;
            }
            entry.insert("value".into(), json!(level.availability_percent));
            entry.insert("unit".into(), json!("%"));
        }
        _ => {
            let text = if property == "frequency" {
                &level.update_frequency
            } else {
                &level.retention
            };
            if text.is_empty() {
                return None;
            }
            let (value, unit) = value_and_unit(text);
            entry.insert("value".into(), value);
            if let Some(unit) = unit {
                entry.insert("unit".into(), json!(unit));
            }
        }
    }
    Some(entry)
}

/// The `slaProperties` to export: the kept entries, with each mapped property's entry kept as
/// it was when the service level still says the same, rewritten when it changed, dropped when it
/// was cleared, and added when the service level sets what the contract did not.
pub fn export(kept: Option<Value>, level: Option<&ServiceLevel>) -> Vec<Value> {
    let mut entries: Vec<Value> = match kept {
        Some(Value::Array(entries)) => entries,
        _ => Vec::new(),
    };
    let level = level.cloned().unwrap_or_default();
    for property in ["latency", "availability", "frequency", "retention"] {
        let current = entry_for(property, &level);
        let position = entries
            .iter()
            .position(|e| e.get("property").and_then(Value::as_str) == Some(property));
        match (position, current) {
            (Some(index), current) => {
                let mut derived = ServiceLevel::default();
                let mut mapped = Mapped::default();
                mapped.map(&entries[index]);
                mapped.apply(&mut derived);
                let unchanged = entry_for(property, &derived) == entry_for(property, &level);
                match current {
                    _ if unchanged => {}
                    Some(current) => {
                        let mut entry = entries[index].as_object().cloned().unwrap_or_default();
                        entry.remove("unit");
                        entry.extend(current);
                        entries[index] = Value::Object(entry);
                    }
                    None => {
                        entries.remove(index);
                    }
                }
            }
            (None, Some(current)) => entries.push(Value::Object(current)),
            (None, None) => {}
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(entries: Value) -> ServiceLevel {
        let mut mapped = Mapped::default();
        for entry in entries.as_array().unwrap() {
            mapped.map(entry);
        }
        let mut level = ServiceLevel::default();
        mapped.apply(&mut level);
        level
    }

    #[test]
    fn mapped_properties_round_trip_and_changes_show() {
        let kept = json!([
            {"property": "latency", "value": 4, "unit": "d", "element": "t.c"},
            {"property": "retention", "value": 3, "unit": "y"},
            {"property": "frequency", "value": 1, "valueExt": 1, "unit": "d"},
            {"property": "endOfLife", "value": "2042-05-12"}
        ]);
        let level = mapped(kept.clone());
        assert_eq!(level.freshness.unwrap().seconds, 4 * 86_400);
        assert_eq!(level.retention, "3 y");
        assert_eq!(
            export(Some(kept.clone()), Some(&level)),
            kept.as_array().unwrap().clone()
        );

        let mut changed = level.clone();
        changed.freshness = Some(Duration {
            seconds: 7_200,
            nanos: 0,
        });
        changed.retention.clear();
        changed.availability_percent = 99.5;
        let out = export(Some(kept), Some(&changed));
        assert_eq!(
            out[0],
            json!({"property": "latency", "value": 2, "unit": "h", "element": "t.c"})
        );
        assert!(out.iter().all(|e| e["property"] != "retention"));
        assert_eq!(
            out.last().unwrap(),
            &json!({"property": "availability", "value": 99.5, "unit": "%"})
        );
        assert_eq!(mapped(Value::Array(out)), changed);
    }
}
