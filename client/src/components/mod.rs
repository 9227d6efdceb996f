//! The page's parts, one file each.

mod asset_picker;
mod candle_chart;
mod chart_panel;
mod csv_chart;
mod indicator_menu;
mod layout_picker;
mod legend;
mod open_csv;
mod status_badges;
mod stream_controls;
mod time_zone_picker;
mod timeframe_picker;

pub use asset_picker::AssetPicker;
pub use candle_chart::CandleChart;
pub use chart_panel::ChartPanel;
pub use csv_chart::CsvChart;
pub use indicator_menu::IndicatorMenu;
pub use layout_picker::LayoutPicker;
pub use legend::Legend;
pub use open_csv::OpenCsv;
pub use status_badges::StatusBadges;
pub use stream_controls::StreamControls;
pub use time_zone_picker::TimeZonePicker;
pub use timeframe_picker::TimeframePicker;
