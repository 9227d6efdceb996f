//! [`StreamControls`]: start and stop the simulated feed of the asset shown.

use leptos::prelude::*;

use crate::model::Streaming;
use crate::stream::DataStream;

/// Start and Stop buttons; each is enabled only when it does something.
#[component]
pub fn StreamControls(
    /// The stream to drive.
    stream: DataStream,
) -> impl IntoView {
    let view = stream.view();
    let running = move || !matches!(view.with(|v| v.streaming), Streaming::Idle);
    view! {
        <div class="stream-controls">
            <button id="start-stream" type="button" disabled=running on:click=move |_| stream.start_stream()>
                "Start stream"
            </button>
            <button
                id="stop-stream"
                type="button"
                disabled=move || !running()
                on:click=move |_| stream.stop_stream()
            >
                "Stop stream"
            </button>
        </div>
    }
}
