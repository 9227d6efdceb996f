//! Names, alignment and tiling of [`Timeframe`], against hand-worked instants.

use super::*;

fn tf(s: &str) -> Timeframe {
    s.parse().unwrap()
}

#[test]
fn parses_case_insensitively_and_prints_canonically() {
    for t in Timeframe::ALL {
        assert_eq!(t.to_string().parse::<Timeframe>(), Ok(t));
        assert_eq!(t.to_string().to_lowercase().parse::<Timeframe>(), Ok(t));
    }
    let canonical = [
        ("1h", "1H"),
        ("60M", "1H"),
        ("120m", "2H"),
        ("90M", "90M"),
        ("7m", "7M"),
        ("1440M", "1D"),
        ("24H", "1D"),
        ("1d", "1D"),
        ("1w", "1W"),
        ("1439M", "1439M"),
        ("23H", "23H"),
    ];
    for (given, name) in canonical {
        assert_eq!(tf(given).to_string(), name, "{given}");
    }
    assert_eq!(tf("60M"), Timeframe::H1);
    assert_eq!(tf("1440M"), Timeframe::D1);
    assert_eq!(tf("24h"), Timeframe::D1);
    assert_eq!(tf("1W"), Timeframe::W1);
    assert_eq!(tf("90M").minutes(), 90);
    for bad in [
        "", " 1M", "1M ", "0M", "1441M", "25H", "0H", "2D", "2W", "01M", "+5M", "M", "5", "5S",
        "1.5H", "-1M", "1é",
    ] {
        let err = bad.parse::<Timeframe>().unwrap_err().to_string();
        assert!(
            err.contains("{n}M (1 to 1440 minutes), {n}H (1 to 24 hours), 1D or 1W"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn seven_precomputed_buckets_align_in_utc() {
    // 2024-01-15T10:37:42.500Z
    let ms = 1_705_315_062_500;
    assert_eq!(Timeframe::M1.bucket_of_millis(ms), 1_705_315_020); // 10:37
    assert_eq!(Timeframe::M5.bucket_of_millis(ms), 1_705_314_900); // 10:35
    assert_eq!(Timeframe::M15.bucket_of_millis(ms), 1_705_314_600); // 10:30
    assert_eq!(Timeframe::M30.bucket_of_millis(ms), 1_705_314_600); // 10:30
    assert_eq!(Timeframe::H1.bucket_of_millis(ms), 1_705_312_800); // 10:00
    assert_eq!(Timeframe::H4.bucket_of_millis(ms), 1_705_305_600); // 08:00
    assert_eq!(Timeframe::D1.bucket_of_millis(ms), 1_705_276_800); // 00:00
    // The last millisecond of a minute stays in it.
    assert_eq!(
        Timeframe::M1.bucket_of_millis(1_705_315_079_999),
        1_705_315_020
    );
    assert_eq!(
        Timeframe::M1.bucket_of_millis(1_705_315_080_000),
        1_705_315_080
    );
}

#[test]
fn other_widths_align_to_the_epoch_and_weeks_to_monday() {
    // 2024-01-15T10:37:42Z, a Monday; 28,421,917 minutes after the epoch.
    let s = 1_705_315_062;
    // 28,421,917 = 7 × 4,060,273 + 6: the 7M bucket opened 6 minutes
    // before 10:37, at 10:31.
    assert_eq!(tf("7M").bucket_start(s), 1_705_314_660);
    // 90M divides a day: 10:30.
    assert_eq!(tf("90M").bucket_start(s), 1_705_314_600);
    // 2H: 10:00.
    assert_eq!(tf("2H").bucket_start(s), 1_705_312_800);
    // 5H does not divide a day: the day opens 473,688 hours after the
    // epoch, 3 past a multiple of 5, so buckets open at 02:00, 07:00, 12:00.
    assert_eq!(tf("5H").bucket_start(s), 1_705_302_000);
    // 1W: Monday 2024-01-15T00:00Z holds the whole week to Sunday night.
    assert_eq!(Timeframe::W1.bucket_start(s), 1_705_276_800);
    assert_eq!(
        Timeframe::W1.bucket_start(1_705_276_800 + 7 * 86_400 - 1),
        1_705_276_800
    );
    // Sunday 2024-01-14T23:59:59Z is in the week of Monday 2024-01-08.
    assert_eq!(Timeframe::W1.bucket_start(1_705_276_799), 1_704_672_000);
    // Before the epoch too: Thursday 1970-01-01 is in the week of Monday
    // 1969-12-29.
    assert_eq!(Timeframe::W1.bucket_start(0), -3 * 86_400);
}

#[test]
fn the_base_is_the_widest_precomputed_timeframe_that_tiles() {
    let cases = [
        ("1M", "1M"),
        ("7M", "1M"),
        ("10M", "5M"),
        ("45M", "15M"),
        ("90M", "30M"),
        ("2H", "1H"),
        ("8H", "4H"),
        ("12H", "4H"),
        ("5H", "1H"),
        ("1439M", "1M"),
        ("1D", "1D"),
        ("1W", "1D"),
    ];
    for (wide, base) in cases {
        assert_eq!(tf(wide).base(), tf(base), "{wide}");
        assert!(tf(base).divides(tf(wide)), "{base} into {wide}");
    }
    for t in Timeframe::ALL {
        assert!(t.is_precomputed() && t.base() == t);
    }
    assert!(!Timeframe::W1.is_precomputed() && !tf("90M").is_precomputed());
}

#[test]
fn divides_needs_width_and_alignment() {
    for (i, small) in Timeframe::ALL.into_iter().enumerate() {
        for wide in &Timeframe::ALL[i..] {
            assert!(small.divides(*wide), "{small} into {wide}");
        }
        assert!(small.divides(Timeframe::W1), "{small} into 1W");
    }
    assert!(!Timeframe::H1.divides(Timeframe::M30));
    // 10,080 is 1,440 × 7 but weeks open on Monday, 5,760 minutes after
    // the epoch, which is no multiple of 7.
    assert!(!tf("7M").divides(Timeframe::W1));
    assert!(!tf("7M").divides(Timeframe::D1));
}

#[test]
fn serde_uses_the_wire_names() {
    assert_eq!(serde_json::to_string(&Timeframe::M15).unwrap(), "\"15M\"");
    assert_eq!(serde_json::to_string(&tf("180m")).unwrap(), "\"3H\"");
    assert_eq!(
        serde_json::from_str::<Timeframe>("\"4h\"").unwrap(),
        Timeframe::H4
    );
    assert_eq!(
        serde_json::from_str::<Timeframe>("\"7M\"").unwrap(),
        tf("7M")
    );
    assert!(serde_json::from_str::<Timeframe>("\"0M\"").is_err());
}
