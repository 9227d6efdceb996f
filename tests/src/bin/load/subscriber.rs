//! A lean WebSocket subscriber for load runs: subscribes, then counts frames
//! and hands each update's text to a callback without parsing all of it.

use futures_util::SinkExt;
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

/// The digits after `"close":1.` in an update frame, as a number padded to
/// seven places: the load's tick number.
#[must_use]
pub fn tick_number(frame: &[u8]) -> Option<usize> {
    const KEY: &[u8] = br#""close":1."#;
    let start = frame.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let mut n = 0usize;
    let mut count = 0u32;
    for d in frame[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .take(7)
    {
        n = n * 10 + usize::from(d - b'0');
        count += 1;
    }
    (count > 0).then(|| n * 10usize.pow(7 - count))
}

/// Reads the text frames arriving on a subscribed socket with a minimal
/// parser, calling `on_frame` with each payload: the server's frames are
/// unmasked, so a frame is a 2 to 10 byte header and its payload. Answers
/// the server's pings, which close a session that leaves them unanswered.
/// Keeps the load generator cheap, so the figures are the server's.
pub async fn raw_frames(
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    mut on_frame: impl FnMut(&[u8]),
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tokio_tungstenite::MaybeTlsStream::Plain(mut tcp) = socket.into_inner() else {
        return;
    };
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut pongs: Vec<u8> = Vec::new();
    loop {
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(1 << 16);
        }
        match tcp.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut at = 0;
        while let Some((opcode, start, end)) = frame_at(&buf[at..]) {
            match opcode {
                1 => on_frame(&buf[at + start..at + end]),
                9 => pong(&buf[at + start..at + end], &mut pongs),
                _ => {}
            }
            at += end;
        }
        buf.drain(..at);
        if !pongs.is_empty() {
            if tcp.write_all(&pongs).await.is_err() {
                return;
            }
            pongs.clear();
        }
    }
}

/// Appends the pong answering a ping with `payload` (at most 125 bytes, as
/// every control frame): a client frame is masked, here with a zero key.
fn pong(payload: &[u8], out: &mut Vec<u8>) {
    let len = payload.len().min(125);
    out.extend_from_slice(&[0x8A, 0x80 | len as u8, 0, 0, 0, 0]);
    out.extend_from_slice(&payload[..len]);
}

/// The opcode and payload bounds of the complete frame at the start of
/// `data`, if there is one.
fn frame_at(data: &[u8]) -> Option<(u8, usize, usize)> {
    let (&b0, &b1) = (data.first()?, data.get(1)?);
    let (len, header): (usize, usize) = match b1 & 0x7f {
        126 => (
            usize::from(u16::from_be_bytes([*data.get(2)?, *data.get(3)?])),
            4,
        ),
        127 => {
            let bytes: [u8; 8] = data.get(2..10)?.try_into().ok()?;
            (usize::try_from(u64::from_be_bytes(bytes)).ok()?, 10)
        }
        l => (usize::from(l), 2),
    };
    let end = len.checked_add(header)?;
    (data.len() >= end).then_some((b0 & 0x0f, header, end))
}
