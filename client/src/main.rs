//! The page's entry point: marks when the app starts (for the paint figure)
//! and mounts [`client::App`] on the document body.

fn main() {
    console_error_panic_hook::set_once();
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let _ = p.mark("app-start");
    }
    leptos::mount::mount_to_body(|| leptos::view! { <client::App /> });
}
