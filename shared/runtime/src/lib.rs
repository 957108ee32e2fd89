//! The shared runtime of every Weft process: one configuration loader, one server bootstrap,
//! one error mapping, one authenticator, one telemetry setup.

pub mod auth;
pub mod config;
pub mod error;
pub mod fieldmask;
pub mod filter;
pub mod interceptors;
pub mod overload;
pub mod paging;
pub mod probe;
pub mod recursion;
pub mod sequence_header;
pub mod server;
pub mod telemetry;
pub mod tls;
pub mod validate;

pub use auth::{Authenticator, Caller, Principal};
pub use config::{ServiceConfig, ServiceKind};
pub use error::{ApiError, FieldErrors, Violation};
pub use server::GrpcServer;
