//! A lean WebSocket subscriber for load runs: subscribes, then counts frames
//! and hands each update's text to a callback without parsing all of it.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// Connects to `ws` and subscribes to `asset` (one timeframe, or all).
pub async fn connect(
    ws: &str,
    asset: &str,
    timeframe: Option<&str>,
) -> anyhow::Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
> {
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(ws, None, true).await?;
    let frame = match timeframe {
        Some(tf) => format!(
            r#"{{"event":"subscribe_redis_updates","data":{{"asset":"{asset}","timeframe":"{tf}"}}}}"#
        ),
        None => format!(r#"{{"event":"subscribe_redis_updates","data":{{"asset":"{asset}"}}}}"#),
    };
    socket.send(Message::text(frame)).await?;
    Ok(socket)
}

/// Reads frames until the socket ends, calling `on_update` with the text of
/// each `redis_update`.
pub async fn drain(
    mut socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    mut on_update: impl FnMut(&str),
) {
    while let Some(Ok(frame)) = socket.next().await {
        if let Message::Text(text) = frame
            && text.starts_with(r#"{"event":"redis_update""#)
        {
            on_update(&text);
        }
    }
}

/// The text of the number after `"close":` in a frame.
#[must_use]
pub fn close_of(frame: &str) -> Option<&str> {
    let rest = frame.split(r#""close":"#).nth(1)?;
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    Some(&rest[..end])
}

/// Counts the text frames arriving on a subscribed socket without decoding
/// them: the server's frames are unmasked, so a frame is a 2 to 10 byte
/// header and a payload to skip. Keeps the load generator cheap, so the
/// figure is the server's.
pub async fn count_frames(
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    on_frames: impl Fn(u64),
) {
    use tokio::io::AsyncReadExt;
    let tokio_tungstenite::MaybeTlsStream::Plain(mut tcp) = socket.into_inner() else {
        return;
    };
    let mut buf = vec![0u8; 1 << 16];
    let mut pending: Vec<u8> = Vec::new();
    let mut skip: usize = 0;
    loop {
        let n = match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut data = &buf[..n];
        let mut frames = 0;
        loop {
            if skip > 0 {
                let s = skip.min(data.len());
                skip -= s;
                data = &data[s..];
                if skip > 0 {
                    break;
                }
            }
            pending.extend_from_slice(data);
            data = &[];
            if pending.len() < 2 {
                break;
            }
            let (len, header) = match pending[1] & 0x7f {
                126 if pending.len() >= 4 => {
                    (usize::from(u16::from_be_bytes([pending[2], pending[3]])), 4)
                }
                127 if pending.len() >= 10 => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&pending[2..10]);
                    (
                        usize::try_from(u64::from_be_bytes(b)).unwrap_or(usize::MAX),
                        10,
                    )
                }
                126 | 127 => break,
                l => (usize::from(l), 2),
            };
            if pending[0] & 0x0f == 1 {
                frames += 1;
            }
            let available = pending.len() - header;
            if available >= len {
                let rest = pending.split_off(header + len);
                pending = rest;
            } else {
                skip = len - available;
                pending.clear();
            }
        }
        on_frames(frames);
    }
}
