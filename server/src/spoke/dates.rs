//! Due dates as people type them: `2026-12-01`, `today`, `tomorrow`, `yesterday`, weekday names
//! (`fri`, `friday`: the next such day, today included) and `+N` days.

use chrono::{Datelike, Days, NaiveDate, Weekday};

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

#[cfg(test)]
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
