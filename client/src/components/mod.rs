//! The page's parts.

mod asset_picker;
mod timeframe_picker;

pub use asset_picker::AssetPicker;
pub use timeframe_picker::TimeframePicker;
