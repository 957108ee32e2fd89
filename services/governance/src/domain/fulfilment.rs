//! Provisioning's reports of how governance's grants were applied on the data plane: each
//! report moves the subscribed asset's fulfilment (GRANT_IN_PROGRESS → GRANTED or GRANT_FAILED,
//! the REVOKE_* mirror) on the subscription that created the grant. Reports of grants that no
//! subscription created are accepted and change nothing (their status is provisioning's
//! ListGrantFulfilments).

use std::collections::BTreeMap;

use weft_proto::weft::governance::v1::{
    FulfilmentReport, Grant, ReportFulfilmentRequest, ReportFulfilmentResponse, Subscription,
};
use weft_runtime::{ApiError, Caller};
use weft_storage::resources::{self, Edit};

use super::Governance;

/// Most reports in one call.
const MAX_REPORTS: usize = 1_000;

impl Governance {
    pub async fn report_fulfilment(
        &self,
        caller: &Caller,
        request: ReportFulfilmentRequest,
    ) -> Result<ReportFulfilmentResponse, ApiError> {
        if request.reports.len() > MAX_REPORTS {
            return Err(ApiError::invalid(
                "reports",
                format!("at most {MAX_REPORTS}"),
            ));
        }
        let mut by_subscription: BTreeMap<String, Vec<FulfilmentReport>> = BTreeMap::new();
        for report in request.reports {
            let Some(grant) = resources::find::<Grant, _>(self.store().db(), &report.grant).await?
            else {
                continue;
            };
            if !grant.subscription.is_empty() {
                by_subscription
                    .entry(grant.subscription)
                    .or_default()
                    .push(report);
            }
        }
        let mut applied = 0;
        for (subscription, reports) in by_subscription {
            let now = Some(weft_proto::time::timestamp(weft_storage::write::now()));
            let changed = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
            let counted = changed.clone();
            let result = resources::update(
                self.store(),
                caller.subject(),
                Edit::new("ReportFulfilment", &subscription, "").verb("fulfilment_reported"),
                move |_, mut stored: Subscription| {
                    Box::pin(async move {
                        for report in &reports {
                            for asset in stored.assets.iter_mut().filter(|asset| {
                                asset.grant == report.grant && asset.asset == report.asset
                            }) {
                                if asset.state != report.state || asset.error != report.error {
                                    asset.state = report.state;
                                    asset.error = report.error.clone();
                                    asset.update_time = now;
                                    counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                }
                            }
                        }
                        if counted.load(std::sync::atomic::Ordering::Relaxed) == 0 {
                            // Nothing new: no write, no event.
                            return Err(ApiError::Aborted("unchanged".to_string()));
                        }
                        Ok(stored)
                    })
                },
            )
            .await;
            match result {
                Ok(_) => applied += changed.load(std::sync::atomic::Ordering::Relaxed),
                Err(ApiError::Aborted(_)) | Err(ApiError::NotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(ReportFulfilmentResponse { applied })
    }
}
