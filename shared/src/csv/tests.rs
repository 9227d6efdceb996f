//! The CSV reader end to end: layouts, headers, chunking, limits, bad lines
//! named by number, and tick files charted exactly as the aggregator builds
//! candles; with properties over generated files.

use proptest::prelude::*;

use super::*;
use crate::{Aggregator, AggregatorConfig, CandleEvent, Price, Tick, Timeframe, TimestampMs};

const T0: i64 = 1_705_314_600; // 2024-01-15T10:30:00Z

fn parse(text: &str) -> Result<CsvFile, CsvError> {
    CsvFile::parse(text.as_bytes(), Asset::new("EURUSD_otc"))
}

fn parse_in_chunks(text: &str, size: usize) -> Result<CsvFile, CsvError> {
    let mut reader = CsvReader::new(Asset::new("EURUSD_otc"));
    for chunk in text.as_bytes().chunks(size.max(1)) {
        reader.feed(chunk)?;
    }
    reader.finish()
}

fn line_error(text: &str) -> (usize, String) {
    match parse(text).unwrap_err() {
        CsvError::Line { line, reason } => (line, reason),
        e => panic!("not a line error: {e}"),
    }
}

fn tick_file(f: CsvFile) -> TickFile {
    match f {
        CsvFile::Ticks(t) => t,
        CsvFile::Candles(_) => panic!("read as candles"),
    }
}

fn candle_file(f: CsvFile) -> CandleFile {
    match f {
        CsvFile::Candles(c) => c,
        CsvFile::Ticks(_) => panic!("read as ticks"),
    }
}

#[test]
fn reads_ticks_with_or_without_a_header_in_any_chunking() {
    let body = format!(
        "EURUSD_otc,1.0823,{a}\r\nEURUSD_otc,1.0825,{b}\n\nEURUSD_otc,1.0821,{c}",
        a = T0 * 1000,
        b = T0 * 1000 + 250,
        c = T0 * 1000 + 61_000
    );
    let plain = tick_file(parse(&body).unwrap());
    assert_eq!(plain.asset(), Asset::new("EURUSD_otc"));
    assert_eq!(plain.len(), 3);
    for text in [
        body.clone(),
        format!("\u{feff}asset,price,timestamp_ms\n{body}\n"),
    ] {
        for size in [1, 2, 7, 64, 4096] {
            assert_eq!(tick_file(parse_in_chunks(&text, size).unwrap()), plain);
        }
    }
    let candles = plain.candles(Timeframe::M1).unwrap();
    assert_eq!(candles.len(), 2);
    assert_eq!(
        (
            candles[0].open().to_string(),
            candles[0].close().to_string()
        ),
        ("1.0823".into(), "1.0825".into())
    );
    assert_eq!(candles[1].volume(), 1);
}

#[test]
fn reads_candles_in_seconds_or_milliseconds_and_merges_them_wider() {
    let text = format!(
        "Timestamp,Open,High,Low,Close,Volume\n{},1.1,1.3,1.0,1.2,5\n{}000,1.2,1.25,1.15,1.22,3\n{},1.22,1.4,1.2,1.4,1\n",
        T0,
        T0 + 60,
        T0 + 300
    );
    let file = candle_file(parse(&text).unwrap());
    assert_eq!((file.timeframe(), file.len()), (Timeframe::M1, 3));
    assert_eq!(file.asset(), Asset::new("EURUSD_otc"));
    let (tf, m1) = file.merged(Timeframe::M1).unwrap();
    assert_eq!((tf, m1.len()), (Timeframe::M1, 3));
    let (tf, m5) = file.merged(Timeframe::M5).unwrap();
    assert_eq!((tf, m5.len()), (Timeframe::M5, 2));
    assert_eq!(m5[0].high().to_string(), "1.3");
    assert_eq!(m5[0].close().to_string(), "1.22");
    assert_eq!(m5[0].volume(), 8);

    // Hourly candles are never shown narrower than they are.
    let hour = 1_705_312_800; // 2024-01-15T10:00:00Z
    let hourly = candle_file(parse(&format!("{hour},1,1,1,1\n{},1,1,1,1", hour + 3600)).unwrap());
    assert_eq!(hourly.timeframe(), Timeframe::H1);
    assert_eq!(hourly.merged(Timeframe::M1).unwrap().0, Timeframe::H1);
}

