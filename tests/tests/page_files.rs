//! The page's static files as the real server binary sends them, over raw
//! HTTP/1.1 so every header and byte is what went over the wire: the
//! precompressed copies the build leaves (`FILE.br`, `FILE.gz`) by the
//! request's `Accept-Encoding`, the file itself when the encoding is unknown,
//! refused or missing, for `HEAD` and for `Range`; a year's `immutable` cache
//! on trunk's hashed names and `no-cache` on the page; nothing outside
//! `DIST_DIR`, however the path is spelled.
//!
//! The compressed copies here are stand-ins (the server never decodes them):
//! which bytes come back says which copy was chosen.

use std::collections::HashMap;
use std::path::Path;

use e2e::{Server, paths};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const JS: &str = "client-0123456789abcdef.js";
const WASM: &str = "client-0123456789abcdef_bg.wasm";
const PAGE: &str = "<!doctype html><title>tickstream</title>";
const SCRIPT: &str = "export function start() { return 42; }\n";
const SECRET: &str = "outside-dist-secret-7f3a";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A response as read from the socket.
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `method target` with `headers` and reads the whole answer.
async fn send(server: &Server, method: &str, target: &str, headers: &[&str]) -> Answer {
    let address = server.url("").replacen("http://", "", 1);
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        socket.read_to_end(&mut raw),
    )
    .await
    .expect("the server answers within 10 s")
    .unwrap();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole response head");
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let mut found: HashMap<String, String> = HashMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim().to_owned();
            found
                .entry(name)
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value);
                })
                .or_insert(value);
        }
    }
    Answer {
        status,
        headers: found,
        body: raw[end + 4..].to_vec(),
    }
}

/// A built page in `root/dist`, and a file beside it that must stay unseen.
fn build(root: &Path) -> std::path::PathBuf {
    let dist = root.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    let write = |name: &str, content: &[u8]| std::fs::write(dist.join(name), content).unwrap();
    write("index.html", PAGE.as_bytes());
    write("index.html.br", b"br:index");
    write("index.html.gz", b"gz:index");
    write(JS, SCRIPT.as_bytes());
    write(&format!("{JS}.br"), b"br:script");
    write(&format!("{JS}.gz"), b"gz:script");
    // No `.br` for the wasm: the build left only gzip.
    write(WASM, b"\0asm\x01\0\0\0");
    write(&format!("{WASM}.gz"), b"gz:wasm");
    std::fs::write(root.join("secret.txt"), SECRET).unwrap();
    dist
}

fn start(dist: &Path) -> Server {
    let dist = dist.to_str().unwrap();
    Server::spawn(&paths::tickstream_bin(), &[("DIST_DIR", dist)]).unwrap()
}

#[tokio::test]
async fn files_go_compressed_by_what_the_request_accepts() {
    let root = tempfile::tempdir().unwrap();
    let server = start(&build(root.path()));
    let js = format!("/{JS}");

    let br = send(&server, "GET", &js, &["Accept-Encoding: gzip, deflate, br"]).await;
    assert_eq!((br.status, br.text().as_str()), (200, "br:script"));
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(br.header("content-type"), Some("text/javascript"));
    assert_eq!(br.header("content-length"), Some("9"));
    assert_eq!(br.header("vary"), Some("accept-encoding"));
    assert_eq!(br.header("cache-control"), Some(IMMUTABLE));

    let gz = send(&server, "GET", &js, &["Accept-Encoding: gzip"]).await;
    assert_eq!((gz.status, gz.text().as_str()), (200, "gz:script"));
    assert_eq!(gz.header("content-encoding"), Some("gzip"));

    // Preference by weight.
    let weighed = send(
        &server,
        "GET",
        &js,
        &["Accept-Encoding: br;q=0.5, gzip;q=1"],
    )
    .await;
    assert_eq!(weighed.text(), "gz:script");

    // Unknown, refused, malformed or absent: the file itself.
    for accept in [
        Some("Accept-Encoding: zstd"),
        Some("Accept-Encoding: br;q=0, gzip;q=0"),
        Some("Accept-Encoding: ;;q=x, ,"),
        Some("Accept-Encoding: identity"),
        None,
    ] {
        let headers: Vec<&str> = accept.into_iter().collect();
        let plain = send(&server, "GET", &js, &headers).await;
        assert_eq!(
            (plain.status, plain.text().as_str()),
            (200, SCRIPT),
            "{accept:?}"
        );
        assert_eq!(plain.header("content-encoding"), None, "{accept:?}");
        assert_eq!(plain.header("cache-control"), Some(IMMUTABLE), "{accept:?}");
        assert_eq!(plain.header("vary"), Some("accept-encoding"), "{accept:?}");
    }

    // The wasm has no `.br`: gzip when accepted, else the file.
    let wasm = format!("/{WASM}");
    let gz = send(&server, "GET", &wasm, &["Accept-Encoding: br, gzip"]).await;
    assert_eq!((gz.status, gz.text().as_str()), (200, "gz:wasm"));
    assert_eq!(gz.header("content-type"), Some("application/wasm"));
    let plain = send(&server, "GET", &wasm, &["Accept-Encoding: br"]).await;
    assert_eq!(plain.body, b"\0asm\x01\0\0\0");
    assert_eq!(plain.header("content-encoding"), None);
}

