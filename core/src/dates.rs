//! Due dates as people type them, one parser for the CLI and the app: `2026-12-01`, `today`,
//! `tomorrow`, `yesterday`, weekday names (`fri`, `friday`: the next such day, today included) and `+N`
//! days (`+3`, `+3d`). The caller gives today's local date, so the result never depends on where the
//! code runs.
//!
//! ```
//! use hearth_core::dates::parse_due_iso;
//! assert_eq!(parse_due_iso("fri", "2026-11-25").as_deref(), Ok("2026-11-27"));
//! assert_eq!(parse_due_iso("+3", "2026-12-30").as_deref(), Ok("2027-01-02"));
//! assert!(parse_due_iso("soon", "2026-11-25").unwrap_err().contains("YYYY-MM-DD"));
//! ```

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// Parse `input` relative to `today`. The error says what is accepted.
pub fn parse_due(input: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    let s = input.trim().to_lowercase();
    let offset = |n: u64| {
        today
            .checked_add_days(Days::new(n))
            .ok_or_else(|| format!("{input:?} is too far ahead"))
    };
    match s.as_str() {
        "today" | "tod" => return Ok(today),
        "tomorrow" | "tom" => return offset(1),
        "yesterday" => {
            return today
                .checked_sub_days(Days::new(1))
                .ok_or_else(|| "no yesterday".into());
        }
        _ => {}
    }
    if let Some(n) = s
        .strip_prefix('+')
        .and_then(|n| n.strip_suffix('d').unwrap_or(n).parse::<u64>().ok())
    {
        return offset(n);
    }
    if let Ok(day) = s.parse::<Weekday>() {
        let ahead = (7 + day.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
        return offset(u64::from(ahead));
    }
    NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| {
        format!(
            "{input:?} is not a date: use YYYY-MM-DD, today, tomorrow, a weekday name (fri, friday) or +N"
        )
    })
}

/// [`parse_due`] over ISO dates: `today` and the result are `YYYY-MM-DD`.
pub fn parse_due_iso(input: &str, today: &str) -> Result<String, String> {
    let today = NaiveDate::parse_from_str(today, "%Y-%m-%d")
        .map_err(|_| format!("today ({today:?}) is not a YYYY-MM-DD date"))?;
    parse_due(input, today).map(|d| d.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute_dates() {
        let wed = NaiveDate::from_ymd_opt(2026, 11, 25).expect("date"); // a Wednesday
        let d = |s: &str| parse_due(s, wed).map(|d| d.to_string());
        assert_eq!(d("today").as_deref(), Ok("2026-11-25"));
        assert_eq!(d("Tomorrow").as_deref(), Ok("2026-11-26"));
        assert_eq!(d("fri").as_deref(), Ok("2026-11-27"));
        assert_eq!(d("wednesday").as_deref(), Ok("2026-11-25"));
        assert_eq!(d("monday").as_deref(), Ok("2026-11-30"));
        assert_eq!(d("+10").as_deref(), Ok("2026-12-05"));
        assert_eq!(d("2027-02-28").as_deref(), Ok("2027-02-28"));
        assert!(d("2027-02-29").expect_err("no such day").contains("YYYY-MM-DD"));
        assert!(d("soon").is_err());
    }
}
