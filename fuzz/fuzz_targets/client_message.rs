//! Any bytes as a WebSocket frame: parsing never panics, and whatever
//! parses writes back to JSON that parses to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::ClientMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = ClientMessage::from_slice(data) {
        let json = message.to_json();
        let again = ClientMessage::from_json(&json).expect("a parsed message writes back parseable");
        assert_eq!(again, message, "{json}");
    }
});
