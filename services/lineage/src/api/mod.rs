//! Lineage's tonic adapter: unwraps requests, calls the domain, maps `ApiError` to `Status`.

use tonic::{Request, Response, Status};
use weft_proto::weft::common::v1::WatchEventsRequest;
use weft_proto::weft::lineage::v1::lineage_internal_service_server::LineageInternalService;
use weft_proto::weft::lineage::v1::lineage_service_server::LineageService;
use weft_proto::weft::lineage::v1::*;
use weft_runtime::interceptors::caller;

use crate::domain::catalog_visibility::CatalogVisibility;
use weft_storage::service::{EventStream, watch_events};

use crate::domain::Lineage;

/// `weft.lineage.v1.LineageService`.
pub struct LineageApi {
    lineage: Lineage,
    catalog_visibility: CatalogVisibility,
}

impl LineageApi {
    pub fn new(lineage: Lineage, catalog_visibility: CatalogVisibility) -> Self {
        Self {
            lineage,
            catalog_visibility,
        }
    }
}

#[tonic::async_trait]
impl LineageService for LineageApi {
    async fn ingest_event(
        &self,
        request: Request<IngestEventRequest>,
    ) -> Result<Response<IngestEventResponse>, Status> {
        let caller = caller(&request)?;
        let created = self
            .lineage
            .ingest_event(&caller, &request.into_inner().event_json)
            .await?;
        Ok(Response::new(IngestEventResponse { created }))
    }

    async fn ingest_events(
        &self,
        request: Request<IngestEventsRequest>,
    ) -> Result<Response<IngestEventsResponse>, Status> {
        let caller = caller(&request)?;
        let outcome = self
            .lineage
            .ingest_events(&caller, request.into_inner().events_json)
            .await?;
        Ok(Response::new(IngestEventsResponse {
            succeeded: outcome.succeeded as i32,
            failed: outcome.failed,
        }))
    }

    async fn get_lineage_graph(
        &self,
        request: Request<GetLineageGraphRequest>,
    ) -> Result<Response<GetLineageGraphResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let mut response = self
            .lineage
            .query_graph(move |lineage| lineage.get_lineage_graph(&request))
            .await?;
        self.catalog_visibility
            .hide_in_graph(&caller, &mut response)
            .await?;
        Ok(Response::new(response))
    }

    async fn get_column_lineage(
        &self,
        request: Request<GetColumnLineageRequest>,
    ) -> Result<Response<GetLineageGraphResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        let mut response = self
            .lineage
            .query_graph(move |lineage| lineage.get_column_lineage(&request))
            .await?;
        self.catalog_visibility
            .hide_in_graph(&caller, &mut response)
            .await?;
        Ok(Response::new(response))
    }

    async fn list_jobs(
        &self,
        request: Request<ListJobsRequest>,
    ) -> Result<Response<ListJobsResponse>, Status> {
        Ok(Response::new(
            self.lineage.list_jobs(request.get_ref()).await?,
        ))
    }

    async fn list_datasets(
        &self,
        request: Request<ListDatasetsRequest>,
    ) -> Result<Response<ListDatasetsResponse>, Status> {
        let caller = caller(&request)?;
        let mut response = self.lineage.list_datasets(request.get_ref()).await?;
        self.catalog_visibility
            .hide_in_datasets(&caller, &mut response.datasets)
            .await?;
        Ok(Response::new(response))
    }

    async fn get_dataset(
        &self,
        request: Request<GetDatasetRequest>,
    ) -> Result<Response<Dataset>, Status> {
        let caller = caller(&request)?;
        let mut dataset = self.lineage.get_dataset(request.get_ref()).await?;
        self.catalog_visibility
            .hide_in_datasets(&caller, std::slice::from_mut(&mut dataset))
            .await?;
        Ok(Response::new(dataset))
    }

    async fn analyze_impact(
        &self,
        request: Request<AnalyzeImpactRequest>,
    ) -> Result<Response<AnalyzeImpactResponse>, Status> {
        let caller = caller(&request)?;
        let request = request.into_inner();
        self.catalog_visibility
            .require_describable_start(&caller, &request.node)
            .await?;
        let mut response = self
            .lineage
            .query_graph(move |lineage| lineage.analyze_impact(&request))
            .await?;
        self.catalog_visibility
            .hide_in_impact(&caller, &mut response)
            .await?;
        Ok(Response::new(response))
    }

    async fn list_runs(
        &self,
        request: Request<ListRunsRequest>,
    ) -> Result<Response<ListRunsResponse>, Status> {
        Ok(Response::new(
            self.lineage.list_runs(request.get_ref()).await?,
        ))
    }
}

/// `weft.lineage.v1.LineageInternalService`: the outbox stream.
pub struct LineageInternalApi {
    lineage: Lineage,
}

impl LineageInternalApi {
    pub fn new(lineage: Lineage) -> Self {
        Self { lineage }
    }
}

#[tonic::async_trait]
impl LineageInternalService for LineageInternalApi {
    async fn watch_events(
        &self,
        request: Request<WatchEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        Ok(Response::new(watch_events(
            self.lineage.store(),
            request.into_inner(),
        )?))
    }
}
