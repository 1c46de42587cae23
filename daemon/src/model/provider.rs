//! The model seam: one trait every model API implements. The session holds an
//! `Arc<dyn ModelProvider>` from [`provider_for`](super::provider_for) and never names a
//! concrete provider.

use std::future::Future;
use std::pin::Pin;

use tokio::sync::mpsc;

use super::error::ModelError;
use super::types::{ModelReply, ModelRequest};

/// A boxed future, so providers can sit behind `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A model endpoint. Text deltas go to `deltas` as they arrive.
pub trait ModelProvider: Send + Sync {
    /// Streams one completion: one attempt, bounded by the provider's own stall and
    /// whole-call limits. Retrying is [`complete_with_retries`](super::complete_with_retries).
    fn stream<'a>(
        &'a self,
        request: &'a ModelRequest,
        deltas: &'a mpsc::UnboundedSender<String>,
    ) -> BoxFuture<'a, Result<ModelReply, ModelError>>;
}
