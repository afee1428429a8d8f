//! The Prometheus metrics as an HTTP response (`MetricsPath`).

use bytes::Bytes;
use http::{HeaderValue, Response, header};

use super::Gateway;
use crate::backend::ResponseBody;

/// The metrics of the gateway's workers, rendered now.
pub(super) fn respond(gateway: &Gateway) -> Response<ResponseBody> {
    let body = crate::metrics::render(&gateway.workers);
    let mut response = Response::new(ResponseBody::Complete(Bytes::from(body)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
