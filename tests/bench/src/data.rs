//! Realistic catalog content, generated deterministically from a seed: domains, products and
//! assets with business-like names, descriptions, ~10 columns each and tags.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DOMAINS: &[&str] = &[
    "sales",
    "finance",
    "marketing",
    "logistics",
    "hr",
    "support",
    "product",
    "risk",
];
const SUBJECTS: &[&str] = &[
    "orders",
    "invoices",
    "customers",
    "shipments",
    "payments",
    "refunds",
    "campaigns",
    "leads",
    "tickets",
    "employees",
    "suppliers",
    "inventory",
    "returns",
    "subscriptions",
    "contracts",
    "claims",
    "sessions",
    "products",
    "prices",
    "warehouses",
];
const QUALIFIERS: &[&str] = &[
    "daily", "hourly", "raw", "curated", "monthly", "eu", "us", "apac", "history", "snapshot",
];
const COLUMNS: &[(&str, &str, &str)] = &[
    ("id", "bigint", "Surrogate key of the row."),
    ("customer_id", "bigint", "Customer who placed it."),
    (
        "customer_email",
        "string",
        "E-mail address of the customer.",
    ),
    ("created_at", "timestamptz", "When the record was created."),
    ("updated_at", "timestamptz", "When the record last changed."),
    (
        "amount",
        "decimal(12,2)",
        "Amount in the record's currency.",
    ),
    ("currency", "string", "ISO 4217 currency code."),
    ("country", "string", "ISO 3166 country code."),
    ("status", "string", "Processing status."),
    ("quantity", "int", "Number of units."),
    ("phone", "string", "Contact phone number."),
    ("region", "string", "Sales region."),
];

/// One generated asset.
pub struct GeneratedAsset {
    pub domain: &'static str,
    pub product: String,
    pub id: String,
    pub table: String,
    pub description: String,
    /// (name, type, description, pii tag value)
    pub columns: Vec<(
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
    )>,
}

pub struct Generator {
    rng: StdRng,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub fn domains(&self) -> &'static [&'static str] {
        DOMAINS
    }

    /// Products per domain: one per subject.
    pub fn products(&self) -> Vec<(&'static str, &'static str)> {
        DOMAINS
            .iter()
            .flat_map(|d| SUBJECTS.iter().map(move |s| (*d, *s)))
            .collect()
    }

    pub fn asset(&mut self, index: usize) -> GeneratedAsset {
        let domain = DOMAINS[self.rng.random_range(0..DOMAINS.len())];
        let subject = SUBJECTS[self.rng.random_range(0..SUBJECTS.len())];
        let qualifier = QUALIFIERS[self.rng.random_range(0..QUALIFIERS.len())];
        let column_count = self.rng.random_range(8..=12).min(COLUMNS.len());
        let mut columns = Vec::with_capacity(column_count);
        for (name, r#type, description) in COLUMNS.iter().take(column_count) {
            let pii = match *name {
                "customer_email" => Some("email"),
                "phone" => Some("phone"),
                _ => None,
            };
            columns.push((*name, *r#type, *description, pii));
        }
        GeneratedAsset {
            domain,
            product: subject.to_string(),
            id: format!("{subject}-{qualifier}-{index}"),
            table: format!("{domain}.public.{subject}_{qualifier}_{index}"),
            description: format!(
                "{} {subject} of the {domain} domain, {qualifier} grain, one row per {} event.",
                capitalize(qualifier),
                subject.trim_end_matches('s')
            ),
            columns,
        }
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}
