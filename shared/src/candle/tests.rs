//! The wire form, the checks and the roll-up of [`Candle`].

use super::*;

fn candle(tf: Timeframe, t: i64, o: &str, h: &str, l: &str, c: &str, v: u64) -> Candle {
    Candle::new_checked(
        Asset::new("EURUSD_otc"),
        tf,
        t,
        Price::new(o),
        Price::new(h),
        Price::new(l),
        Price::new(c),
        v,
        CandleState::Closed,
    )
    .unwrap()
}

const T0: i64 = 1_705_314_600; // 2024-01-15T10:30:00Z

#[test]
fn json_matches_the_design() {
    let c = candle(
        Timeframe::M1,
        T0,
        "1.0823",
        "1.0830",
        "1.0820",
        "1.0825",
        17,
    );
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(
        json,
        r#"{"asset":"EURUSD_otc","timeframe":"1M","timestamp":1705314600,"open":1.0823,"high":1.083,"low":1.082,"close":1.0825,"volume":17,"date":"2024-01-15T10:30:00Z","state":"closed"}"#
    );
    assert_eq!(serde_json::from_str::<Candle>(&json).unwrap(), c);
}

#[test]
fn refuses_inconsistent_candles_with_reasons() {
    let base = r#""asset":"EURUSD_otc","timeframe":"1M","volume":3"#;
    let cases = [
        (format!(r#"{{{base},"timestamp":1705314600,"open":1,"high":1,"low":2,"close":1}}"#), "inconsistent"),
        (format!(r#"{{{base},"timestamp":1705314600,"open":3,"high":2,"low":1,"close":1}}"#), "inconsistent"),
        (format!(r#"{{{base},"timestamp":1705314601,"open":1,"high":1,"low":1,"close":1}}"#), "not the start"),
        (format!(r#"{{{base},"timestamp":60,"open":1,"high":1,"low":1,"close":1}}"#), "outside"),
        (format!(r#"{{{base},"timestamp":1705314600,"open":1,"high":1,"low":1,"close":1,"date":"2024-01-15T10:31:00Z"}}"#), "does not match"),
        (format!(r#"{{{base},"timestamp":1705314600,"open":1,"high":1,"low":1}}"#), "missing field `close`"),
        (r#"{"asset":"EURUSD_otc","timeframe":"1M","volume":0,"timestamp":1705314600,"open":1,"high":1,"low":1,"close":1}"#.to_owned(), "at least 1"),
    ];
    for (json, expected) in cases {
        let err = serde_json::from_str::<Candle>(&json)
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{json}: {err}");
    }
}

#[test]
fn resamples_minutes_into_five() {
    let m1 = [
        candle(Timeframe::M1, T0, "1.0", "1.5", "0.9", "1.2", 3),
        candle(Timeframe::M1, T0 + 120, "1.2", "2.0", "1.1", "1.9", 2),
        candle(Timeframe::M1, T0 + 300, "1.9", "1.9", "1.9", "1.9", 1),
    ];
    let m5 = resample(&m1, Timeframe::M5).unwrap();
    assert_eq!(
        m5,
        vec![
            candle(Timeframe::M5, T0, "1.0", "2.0", "0.9", "1.9", 5),
            candle(Timeframe::M5, T0 + 300, "1.9", "1.9", "1.9", "1.9", 1),
        ]
    );
    assert!(resample(&[m1[1], m1[0]], Timeframe::M5).is_err());
    assert!(resample(&m5, Timeframe::M1).is_err());
    assert_eq!(resample(&[], Timeframe::H1), Ok(vec![]));
}
