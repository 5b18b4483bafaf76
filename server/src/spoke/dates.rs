//! Dates for the CLI: today's local date, local times for messages, and due dates as people type
//! them (the parser is core's, shared with the app).

use chrono::NaiveDate;
use hearth_core::dates::parse_due;

/// The local date.
pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// A moment (ms since the Unix epoch) as local date and time, for messages.
pub fn local_time(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

/// A due date as typed, relative to [`today`], as the ISO date the edit verbs take.
pub fn due(input: &str) -> anyhow::Result<String> {
    Ok(parse_due(input, today()).map_err(anyhow::Error::msg)?.to_string())
}