#[tokio::test]
async fn the_page_is_revalidated_and_hashed_names_are_immutable() {
    let root = tempfile::tempdir().unwrap();
    let server = start(&build(root.path()));
    for path in ["/", "/index.html", "/chart/EURUSD_otc"] {
        let page = send(&server, "GET", path, &["Accept-Encoding: br"]).await;
        assert_eq!(
            (page.status, page.text().as_str()),
            (200, "br:index"),
            "{path}"
        );
        assert_eq!(page.header("cache-control"), Some("no-cache"), "{path}");
        assert!(page.header("content-security-policy").is_some(), "{path}");
        let plain = send(&server, "GET", path, &[]).await;
        assert_eq!(plain.text(), PAGE, "{path}");
    }
    // A hashed name that is not in the build is the page, never cached.
    let missing = send(&server, "GET", "/client-fedcba9876543210.js", &[]).await;
    assert_eq!((missing.status, missing.text().as_str()), (200, PAGE));
    assert_eq!(missing.header("cache-control"), Some("no-cache"));

    // Revalidation answers 304, the hashed file keeping its cache.
    let first = send(&server, "GET", &format!("/{JS}"), &[]).await;
    let stamp = first.header("last-modified").unwrap().to_owned();
    let again = send(
        &server,
        "GET",
        &format!("/{JS}"),
        &[&format!("If-Modified-Since: {stamp}")],
    )
    .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("cache-control"), Some(IMMUTABLE));
    let page = send(
        &server,
        "GET",
        "/",
        &[&format!("If-Modified-Since: {stamp}")],
    )
    .await;
    assert_eq!(page.status, 304);
    assert_eq!(page.header("cache-control"), Some("no-cache"));
}

#[tokio::test]
async fn head_and_range_requests_behave() {
    let root = tempfile::tempdir().unwrap();
    let server = start(&build(root.path()));
    let js = format!("/{JS}");

    // HEAD: the headers GET would send, no body.
    let head = send(&server, "HEAD", &js, &["Accept-Encoding: br"]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-encoding"), Some("br"));
    assert_eq!(head.header("content-length"), Some("9"));
    assert_eq!(head.header("cache-control"), Some(IMMUTABLE));
    let head = send(&server, "HEAD", "/", &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(PAGE.len().to_string().as_str())
    );

    // Range: the file's own bytes, even when compression is accepted.
    let part = send(
        &server,
        "GET",
        &js,
        &["Accept-Encoding: br, gzip", "Range: bytes=7-14"],
    )
    .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.text(), &SCRIPT[7..=14]);
    assert_eq!(part.header("content-encoding"), None);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 7-14/{}", SCRIPT.len()).as_str())
    );
    let past = send(&server, "GET", &js, &["Range: bytes=1000-2000"]).await;
    assert_eq!(past.status, 416);
    assert_eq!(past.header("cache-control"), Some("no-cache"));
    let many = send(&server, "GET", &js, &["Range: bytes=0-1, 4-5"]).await;
    assert_eq!(many.status, 416);
    let nonsense = send(&server, "GET", &js, &["Range: pages=1"]).await;
    assert!(
        nonsense.status == 416 || (nonsense.status == 200 && nonsense.text() == SCRIPT),
        "{} {}",
        nonsense.status,
        nonsense.text()
    );
}

#[tokio::test]
async fn no_path_reaches_outside_the_build() {
    let root = tempfile::tempdir().unwrap();
    let server = start(&build(root.path()));
    for target in [
        "/../secret.txt",
        "/../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%2fsecret.txt",
        "/..%5csecret.txt",
        "/client-0123456789abcdef.js/../../secret.txt",
        "/./../secret.txt",
        "//secret.txt",
        "/%00secret.txt",
        "/dist/../secret.txt",
    ] {
        for accept in ["Accept-Encoding: br, gzip", "Accept-Encoding: identity"] {
            let answer = send(&server, "GET", target, &[accept]).await;
            let text = answer.text();
            assert!(!text.contains(SECRET), "{target}: {text}");
            assert!(!text.contains("root:"), "{target}: {text}");
            assert_ne!(answer.header("cache-control"), Some(IMMUTABLE), "{target}");
            assert!(
                answer.status == 200 && (text == PAGE || text == "br:index")
                    || (400..500).contains(&answer.status),
                "{target}: {} {text}",
                answer.status
            );
        }
    }
}
