//! Just enough HTTP/1.1 for `/metrics` and `/health`: read a request head,
//! route its request line, write one response and close. Pure: no I/O, so
//! every malformed request is a unit test.

/// The longest request head accepted (request line and headers).
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
    /// Not a request line this server can read: 400.
    BadRequest,
}

/// A parsed request: where it goes and whether the body is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The route.
    pub route: Route,
    /// `HEAD`: headers only.
    pub head_only: bool,
}

/// The length of the request head in `buf` (through the blank line that
/// ends it), or `None` while it is incomplete. A bare `\n\n` ends it too.
pub fn head_len(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Routes a request head (headers are ignored). Only origin-form targets
/// (`/metrics`, `/health?x=1`) are accepted; the query string is ignored.
pub fn parse(head: &[u8]) -> Request {
    let bad = Request {
        route: Route::BadRequest,
        head_only: false,
    };
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else {
        return bad;
    };
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return bad;
    };
    let method_ok = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    if !method_ok || !target.starts_with('/') || !version.starts_with("HTTP/1.") {
        return bad;
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    let route = match path {
        "/metrics" => Route::Metrics,
        "/health" => Route::Health,
        _ => Route::NotFound,
    };
    let head_only = method == "HEAD";
    let route = if route != Route::NotFound && method != "GET" && !head_only {
        Route::MethodNotAllowed
    } else {
        route
    };
    Request { route, head_only }
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

    /// The response for a route that needs no pool (404, 405, 400).
    pub fn for_error(route: Route) -> Option<Response> {
        match route {
            Route::NotFound => Some(Response::text(404, "not found: try /metrics or /health")),
            Route::MethodNotAllowed => {
                Some(Response::text(405, "method not allowed: use GET or HEAD"))
            }
            Route::BadRequest => Some(Response::text(400, "bad request")),
            Route::Metrics | Route::Health => None,
        }
    }

    /// The bytes on the wire: status line, headers, and the body unless
    /// `head_only`. The connection closes after it.
    pub fn to_bytes(&self, head_only: bool) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
             Cache-Control: no-store\r\nConnection: close\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.body.len()
        );
        if self.status == 405 {
            out.push_str("Allow: GET, HEAD\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        if !head_only {
            bytes.extend_from_slice(self.body.as_bytes());
        }
        bytes
    }
}

/// The reason phrase of a status code this server sends.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(head: &str) -> Route {
        parse(head.as_bytes()).route
    }

    #[test]
    fn routes_the_two_paths() {
        assert_eq!(
            route("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics
        );
        assert_eq!(route("GET /health HTTP/1.0\r\n\r\n"), Route::Health);
        assert_eq!(
            route("GET /metrics?name=x HTTP/1.1\r\n\r\n"),
            Route::Metrics
        );
        assert_eq!(route("GET / HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(route("GET /metrics/ HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(route("POST /nope HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(
            route("POST /metrics HTTP/1.1\r\n\r\n"),
            Route::MethodNotAllowed
        );
        let head = parse(b"HEAD /health HTTP/1.1\n\n");
        assert_eq!((head.route, head.head_only), (Route::Health, true));
    }

    #[test]
    fn malformed_request_lines_are_bad_requests() {
        for head in [
            "",
            "\r\n\r\n",
            "GET\r\n\r\n",
            "GET /metrics\r\n\r\n",
            "GET  /metrics HTTP/1.1\r\n\r\n",
            "GET /metrics HTTP/1.1 extra\r\n\r\n",
            "get /metrics HTTP/1.1\r\n\r\n",
            "GET metrics HTTP/1.1\r\n\r\n",
            "GET http://h/metrics HTTP/1.1\r\n\r\n",
            "GET /metrics HTTP/2.0\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        ] {
            assert_eq!(route(head), Route::BadRequest, "{head:?}");
        }
        assert_eq!(
            parse(b"GET /\xff HTTP/1.1\r\n\r\n").route,
            Route::BadRequest
        );
    }

    #[test]
    fn head_ends_at_the_first_blank_line() {
        assert_eq!(head_len(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
        assert_eq!(head_len(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(head_len(b"GET / HTTP/1.1\n\n"), Some(16));
    }

    #[test]
    fn responses_carry_length_and_close() {
        let r = Response {
            status: 200,
            content_type: PROMETHEUS,
            body: "x 1\n".into(),
        };
        let wire = String::from_utf8(r.to_bytes(false)).unwrap();
        assert!(wire.starts_with("HTTP/1.1 200 OK\r\n"), "{wire}");
        assert!(wire.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
        assert!(wire.contains("Content-Length: 4\r\n"));
        assert!(wire.contains("Connection: close\r\n"));
        assert!(wire.ends_with("\r\n\r\nx 1\n"));
        let head = String::from_utf8(r.to_bytes(true)).unwrap();
        assert!(head.ends_with(
            "Content-Length: 4\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
        ));
        let not_allowed = Response::for_error(Route::MethodNotAllowed).unwrap();
        assert!(String::from_utf8(not_allowed.to_bytes(false))
            .unwrap()
            .contains("Allow: GET, HEAD\r\n"));
        assert_eq!(Response::for_error(Route::Metrics), None);
    }
}
