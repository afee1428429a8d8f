//! The Prometheus metrics as an HTTP response (`MetricsPath`).

use bytes::Bytes;
use http::{HeaderValue, Response, header};

use super::Gateway;
use crate::backend::ResponseBody;
use crate::metrics::Exposition;

/// The metrics of the gateway's workers, rendered now in the format `parts` accepts.
pub(super) fn respond(gateway: &Gateway, parts: &http::request::Parts) -> Response<ResponseBody> {
    let format = Exposition::from_accept(
        parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok()),
    );
    let body = crate::metrics::render(&gateway.workers, format);
    let mut response = Response::new(ResponseBody::Complete(Bytes::from(body)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
