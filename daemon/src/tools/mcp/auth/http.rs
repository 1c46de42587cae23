//! The streamable HTTP client with OAuth: rmcp's reqwest client, with the
//! server's bearer token on every request. A 401 on a token that can be
//! refreshed is refreshed and retried once; a 401 otherwise, or a 403
//! `insufficient_scope`, is recorded in the [`ServerAuth`] (the server then
//! needs a login) and returned to rmcp as the error it is.

use std::collections::HashMap;
use std::sync::Arc;

use reqwest::header::{HeaderName, HeaderValue};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::common::client_side_sse::BoxedSseResponse;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};

use super::ServerAuth;

/// A reqwest client that authenticates as [`ServerAuth`] says.
#[derive(Clone)]
pub struct AuthHttp {
    inner: reqwest::Client,
    /// `None`: a server without OAuth (plain requests).
    auth: Option<Arc<ServerAuth>>,
}

type HttpError = StreamableHttpError<reqwest::Error>;

impl AuthHttp {
    /// `inner` makes the requests (the same settings rmcp's default client has).
    pub fn new(auth: Option<Arc<ServerAuth>>) -> AuthHttp {
        let inner = reqwest::Client::builder()
            // As rmcp's own default: no idle pooling (delayed-ACK stalls).
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let same_origin = attempt
                    .previous()
                    .first()
                    .is_some_and(|first| first.origin() == attempt.url().origin());
                let keeps_body = matches!(attempt.status().as_u16(), 307 | 308);
                if same_origin && keeps_body && attempt.previous().len() < 10 {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()
            .unwrap_or_default();
        AuthHttp { inner, auth }
    }

    /// Whether to retry after a refusal (see [`refusal`]), recording it.
    async fn retry(&self, refusal: Option<(bool, String)>, sent: Option<&str>) -> bool {
        let Some(auth) = &self.auth else {
            return false;
        };
        match refusal {
            Some((true, header)) => auth.unauthorized(&header, sent).await,
            Some((false, header)) => {
                auth.insufficient_scope(&header);
                false
            }
            None => false,
        }
    }

    /// Runs `call` with the bearer token. A refusal that a refresh mends is
    /// retried once with the new token; a second refusal is recorded, not retried.
    async fn authorized<T, F, Fut>(&self, call: F) -> Result<T, HttpError>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: std::future::Future<Output = Result<T, HttpError>>,
    {
        let token = self.bearer().await;
        let first = call(token.clone()).await;
        if !self.retry(refusal(&first), token.as_deref()).await {
            return first;
        }
        let again = call(self.bearer().await).await;
        let _ = self.retry(refusal(&again), None).await;
        again
    }

    async fn bearer(&self) -> Option<String> {
        match &self.auth {
            Some(a) => a.bearer().await,
            None => None,
        }
    }
}

/// A 401 (`true`) or 403 and its challenge, owned (the result may hold a stream
/// that is not `Sync`, so it is not borrowed across an await).
fn refusal<T>(result: &Result<T, HttpError>) -> Option<(bool, String)> {
    match result {
        Err(StreamableHttpError::AuthRequired(e)) => {
            Some((true, e.www_authenticate_header.clone()))
        }
        Err(StreamableHttpError::InsufficientScope(e)) => {
            Some((false, e.www_authenticate_header.clone()))
        }
        _ => None,
    }
}

impl StreamableHttpClient for AuthHttp {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, HttpError> {
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            None,
            custom_headers,
            StreamableHttpResponseLimits::default(),
        )
        .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, HttpError> {
        let mut limits = StreamableHttpResponseLimits::default();
        limits.max_sse_event_size = max_sse_event_size;
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            None,
            custom_headers,
            limits,
        )
        .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, HttpError> {
        self.authorized(|token| {
            self.inner.post_message_with_response_limits(
                uri.clone(),
                message.clone(),
                session_id.clone(),
                token,
                custom_headers.clone(),
                limits,
            )
        })
        .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), HttpError> {
        let token = self.bearer().await;
        self.inner
            .delete_session(uri, session_id, token, custom_headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxedSseResponse, HttpError> {
        self.authorized(|token| {
            self.inner.get_stream(
                uri.clone(),
                session_id.clone(),
                last_event_id.clone(),
                token,
                custom_headers.clone(),
            )
        })
        .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxedSseResponse, HttpError> {
        self.authorized(|token| {
            self.inner.get_stream_with_max_sse_event_size(
                uri.clone(),
                session_id.clone(),
                last_event_id.clone(),
                token,
                custom_headers.clone(),
                max_sse_event_size,
            )
        })
        .await
    }
}
