//! `DAY_START` 17:00 America/New_York across the 2026 US daylight-saving
//! changes (Sunday 8 March, Sunday 1 November), against instants worked by
//! hand: 17:00 EST is 22:00 UTC, 17:00 EDT is 21:00 UTC.

use jiff::civil::date;

use super::*;
use crate::Timeframe;

fn ny() -> DayStart {
    "17:00 America/New_York".parse().unwrap()
}

/// Unix seconds of a UTC date and hour, worked from 2026-03-01T00:00Z =
/// 1,772,323,200 (20,513 days after the epoch).
fn utc(month: u8, day: i64, hour: i64) -> i64 {
    let first_of_month = match month {
        3 => 1_772_323_200,
        // 2026-10-01T00:00Z: 214 days after 1 March.
        10 => 1_772_323_200 + 214 * 86_400,
        // 2026-11-01T00:00Z: 245 days after 1 March.
        11 => 1_772_323_200 + 245 * 86_400,
        _ => unreachable!(),
    };
    first_of_month + (day - 1) * 86_400 + hour * 3600
}

#[test]
fn parses_and_refuses_with_the_grammar() {
    assert_eq!(ny().to_string(), "17:00 America/New_York");
    assert_eq!(ny().minute_of_day(), 1020);
    assert!("00:00 UTC".parse::<DayStart>().unwrap().is_utc_midnight());
    assert_eq!(DayStart::default(), "00:00 UTC".parse().unwrap());
    for bad in [
        "17:00",
        "5:00 UTC",
        "24:00 UTC",
        "17:60 UTC",
        "17:00 Mars/Olympus",
        "",
        "17h00 UTC",
    ] {
        let err = bad.parse::<DayStart>().unwrap_err().to_string();
        assert!(
            err.contains(r#"DAY_START must look like "17:00 America/New_York""#),
            "{bad}: {err}"
        );
    }
}

#[test]
fn sessions_open_at_17_new_york_through_the_march_change() {
    let s = ny().sessions();
    let d1 = Timeframe::D1;
    // Friday 6 March 17:00 EST = 22:00 UTC.
    let fri = utc(3, 6, 22);
    assert_eq!(s.bucket_start(d1, fri), fri);
    assert_eq!(s.bucket_start(d1, fri - 1), utc(3, 5, 22));
    // Saturday 7 March 17:00 EST opens a 23-hour session: Sunday 8 March
    // 17:00 is EDT, 21:00 UTC.
    let sat = utc(3, 7, 22);
    let sun = utc(3, 8, 21);
    assert_eq!(s.bucket_end(d1, sat), sun);
    assert_eq!(sun - sat, 23 * 3600);
    assert_eq!(s.bucket_start(d1, sun - 1), sat);
    assert_eq!(s.bucket_start(d1, sun), sun);
    assert_eq!(s.bucket_end(d1, sun), utc(3, 9, 21));
    // The session opening Sunday is Monday 9 March's, and opens the week.
    assert_eq!(ny().session_date(sun), Some(date(2026, 3, 9)));
    assert_eq!(ny().session_date(fri), Some(date(2026, 3, 7)));
    assert_eq!(s.bucket_start(Timeframe::W1, utc(3, 11, 12)), sun);
    assert_eq!(s.bucket_start(Timeframe::W1, sun - 1), utc(3, 1, 22));
    assert_eq!(s.bucket_end(Timeframe::W1, sun), utc(3, 15, 21));
}

#[test]
fn sessions_open_at_17_new_york_through_the_november_change() {
    let s = ny().sessions();
    let d1 = Timeframe::D1;
    // Saturday 31 October 17:00 EDT = 21:00 UTC; Sunday 1 November 17:00
    // EST = 22:00 UTC: a 25-hour session.
    let sat = utc(10, 31, 21);
    let sun = utc(11, 1, 22);
    assert_eq!(s.bucket_start(d1, sat + 24 * 3600), sat);
    assert_eq!(s.bucket_end(d1, sat), sun);
    assert_eq!(sun - sat, 25 * 3600);
    assert_eq!(s.bucket_start(d1, sun), sun);
    assert_eq!(ny().session_date(sun), Some(date(2026, 11, 2)));
    // The week opening Sunday 25 October 17:00 EDT (21:00 UTC) lasts
    // 7 days and an hour.
    let week = utc(10, 25, 21);
    assert_eq!(s.bucket_start(Timeframe::W1, sun - 1), week);
    assert_eq!(s.bucket_end(Timeframe::W1, week), sun);
    assert_eq!(s.bucket_start(Timeframe::W1, sun), sun);
}

#[test]
fn midnight_utc_is_the_epoch_alignment() {
    let s = DayStart::default().sessions();
    assert!(s.is_utc());
    // A morning day start labels the session by the day it opens.
    let tokyo: DayStart = "09:00 Asia/Tokyo".parse().unwrap();
    // 2026-03-09T09:00+09:00 = 2026-03-09T00:00Z.
    assert_eq!(tokyo.session_date(utc(3, 9, 0)), Some(date(2026, 3, 9)));
    assert_eq!(
        tokyo.sessions().bucket_start(Timeframe::D1, utc(3, 9, 5)),
        utc(3, 9, 0)
    );
}