#[test]
fn merging_in_steps_keeps_buckets_whole() {
    let text: String = (0..500)
        .map(|i| {
            format!(
                "{},1.{i:03},2,1.0,1.{:03},{}\n",
                T0 + 60 * (2 * i + i % 2),
                (i * 7) % 1000,
                1 + i % 4
            )
        })
        .collect();
    let file = candle_file(parse(&text).unwrap());
    for tf in Timeframe::ALL {
        let whole = file.merged(tf).unwrap();
        for budget in [1, 3, 10, 77] {
            let mut merge = CandleMerge::new(&file, tf);
            let mut steps = 0;
            while !merge.step(&file, budget).unwrap() {
                steps += 1;
                assert!(merge.merged() < file.len());
            }
            assert!(steps > 0 || budget >= file.len());
            assert_eq!(
                (merge.timeframe(), merge.finish()),
                whole.clone(),
                "{tf} by {budget}"
            );
        }
        assert_eq!(whole.1, crate::resample(file.candles(), whole.0).unwrap());
    }
}

#[test]
fn a_bad_line_is_named_by_number_and_why() {
    let ok = |i: i64| format!("EURUSD,1.1,{}\n", T0 * 1000 + i);
    let mut text: String = (0..16).map(ok).collect();
    text.push_str(&format!("EURUSD,abc,{}\n", T0 * 1000));
    assert_eq!(
        line_error(&text),
        (
            17,
            "price \"abc\" is not a decimal number: expected a digit".to_owned()
        )
    );
    assert_eq!(
        parse(&text).unwrap_err().to_string(),
        "line 17: price \"abc\" is not a decimal number: expected a digit"
    );
    let (line, why) = line_error(&format!("asset,price,timestamp_ms\n{}EURUSD,1.1", ok(0)));
    assert_eq!(line, 3);
    assert!(why.contains("found 2"), "{why}");
    let (line, why) = line_error(&format!("{T0},1,1,1,1\n{T0},1,1,1,1\n"));
    assert_eq!(line, 2);
    assert!(why.contains("increasing time"), "{why}");
    let (line, why) = line_error("a,b\n");
    assert_eq!(line, 1);
    assert!(why.contains("expected 3 fields"), "{why}");
    let (line, why) = line_error(&format!("{}EURUSD,1.1,\u{0}\u{ff}", ok(0)));
    assert_eq!(line, 2);
    assert!(why.contains("timestamp"), "{why}");
    let mut bad_utf8 = ok(0).into_bytes();
    bad_utf8.extend_from_slice(b"EURUSD,1.1,\xff\n");
    let e = CsvFile::parse(&bad_utf8, Asset::new("X")).unwrap_err();
    assert_eq!(e.to_string(), "line 2: not UTF-8 text");
    assert_eq!(
        parse("asset,price,timestamp_ms\n\n").unwrap_err(),
        CsvError::Empty
    );
    assert_eq!(parse("").unwrap_err(), CsvError::Empty);
}

