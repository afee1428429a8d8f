//! A status worker's answer as an HTTP response: the status worker itself knows nothing of
//! hyper; this reads what it needs from the request and frames its reply.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use super::Gateway;
use super::mapping::ConnectionInfo;
use crate::backend::ResponseBody;
use crate::status::{ServerMap, StatusReply, StatusRequest, StatusWorker};

/// Answers `parts` with `worker`, over the gateway's mounts and workers.
pub(super) fn respond(
    worker: &StatusWorker,
    gateway: &Gateway,
    parts: &http::request::Parts,
    info: &ConnectionInfo,
) -> Response<ResponseBody> {
    let local_ip = String::from_utf8_lossy(&info.local_ip).into_owned();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()));
    let request = StatusRequest {
        path: parts.uri.path(),
        query: parts.uri.query(),
        host,
        local_ip: &local_ip,
        local_port: info.local_port,
        authorization: parts
            .headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes),
    };
    let main = gateway.mounts.load();
    let vhosts: Vec<_> = gateway.vhosts.iter().map(|v| v.mounts.load()).collect();
    let mut maps = Vec::with_capacity(1 + vhosts.len());
    maps.push(ServerMap {
        server: gateway.server_name.as_deref(),
        mounts: &main,
    });
    // httpd chains each <VirtualHost> it reads in front of the ones before it, and mod_jk
    // walks that chain: the main server first, then the vhosts last-written first.
    for (vhost, mounts) in gateway.vhosts.iter().zip(&vhosts).rev() {
        maps.push(ServerMap {
            server: Some(&vhost.status_name),
            mounts,
        });
    }
    into_response(worker.handle(&maps, &gateway.workers, &request))
}

/// 200 (or 401 with a Basic challenge, httpd's part in front of mod_jk), the content type,
/// and `Cache-Control`/`Pragma: no-cache` as mod_jk sends them.
pub fn into_response(reply: StatusReply) -> Response<ResponseBody> {
    let challenge = reply.www_authenticate();
    let unauthorized = challenge.is_some();
    let mut response = Response::new(ResponseBody::Complete(Bytes::from(reply.body)));
    let headers = response.headers_mut();
    if let Some(value) = challenge.and_then(|v| HeaderValue::from_str(&v).ok()) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if unauthorized {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
    }
    response
}
