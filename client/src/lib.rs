//! The tickstream page, a Leptos CSR app compiled to WebAssembly. It uses the
//! very same domain types as the server (`shared`).
//!
//! # Layout
//!
//! - [`app`]: [`App`], the page.
//! - [`components`]: the page's parts, one file each.

pub mod app;
pub mod components;

pub use app::App;
