//! [`Socket`]: one browser WebSocket and its event handlers, which live as
//! long as it does.
//!
//! `index.html` opens the page's socket in its first script, while the chart
//! library and the wasm load, as `window.tickstreamSocket`; the first
//! [`Socket::open`] for that address takes it over (already open, most of
//! the time), so the subscription goes out as the charts mount rather than
//! a handshake later. The server says nothing before the client's first
//! frame, so nothing is missed before the handlers are set.

use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

/// What a [`Socket`] reports.
pub struct Handlers {
    /// The connection opened.
    pub on_open: Box<dyn Fn()>,
    /// A text frame arrived.
    pub on_text: Box<dyn Fn(String)>,
    /// The connection closed (or could not open).
    pub on_close: Box<dyn Fn()>,
}

/// An open or opening WebSocket.
pub struct Socket {
    ws: WebSocket,
    _open: Closure<dyn Fn(Event)>,
    _message: Closure<dyn Fn(MessageEvent)>,
    _close: Closure<dyn Fn(CloseEvent)>,
}

impl Socket {
    /// Opens `url`.
    ///
    /// # Errors
    ///
    /// The browser's error for a malformed URL.
    pub fn open(url: &str, handlers: Handlers) -> Result<Self, JsValue> {
        let ws = match take_early(url) {
            Some(ws) => ws,
            None => WebSocket::new(url)?,
        };
        let Handlers {
            on_open,
            on_text,
            on_close,
        } = handlers;
        let open = Closure::<dyn Fn(Event)>::new(move |_: Event| on_open());
        let message = Closure::<dyn Fn(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(text) = e.data().as_string() {
                on_text(text);
            }
        });
        let close = Closure::<dyn Fn(CloseEvent)>::new(move |_: CloseEvent| on_close());
        ws.set_onopen(Some(open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(message.as_ref().unchecked_ref()));
        // An error is always followed by a close event: that one reconnects.
        ws.set_onclose(Some(close.as_ref().unchecked_ref()));
        Ok(Self {
            ws,
            _open: open,
            _message: message,
            _close: close,
        })
    }

    /// Whether frames can be sent (an adopted socket may be open at once).
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.ws.ready_state() == WebSocket::OPEN
    }

    /// Sends a text frame if open; `false` if it could not be sent.
    pub fn send(&self, text: &str) -> bool {
        self.is_open() && self.ws.send_with_str(text).is_ok()
    }

    /// Closes without reporting the close.
    pub fn close(self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// The global `index.html` keeps its early socket in.
const EARLY: &str = "tickstreamSocket";

/// The socket `index.html` opened, if it is for `url` and still opening or
/// open; taken once (it is removed from the page, and closed if unusable).
fn take_early(url: &str) -> Option<WebSocket> {
    let window = web_sys::window()?;
    let key = JsValue::from_str(EARLY);
    let early = js_sys::Reflect::get(&window, &key).ok()?;
    if early.is_undefined() {
        return None;
    }
    let _ = js_sys::Reflect::delete_property(&window, &key);
    let ws = early.dyn_into::<WebSocket>().ok()?;
    let usable = matches!(ws.ready_state(), WebSocket::CONNECTING | WebSocket::OPEN);
    if usable && ws.url() == url {
        Some(ws)
    } else {
        let _ = ws.close();
        None
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    /// Nothing listens there: the sockets stay opening for the test's length.
    const URL: &str = "ws://127.0.0.1:9/ws";

    fn handlers() -> Handlers {
        Handlers {
            on_open: Box::new(|| {}),
            on_text: Box::new(|_| {}),
            on_close: Box::new(|| {}),
        }
    }

    fn window() -> web_sys::Window {
        web_sys::window().expect("a window")
    }

    /// What `index.html` does.
    fn leave_early(url: &str) -> WebSocket {
        let ws = WebSocket::new(url).expect("a socket");
        js_sys::Reflect::set(&window(), &JsValue::from_str(EARLY), &ws).expect("set");
        ws
    }

    fn early_left() -> bool {
        !js_sys::Reflect::get(&window(), &JsValue::from_str(EARLY))
            .expect("get")
            .is_undefined()
    }

    #[wasm_bindgen_test]
    fn the_early_socket_of_the_address_is_taken_over_once() {
        let early = leave_early(URL);
        let socket = Socket::open(URL, handlers()).expect("open");
        assert!(!early_left());
        // The very socket, now with the app's handlers, and still opening.
        assert!(early.onopen().is_some() && early.onmessage().is_some());
        assert_eq!(early.ready_state(), WebSocket::CONNECTING);
        // A reconnection opens a socket of its own.
        let again = Socket::open(URL, handlers()).expect("open");
        assert!(early.onopen().is_some());
        again.close();
        socket.close();
        assert!(early.onopen().is_none());
    }

    #[wasm_bindgen_test]
    fn an_early_socket_of_another_address_is_closed() {
        let early = leave_early("ws://127.0.0.1:9/elsewhere");
        let socket = Socket::open(URL, handlers()).expect("open");
        assert!(!early_left());
        assert!(early.onopen().is_none());
        assert_ne!(early.ready_state(), WebSocket::CONNECTING);
        socket.close();
    }
}
