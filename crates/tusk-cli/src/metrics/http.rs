//! Routing and responses for `/metrics` and `/health`. HTTP itself
//! (parsing, keep-alive, limits, `HEAD`, malformed requests) is hyper's;
//! this module only decides what each request gets, with no I/O, so every
//! route is a unit test.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, StatusCode};

/// The longest request head accepted (request line and headers); longer
/// ones get 431 from hyper. hyper's own minimum buffer is 8 KiB.
pub const MAX_HEAD: usize = 8 * 1024;

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET /metrics`: the Prometheus text exposition.
    Metrics,
    /// `GET /health`: the pool's health as JSON.
    Health,
    /// A path this server does not have: 404.
    NotFound,
    /// A known path with a method other than GET or HEAD: 405.
    MethodNotAllowed,
}

/// Routes a request by method and path (the query string is not part of
/// `path`; hyper has split it off).
pub fn route(method: &Method, path: &str) -> Route {
    let route = match path {
        "/metrics" => Route::Metrics,
        "/health" => Route::Health,
        _ => return Route::NotFound,
    };
    if method == Method::GET || method == Method::HEAD {
        route
    } else {
        Route::MethodNotAllowed
    }
}

/// One response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

/// The Prometheus text exposition's content type.
pub const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";
/// JSON.
pub const JSON: &str = "application/json";
/// Plain text.
pub const TEXT: &str = "text/plain; charset=utf-8";

impl Response {
    /// A plain-text response.
    pub fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: TEXT,
            body: format!("{body}\n"),
        }
    }

    /// The response for a route that needs no pool (404, 405).
    pub fn for_error(route: Route) -> Option<Response> {
        match route {
            Route::NotFound => Some(Response::text(404, "not found: try /metrics or /health")),
            Route::MethodNotAllowed => {
                Some(Response::text(405, "method not allowed: use GET or HEAD"))
            }
            Route::Metrics | Route::Health => None,
        }
    }

    /// The response as hyper sends it. hyper adds `Content-Length` from
    /// the body and leaves the body out for `HEAD`.
    pub fn into_hyper(self) -> hyper::Response<Full<Bytes>> {
        let status = self.status;
        let mut r = hyper::Response::new(Full::new(Bytes::from(self.body)));
        *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = r.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == 405 {
            headers.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn routes_the_two_paths() {
        assert_eq!(route(&Method::GET, "/metrics"), Route::Metrics);
        assert_eq!(route(&Method::GET, "/health"), Route::Health);
        assert_eq!(route(&Method::HEAD, "/health"), Route::Health);
        assert_eq!(route(&Method::GET, "/"), Route::NotFound);
        assert_eq!(route(&Method::GET, "/metrics/"), Route::NotFound);
        assert_eq!(route(&Method::POST, "/nope"), Route::NotFound);
        assert_eq!(route(&Method::POST, "/metrics"), Route::MethodNotAllowed);
        assert_eq!(route(&Method::DELETE, "/health"), Route::MethodNotAllowed);
    }

    #[test]
    fn responses_carry_type_and_allow() {
        let r = Response {
            status: 200,
            content_type: PROMETHEUS,
            body: "x 1\n".into(),
        }
        .into_hyper();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_TYPE], PROMETHEUS);
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
        let body = block_on(r.into_body().collect()).unwrap().to_bytes();
        assert_eq!(&body[..], b"x 1\n");
        let not_allowed = Response::for_error(Route::MethodNotAllowed)
            .unwrap()
            .into_hyper();
        assert_eq!(not_allowed.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(not_allowed.headers()[ALLOW], "GET, HEAD");
        assert_eq!(Response::for_error(Route::Metrics), None);
    }

    /// Full's body is ready at once: one poll on a current-thread runtime.
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }
}
