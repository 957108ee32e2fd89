//! Jobs, datasets and runs, read from the database.

use weft_proto::weft::lineage::v1::{
    Dataset, DatasetField, GetDatasetRequest, Job, ListDatasetsRequest, ListDatasetsResponse,
    ListJobsRequest, ListJobsResponse, ListRunsRequest, ListRunsResponse, Run,
};
use weft_runtime::ApiError;
use weft_runtime::paging::PageRequest;

use super::Lineage;
use crate::graph::timestamp;
use crate::store::entities::{dataset, job, run};
use crate::store::reads;

impl Lineage {
    pub async fn list_jobs(&self, request: &ListJobsRequest) -> Result<ListJobsResponse, ApiError> {
        let page = PageRequest::parse(
            request.page_size,
            &request.page_token,
            &format!("jobs|{}", request.namespace),
        )?;
        let conn = self.store().db();
        let mut rows = reads::jobs(
            conn,
            &request.namespace,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut rows, |row| row.id.as_str());
        let mut jobs = Vec::with_capacity(rows.len());
        for row in rows {
            let latest = match row.latest_run_id.as_str() {
                "" => None,
                id => reads::run(conn, id).await?,
            };
            jobs.push(job_message(row, latest));
        }
        Ok(ListJobsResponse {
            jobs,
            next_page_token,
        })
    }

    pub async fn list_datasets(
        &self,
        request: &ListDatasetsRequest,
    ) -> Result<ListDatasetsResponse, ApiError> {
        let page = PageRequest::parse(
            request.page_size,
            &request.page_token,
            &format!("datasets|{}", request.namespace),
        )?;
        let mut rows = reads::datasets(
            self.store().db(),
            &request.namespace,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut rows, |row| row.id.as_str());
        Ok(ListDatasetsResponse {
            datasets: rows
                .into_iter()
                .map(|row| self.dataset_message(row))
                .collect(),
            next_page_token,
        })
    }

    pub async fn get_dataset(&self, request: &GetDatasetRequest) -> Result<Dataset, ApiError> {
        if request.id.is_empty() {
            return Err(ApiError::invalid(
                "id",
                "is required: dataset:{namespace}:{name}",
            ));
        }
        reads::dataset(self.store().db(), &request.id)
            .await?
            .map(|row| self.dataset_message(row))
            .ok_or_else(|| ApiError::not_found(&request.id))
    }

    pub async fn list_runs(&self, request: &ListRunsRequest) -> Result<ListRunsResponse, ApiError> {
        if request.job.is_empty() {
            return Err(ApiError::invalid(
                "job",
                "is required: job:{namespace}:{name}",
            ));
        }
        let conn = self.store().db();
        if reads::job(conn, &request.job).await?.is_none() {
            return Err(ApiError::not_found(&request.job));
        }
        let page = PageRequest::parse(
            request.page_size,
            &request.page_token,
            &format!("runs|{}", request.job),
        )?;
        let after = match page.after.as_deref() {
            None => None,
            Some(token) => Some(
                token
                    .split_once('|')
                    .and_then(|(time, id)| Some((time.parse::<i64>().ok()?, id.to_string())))
                    .ok_or_else(|| {
                        ApiError::invalid("page_token", "is not a token from this listing")
                    })?,
            ),
        };
        let mut rows = reads::runs(
            conn,
            &request.job,
            after.as_ref().map(|(time, id)| (*time, id.as_str())),
            page.fetch_limit(),
        )
        .await?;
        let mut cursors: Vec<String> = rows
            .iter()
            .map(|r| format!("{}|{}", r.state_time, r.run_id))
            .collect();
        let next_page_token = page.finish(&mut cursors, String::as_str);
        rows.truncate(cursors.len());
        Ok(ListRunsResponse {
            runs: rows.into_iter().map(run_message).collect(),
            next_page_token,
        })
    }
}

fn ids(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

pub fn run_message(row: run::Model) -> Run {
    let duration = match (row.start_time, row.end_time) {
        (Some(start), Some(end)) if end >= start => Some(prost_types::Duration {
            seconds: (end - start) / 1_000_000,
            nanos: ((end - start) % 1_000_000 * 1_000) as i32,
        }),
        _ => None,
    };
    Run {
        run_id: row.run_id,
        job: row.job,
        state: row.state,
        start_time: row.start_time.map(timestamp),
        end_time: row.end_time.map(timestamp),
        duration,
        parent_run_id: row.parent_run_id,
        error_message: row.error_message,
        inputs: ids(&row.inputs_json),
        outputs: ids(&row.outputs_json),
    }
}

fn job_message(row: job::Model, latest: Option<run::Model>) -> Job {
    Job {
        id: row.id,
        namespace: row.namespace,
        name: row.name,
        current_version: row.current_version,
        job_type: row.job_type,
        latest_run: latest.map(run_message),
        facets_json: row.facets_json,
    }
}

impl Lineage {
    fn dataset_message(&self, row: dataset::Model) -> Dataset {
        let asset = self
            .catalog()
            .asset_at(&row.namespace, &row.name)
            .map(|asset| asset.name.clone())
            .unwrap_or_default();
        dataset_message(row, asset)
    }
}

fn dataset_message(row: dataset::Model, asset: String) -> Dataset {
    #[derive(serde::Deserialize)]
    struct StoredField {
        name: String,
        #[serde(rename = "type")]
        field_type: String,
        description: String,
    }
    let fields: Vec<StoredField> = serde_json::from_str(&row.fields_json).unwrap_or_default();
    Dataset {
        id: row.id,
        namespace: row.namespace,
        name: row.name,
        current_version: row.current_version,
        fields: fields
            .into_iter()
            .map(|f| DatasetField {
                name: f.name,
                r#type: f.field_type,
                description: f.description,
            })
            .collect(),
        asset,
        facets_json: row.facets_json,
        update_time: Some(timestamp(row.update_time)),
    }
}
