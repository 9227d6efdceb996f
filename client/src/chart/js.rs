//! Values handed to the chart library: serialised data and JSON options as
//! plain JS objects.

use js_sys::Object;
use serde::Serialize;
use wasm_bindgen::JsValue;

/// Serialises for the library: maps as plain objects.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    value.serialize(&serializer).unwrap_or(JsValue::NULL)
}

/// Options as JSON text to a JS object.
pub(crate) fn options(json: &serde_json::Value) -> JsValue {
    js_sys::JSON::parse(&json.to_string()).unwrap_or_else(|_| Object::new().into())
}
