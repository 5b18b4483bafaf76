//! How a problem is said to a person, wherever the app shows one (toasts, the pill, the sync panel).

/// What a sync problem says to a person: the browser's own words for a failed request ("TypeError:
/// Failed to fetch", "NetworkError when attempting to fetch resource", "Load failed") become a sentence.
pub fn for_people(message: &str) -> String {
    let m = message.to_ascii_lowercase();
    if m.contains("failed to fetch")
        || m.contains("networkerror")
        || m.contains("load failed")
        || m.starts_with("typeerror")
    {
        "The hub could not be reached.".to_owned()
    } else {
        message.to_owned()
    }
}
