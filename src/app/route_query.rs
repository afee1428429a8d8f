//! `jkgate route`: asks a running jkgate where a session id would go now, through its
//! status worker (`cmd=route&mime=json`), so the answer comes from the live state (member
//! states, activations, health checks) and from the balancer's own routing code.

use std::process::ExitCode;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

use crate::status::json::StatusDocument;
use crate::status::query::encode;

/// What `jkgate route` was asked.
#[derive(Debug, Clone)]
pub struct RouteQuery {
    /// The status worker's URL, e.g. `http://127.0.0.1:8080/jkstatus`.
    pub status_url: String,
    /// The session id (several candidates `;`-separated).
    pub session_id: String,
    /// One lb (default: every lb).
    pub worker: Option<String>,
    /// A request path whose mount rule decides the lb and its extensions.
    pub uri: Option<String>,
    /// `user:password` for a status worker with a `user` list.
    pub user: Option<String>,
    /// Print the status worker's JSON as it came.
    pub json: bool,
}

/// Why the question got no answer.
#[derive(Debug, thiserror::Error)]
pub enum RouteQueryError {
    /// The URL cannot be used.
    #[error("--status-url `{url}`: {problem}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong.
        problem: String,
    },
    /// The connection or the HTTP exchange failed.
    #[error("{url}: {problem}")]
    Http {
        /// The URL asked.
        url: String,
        /// What failed.
        problem: String,
    },
    /// The answer is not the status worker's JSON.
    #[error("{url}: not a jkgate status worker answer (HTTP {status}): {problem}")]
    Answer {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// What is wrong.
        problem: String,
    },
    /// The status worker refused the question.
    #[error("the status worker answered: {0}")]
    Refused(String),
}

/// The URL of the question.
fn question_url(query: &RouteQuery) -> Result<http::Uri, RouteQueryError> {
    let bad = |problem: &str| RouteQueryError::Url {
        url: query.status_url.clone(),
        problem: problem.to_owned(),
    };
    let base: http::Uri = query
        .status_url
        .parse()
        .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
    if base.scheme_str() != Some("http") {
        return Err(bad(
            "write an http:// URL (a listener on loopback, for example)",
        ));
    }
    if base.authority().is_none() {
        return Err(bad("the URL has no host"));
    }
    let mut target = format!(
        "{}?cmd=route&mime=json&sid={}",
        base.path(),
        encode(&query.session_id)
    );
    if let Some(worker) = &query.worker {
        target.push_str("&w=");
        target.push_str(&encode(worker));
    }
    if let Some(uri) = &query.uri {
        target.push_str("&uri=");
        target.push_str(&encode(uri));
    }
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    format!("http://{authority}{target}")
        .parse()
        .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))
}

/// Asks the status worker; returns its JSON text.
pub async fn ask(query: &RouteQuery) -> Result<(StatusDocument, String), RouteQueryError> {
    let uri = question_url(query)?;
    let url = uri.to_string();
    let http_error = |problem: String| RouteQueryError::Http {
        url: url.clone(),
        problem,
    };
    let authority = uri
        .authority()
        .cloned()
        .ok_or_else(|| http_error("no host".into()))?;
    let port = authority.port_u16().unwrap_or(80);
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| http_error(format!("connect: {e}")))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| http_error(e.to_string()))?;
    tokio::spawn(connection);
    let mut request = http::Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(http::header::HOST, authority.as_str());
    if let Some(user) = &query.user {
        let token = base64::engine::general_purpose::STANDARD.encode(user.as_bytes());
        request = request.header(http::header::AUTHORIZATION, format!("Basic {token}"));
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|e| http_error(e.to_string()))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| http_error(e.to_string()))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| http_error(e.to_string()))?
        .to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    let document: StatusDocument =
        serde_json::from_str(&text).map_err(|e| RouteQueryError::Answer {
            url: url.clone(),
            status,
            problem: e.to_string(),
        })?;
    if document.result.kind != "OK" {
        return Err(RouteQueryError::Refused(document.result.message));
    }
    Ok((document, text))
}

/// The answer in words, one block per lb.
pub fn describe(document: &StatusDocument) -> String {
    let mut out = String::new();
    for r in &document.routes {
        let target = if r.member.is_empty() {
            "no member (the request would get 503 now)".to_owned()
        } else {
            format!(
                "member {} (route {}, {} {}, health {}), {}",
                r.member,
                r.route,
                r.activation,
                r.state,
                r.health,
                if r.sticky { "sticky" } else { "not sticky" }
            )
        };
        out.push_str(&format!(
            "{}: session {} (route {}) -> {target}\n  why: {} [{}]\n",
            r.lb,
            if r.session_id.is_empty() {
                "-"
            } else {
                &r.session_id
            },
            if r.session_route.is_empty() {
                "-"
            } else {
                &r.session_route
            },
            r.why,
            r.reason
        ));
    }
    out
}

/// `jkgate route`: 0 with the answer on stdout, 1 with the error on stderr.
pub fn route(query: &RouteQuery) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(ask(query)) {
        Ok((document, text)) => {
            if query.json {
                print!("{text}");
            } else {
                print!("{}", describe(&document));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