#[test]
fn limits_bound_lines_rows_and_bytes() {
    let long = format!("EURUSD,1.{},{}", "1".repeat(MAX_LINE_BYTES), T0 * 1000);
    assert_eq!(line_error(&long).0, 1);
    assert!(line_error(&long).1.contains("longer than"));
    // A line without an end grows no further than the limit.
    let mut reader = CsvReader::new(Asset::new("X"));
    reader.feed(&[b'1'; 600]).unwrap();
    assert_eq!(reader.feed(&[b'1'; 600]).unwrap_err().line(), Some(1));

    let mut reader = CsvReader::new(Asset::new("X"));
    reader.feed(&[b'\n'; 1000]).unwrap();
    assert_eq!(reader.bytes_read(), 1000);
    let rest = usize::try_from(MAX_CSV_BYTES).unwrap() - 1000;
    assert_eq!(
        reader.feed(&vec![b'\n'; rest + 1]).unwrap_err(),
        CsvError::TooLarge
    );

    let mut reader = CsvReader::new(Asset::new("X"));
    let line = format!("X,1,{}\n", T0 * 1000);
    let block = line.repeat(100_000);
    for _ in 0..10 {
        reader.feed(block.as_bytes()).unwrap();
    }
    let past = reader.feed(line.as_bytes()).unwrap_err();
    assert_eq!(
        past,
        CsvError::TooManyRows {
            line: MAX_CSV_ROWS + 1
        }
    );
}

/// The aggregator fed the ticks in time order, its candles closed.
fn aggregated(ticks: &[Tick], timeframe: Timeframe) -> Vec<crate::Candle> {
    let mut sorted = ticks.to_vec();
    sorted.sort_by_key(|t| t.timestamp);
    let mut aggregator = Aggregator::new(AggregatorConfig {
        timeframes: vec![timeframe],
        ..AggregatorConfig::default()
    });
    let mut out: Vec<crate::Candle> = Vec::new();
    for e in aggregator.ingest_all(&sorted) {
        if let CandleEvent::Updated(c) | CandleEvent::Closed(c) = e {
            match out.iter_mut().find(|o| o.open_time() == c.open_time()) {
                Some(o) => *o = c,
                None => out.push(c),
            }
        }
    }
    out.sort_by_key(crate::Candle::open_time);
    out.into_iter()
        .map(|c| c.with_state(crate::CandleState::Closed))
        .collect()
}

#[test]
fn ticks_in_any_order_chart_as_the_aggregator_builds_them_repeats_once() {
    let asset = Asset::new("EURUSD_otc");
    let at = |ms: i64, p: &str| Tick::new(asset, Price::new(p), TimestampMs::new(T0 * 1000 + ms));
    let ticks = [
        at(130_000, "1.3"),
        at(0, "1.0"),
        at(59_999, "1.2"),
        at(0, "1.0"),
        at(400_000, "0.9"),
        at(10_000, "1.5"),
    ];
    let text: String = ticks
        .iter()
        .map(|t| format!("{},{},{}\n", t.asset, t.price, t.timestamp.millis()))
        .collect();
    let file = tick_file(parse(&text).unwrap());
    for tf in Timeframe::ALL {
        let mut stepped = TickAggregation::new(tf);
        let mut steps = 0;
        while !stepped.step(&file, 2) {
            steps += 1;
        }
        assert_eq!((steps, stepped.fed()), (2, 6));
        assert_eq!(stepped.repeats(), 1);
        let candles = stepped.finish().unwrap();
        assert_eq!(candles, aggregated(&ticks, tf), "{tf}");
        assert_eq!(candles, file.candles(tf).unwrap());
    }
    let m1 = file.candles(Timeframe::M1).unwrap();
    assert_eq!(m1.len(), 3);
    assert_eq!(
        [m1[0].open(), m1[0].high(), m1[0].close()].map(|p| p.to_string()),
        ["1", "1.5", "1.2"]
    );
    assert_eq!(m1[0].volume(), 3);
}

#[test]
fn candle_files_are_named_after_the_file() {
    assert_eq!(
        asset_from_file_name("EURUSD_otc.csv"),
        Asset::new("EURUSD_otc")
    );
    assert_eq!(
        asset_from_file_name("data/BTCUSD.1m.csv"),
        Asset::new("BTCUSD")
    );
    assert_eq!(
        asset_from_file_name("my prices.csv"),
        Asset::new(UNNAMED_ASSET)
    );
}

