//! The page's entry point: mounts [`client::App`] on the document body.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(client::App);
}
