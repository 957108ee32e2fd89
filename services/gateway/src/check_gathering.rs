//! Public `Check` calls, gathered: the hottest RPC (every query engine asks it before every
//! query) is not forwarded call by call. The calls that arrive while governance is deciding
//! earlier ones wait in a queue and go together in one internal `CheckForCallers`, which decides
//! and journals each exactly as Check would; each caller gets its own outcome. At one call at a
//! time nothing waits (a call goes alone at once); under load one round trip to governance, its
//! HTTP/2 and TLS work included, serves many callers.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tonic::body::Body;
use tonic::server::{Grpc, UnaryService};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_prost::ProstCodec;
use weft_access_checks::DECISION_TIMEOUT;
use weft_proto::weft::governance::v1::governance_internal_service_client::GovernanceInternalServiceClient;
use weft_proto::weft::governance::v1::{
    CallerCheck, CheckForCallersRequest, CheckRequest, CheckResponse, check_outcome,
};
use weft_runtime::Principal;

use crate::authorization::Authorizer;

/// The public RPC answered here.
pub const CHECK_PATH: &str = "/weft.governance.v1.GovernanceService/Check";
/// Rounds to governance in flight at once: enough to keep both governance and the gateway busy;
/// past it, calls wait and the next round carries them all.
const MAX_ROUNDS_IN_FLIGHT: usize = 4;
/// Most calls in one round (governance takes up to 1,000).
const MAX_CALLS_PER_ROUND: usize = 256;
/// Calls waiting for a round at most; past it a caller waits to be queued.
const QUEUE_CAPACITY: usize = 4_096;

type Reply = oneshot::Sender<Result<CheckResponse, Status>>;

struct Call {
    caller: Principal,
    /// The catalog position the call is decided at (see `Authorizer::catalog_position_of`).
    catalog_position: i64,
    request: CheckRequest,
    reply: Reply,
}

/// The queue of Check calls waiting for governance (see the module).
#[derive(Clone)]
pub struct CheckGathering {
    queue: mpsc::Sender<Call>,
    max_message_bytes: usize,
}

impl CheckGathering {
    /// The gathering and the task that sends its rounds, to be run in the background.
    pub fn new(
        governance: Channel,
        authorizer: Arc<Authorizer>,
        max_message_bytes: usize,
    ) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (queue, calls) = mpsc::channel(QUEUE_CAPACITY);
        let sender = send_rounds(
            calls,
            GovernanceInternalServiceClient::new(governance),
            authorizer,
        );
        (
            Self {
                queue,
                max_message_bytes,
            },
            sender,
        )
    }

    /// Answers the gRPC call `request` of `caller` (already authenticated and authorized),
    /// decided at `catalog_position` at least.
    pub async fn serve(
        &self,
        caller: Principal,
        catalog_position: i64,
        request: http::Request<Body>,
    ) -> http::Response<Body> {
        let mut grpc = Grpc::new(ProstCodec::<CheckResponse, CheckRequest>::default())
            .apply_max_message_size_config(Some(self.max_message_bytes), None);
        let service = QueuedCheck {
            queue: self.queue.clone(),
            caller,
            catalog_position,
        };
        grpc.unary(service, request).await
    }
}

/// One call's way through the queue, as tonic's unary server wants it.
struct QueuedCheck {
    queue: mpsc::Sender<Call>,
    caller: Principal,
    catalog_position: i64,
}

impl UnaryService<CheckRequest> for QueuedCheck {
    type Response = CheckResponse;
    type Future = BoxFuture<'static, Result<tonic::Response<CheckResponse>, Status>>;

    fn call(&mut self, request: tonic::Request<CheckRequest>) -> Self::Future {
        let queue = self.queue.clone();
        let caller = self.caller.clone();
        let catalog_position = self.catalog_position;
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            let call = Call {
                caller,
                catalog_position,
                request: request.into_inner(),
                reply,
            };
            queue.send(call).await.map_err(|_| unavailable())?;
            // A round dropped unanswered (the gateway stopping) reads as governance unreachable.
            answer
                .await
                .unwrap_or_else(|_| Err(unavailable()))
                .map(tonic::Response::new)
        })
    }
}

fn unavailable() -> Status {
    Status::unavailable("weft.governance.v1.GovernanceService is unavailable")
}

/// Sends the queued calls to governance in rounds, until every sender is gone.
async fn send_rounds(
    mut calls: mpsc::Receiver<Call>,
    governance: GovernanceInternalServiceClient<Channel>,
    authorizer: Arc<Authorizer>,
) {
    let rounds = Arc::new(Semaphore::new(MAX_ROUNDS_IN_FLIGHT));
    loop {
        // A free slot first, then whatever has queued meanwhile: when every slot is busy the
        // calls gather for the next round.
        let slot = rounds
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let Some(first) = calls.recv().await else {
            return;
        };
        let mut round = vec![first];
        while round.len() < MAX_CALLS_PER_ROUND {
            match calls.try_recv() {
                Ok(call) => round.push(call),
                Err(_) => break,
            }
        }
        let governance = governance.clone();
        let authorizer = authorizer.clone();
        tokio::spawn(async move {
            answer_round(governance, &authorizer, round).await;
            drop(slot);
        });
    }
}

/// Asks governance one round and answers each of its callers.
async fn answer_round(
    mut governance: GovernanceInternalServiceClient<Channel>,
    authorizer: &Authorizer,
    round: Vec<Call>,
) {
    let mut replies = Vec::with_capacity(round.len());
    let mut checks = Vec::with_capacity(round.len());
    for call in round {
        replies.push(call.reply);
        checks.push(CallerCheck {
            principal: call.caller.subject,
            groups: call.caller.groups,
            request: Some(call.request),
            min_catalog_sequence: call.catalog_position,
        });
    }
    let mut request = tonic::Request::new(CheckForCallersRequest { checks });
    request.set_timeout(DECISION_TIMEOUT);
    let outcomes = match governance.check_for_callers(request).await {
        Ok(response) => {
            let response = response.into_inner();
            // So a decision cached before this answer's index is not used after it.
            authorizer.observe_index_sequence(response.index_sequence);
            response.outcomes
        }
        Err(status) => {
            tracing::warn!(%status, "governance could not decide gathered Check calls");
            return answer_all(replies, unavailable);
        }
    };
    if outcomes.len() != replies.len() {
        tracing::error!(
            calls = replies.len(),
            outcomes = outcomes.len(),
            "governance answered another number of Check calls than asked"
        );
        return answer_all(replies, || {
            Status::internal("governance answered out of step")
        });
    }
    for (reply, outcome) in replies.into_iter().zip(outcomes) {
        let answer = match outcome.outcome {
            Some(check_outcome::Outcome::Response(response)) => Ok(response),
            Some(check_outcome::Outcome::Error(error)) => Err(Status::with_details(
                Code::from_i32(error.code),
                error.message,
                error.details.into(),
            )),
            None => Err(Status::internal(
                "governance answered a call without outcome",
            )),
        };
        // A caller that went away no longer waits for its answer.
        let _ = reply.send(answer);
    }
}

fn answer_all(replies: Vec<Reply>, status: impl Fn() -> Status) {
    for reply in replies {
        let _ = reply.send(Err(status()));
    }
}
