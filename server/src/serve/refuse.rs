//! Refusing a connection over a cap before any work is done for it: a
//! fixed `503` or `429` written straight on the socket, without reading
//! the request or routing it, then the connection closed.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::gate::Refused;

/// Refusals written at once; past that a refused socket is just closed.
/// Counted in [`super::fd_limit::RESERVED`].
pub const AT_ONCE: usize = 64;

/// How long a refused client may take to read the answer and close.
const LINGER: Duration = Duration::from_secs(1);

/// Bytes of the refused request read and dropped, so that closing does not
/// reset the connection before the client reads the answer.
const DRAIN: usize = 16 * 1024;

/// Writes refusals, at most [`AT_ONCE`] at a time.
#[derive(Debug, Clone)]
pub struct Refusals {
    slots: Arc<Semaphore>,
}

impl Default for Refusals {
    fn default() -> Self {
        Self {
            slots: Arc::new(Semaphore::new(AT_ONCE)),
        }
    }
}

impl Refusals {
    /// Answers `tcp` with the refusal for `why` and closes it, in a task of
    /// its own; when too many refusals are being written, closes it at once.
    pub fn refuse(&self, mut tcp: TcpStream, why: Refused) {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            return;
        };
        tokio::spawn(async move {
            let _slot = slot;
            let _ = tokio::time::timeout(LINGER, async {
                tcp.write_all(&response(why)).await?;
                tcp.shutdown().await?;
                // Wait for the client to close, reading what it sent.
                let mut buf = [0u8; 1024];
                let mut read = 0;
                while read < DRAIN {
                    match tcp.read(&mut buf).await? {
                        0 => break,
                        n => read += n,
                    }
                }
                std::io::Result::Ok(())
            })
            .await;
        });
    }
}

/// The whole answer for `why`.
fn response(why: Refused) -> Vec<u8> {
    let status = match why {
        Refused::Full => "503 Service Unavailable",
        Refused::TooManyFromAddress => "429 Too Many Requests",
    };
    let body = format!("{why}\n");
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_complete_http_responses() {
        let text = String::from_utf8(response(Refused::Full)).unwrap();
        assert!(text.starts_with("HTTP/1.1 503 "), "{text}");
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(head.contains("connection: close"));
        let text = String::from_utf8(response(Refused::TooManyFromAddress)).unwrap();
        assert!(text.starts_with("HTTP/1.1 429 "), "{text}");
    }
}
