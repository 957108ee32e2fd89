//! `weft.gateway.v1.PortalService`: the gateway's own composed RPCs, joining several services'
//! answers. Each backend is called as the caller (its principal forwarded as the proxy does), so
//! a composed view never shows more than the caller could read piece by piece. GetCaller and
//! GetImpactReport are served; the product overview and the merged audit answer UNIMPLEMENTED
//! until the issues that build them.

use std::collections::{BTreeMap, BTreeSet};

use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use weft_proto::weft::common::v1::Principal;
use weft_proto::weft::gateway::v1::portal_service_server::PortalService;
use weft_proto::weft::gateway::v1::{GetCallerRequest, GetCallerResponse, GetImpactReportRequest};
use weft_proto::weft::governance::v1::ListSubscriptionsRequest;
use weft_proto::weft::governance::v1::governance_service_client::GovernanceServiceClient;
use weft_proto::weft::lineage::v1::lineage_service_client::LineageServiceClient;
use weft_proto::weft::lineage::v1::{AnalyzeImpactRequest, AnalyzeImpactResponse};
use weft_runtime::auth::{PRINCIPAL_METADATA_KEY, encode_principal};
use weft_runtime::interceptors::caller;
use weft_runtime::telemetry;

/// Subscriptions read per page while collecting a product's subscribers.
const SUBSCRIPTIONS_PAGE: i32 = 1000;

pub struct PortalApi {
    lineage: Channel,
    governance: Channel,
}

impl PortalApi {
    pub fn new(lineage: Channel, governance: Channel) -> Self {
        Self {
            lineage,
            governance,
        }
    }

    /// The active subscribers (projects) of each product.
    async fn subscribers(
        &self,
        principal: &weft_runtime::Principal,
        products: &[String],
    ) -> Result<BTreeMap<String, BTreeSet<String>>, Status> {
        let mut governance = GovernanceServiceClient::new(self.governance.clone());
        let mut subscribers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for product in products {
            let filter = format!(
                "data_product = \"{}\" AND state = \"ACTIVE\"",
                product.replace('\\', "\\\\").replace('"', "\\\"")
            );
            let mut page_token = String::new();
            loop {
                let page = governance
                    .list_subscriptions(as_caller(
                        principal,
                        ListSubscriptionsRequest {
                            filter: filter.clone(),
                            page_size: SUBSCRIPTIONS_PAGE,
                            page_token,
                        },
                    ))
                    .await?
                    .into_inner();
                subscribers
                    .entry(product.clone())
                    .or_default()
                    .extend(page.subscriptions.into_iter().map(|s| s.project));
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
        Ok(subscribers)
    }
}

/// A request to a backend on behalf of `principal` (the header the backend trusts from the
/// gateway, as `proxy` sets it), with the current trace context.
fn as_caller<T>(principal: &weft_runtime::Principal, message: T) -> Request<T> {
    let mut headers = http::HeaderMap::new();
    telemetry::inject_current_context(&mut headers);
    let mut request = Request::new(message);
    *request.metadata_mut() = MetadataMap::from_headers(headers);
    request.metadata_mut().insert_bin(
        PRINCIPAL_METADATA_KEY,
        MetadataValue::from_bytes(&encode_principal(principal)),
    );
    request
}

#[tonic::async_trait]
impl PortalService for PortalApi {
    async fn get_caller(
        &self,
        request: Request<GetCallerRequest>,
    ) -> Result<Response<GetCallerResponse>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(GetCallerResponse {
            principal: Some(Principal {
                subject: caller.principal.subject,
                groups: caller.principal.groups,
            }),
            admin: caller.is_admin,
        }))
    }

    /// Lineage's impact analysis, with each affected product's active subscribers from
    /// governance.
    async fn get_impact_report(
        &self,
        request: Request<GetImpactReportRequest>,
    ) -> Result<Response<AnalyzeImpactResponse>, Status> {
        let principal = caller(&request)?.principal;
        let request = request.into_inner();
        let mut report = LineageServiceClient::new(self.lineage.clone())
            .analyze_impact(as_caller(
                &principal,
                AnalyzeImpactRequest {
                    node: request.node,
                    depth: request.depth,
                },
            ))
            .await?
            .into_inner();
        let subscribers = self.subscribers(&principal, &report.data_products).await?;
        for dataset in &mut report.datasets {
            if let Some(projects) = subscribers.get(&dataset.data_product) {
                dataset.subscribers = projects.iter().cloned().collect();
            }
        }
        report.subscribers = subscribers
            .into_values()
            .flatten()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        Ok(Response::new(report))
    }
}