fn units() -> impl Strategy<Value = u128> {
    prop_oneof![1u128..=10u128.pow(14), 1u128..=Price::MAX.units()]
}

fn price(units: u128) -> Price {
    Price::from_units(units).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_ticks_round_trip(
        asset in "[A-Za-z0-9_]{1,20}",
        rows in prop::collection::vec(
            (units(), TimestampMs::MIN.millis()..=TimestampMs::MAX.millis()), 1..40),
        header in any::<bool>(),
        chunk in 1usize..64,
    ) {
        let mut text = if header { "asset,price,timestamp_ms\n".to_owned() } else { String::new() };
        for (u, at) in &rows {
            text.push_str(&format!("{asset},{},{at}\n", price(*u)));
        }
        let file = tick_file(parse_in_chunks(&text, chunk).unwrap());
        let mut expected: Vec<(i64, Price)> = rows.iter().map(|(u, at)| (*at, price(*u))).collect();
        expected.sort_by_key(|(at, _)| *at);
        let got: Vec<(i64, Price)> = file.ticks().map(|t| (t.timestamp.millis(), t.price)).collect();
        prop_assert_eq!(file.asset(), Asset::new(&asset));
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn any_candles_round_trip(
        start in 11_000_000i64..60_000_000,
        rows in prop::collection::vec((1i64..100, [units(), units(), units(), units()], 1u64..1_000_000_000), 1..40),
        millis in any::<bool>(),
        volume in any::<bool>(),
    ) {
        let mut minute = start;
        let mut expected = Vec::new();
        let mut text = String::new();
        for (step, mut p, v) in rows {
            minute += step;
            p.sort_unstable();
            let (low, open, close, high) = (price(p[0]), price(p[2]), price(p[1]), price(p[3]));
            let t = minute * 60;
            let stamp = if millis { t * 1000 } else { t };
            let v = if volume { v } else { 1 };
            text.push_str(&format!("{stamp},{open},{high},{low},{close}"));
            if volume {
                text.push_str(&format!(",{v}"));
            }
            text.push('\n');
            expected.push((t, open, high, low, close, v));
        }
        let file = candle_file(parse(&text).unwrap());
        let got: Vec<_> = file.candles().iter()
            .map(|c| (c.open_time(), c.open(), c.high(), c.low(), c.close(), c.volume()))
            .collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn any_line_with_a_garbage_field_is_refused_by_number(
        n in 1usize..30,
        bad in any::<prop::sample::Index>(),
        field in any::<prop::sample::Index>(),
        garbage in prop_oneof![Just(String::new()), "x[a-z!?]{0,5}", "[0-9]{1,3}\\.[0-9]\\.[0-9]", "-[1-9]{1,3}"],
        header in any::<bool>(),
        candles in any::<bool>(),
    ) {
        let bad = bad.index(n);
        let mut text = String::new();
        if header {
            text.push_str(if candles { "timestamp,open,high,low,close,volume\n" } else { "asset,price,timestamp_ms\n" });
        }
        for i in 0..n {
            let t = T0 + 60 * i64::try_from(i).unwrap();
            let mut fields: Vec<String> = if candles {
                vec![t.to_string(), "1.1".into(), "1.2".into(), "1.0".into(), "1.1".into(), "4".into()]
            } else {
                vec!["EURUSD".into(), "1.1".into(), (t * 1000).to_string()]
            };
            if i == bad {
                let j = field.index(fields.len());
                fields[j] = if !candles && j == 0 { format!("/{garbage}") } else { garbage.clone() };
            }
            text.push_str(&fields.join(","));
            text.push('\n');
        }
        let e = parse(&text).unwrap_err();
        prop_assert_eq!(e.line(), Some(bad + 1 + usize::from(header)), "{}", e);
    }
}
