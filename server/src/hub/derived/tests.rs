//! A `90M` series derived from `30M` candles: states, revisions, seeding.

use shared::{Asset, Candle, CandleState, Price, Sessions, Timeframe};

use super::Derived;

/// 2024-01-15T09:00:00Z, a `90M` bucket start (the day holds 16 of them).
const T0: i64 = 1_705_309_200;

fn m30(t: i64, o: &str, h: &str, l: &str, c: &str, v: u64, state: CandleState) -> Candle {
    let p = Price::new;
    Candle::new_checked(
        Asset::new("A"),
        Timeframe::M30,
        t,
        p(o),
        p(h),
        p(l),
        p(c),
        v,
        state,
    )
    .unwrap()
}

fn x() -> Timeframe {
    "90M".parse().unwrap()
}

#[test]
fn derives_forming_then_closed_from_base_parts() {
    let (mut d, seeded) = Derived::seeded(x(), &[], None, &Sessions::utc());
    assert!(seeded.is_empty());
    let first = d.apply(m30(T0, "1", "2", "1", "2", 2, CandleState::Forming));
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].state(), CandleState::Forming);
    assert_eq!((first[0].open_time(), first[0].timeframe()), (T0, x()));
    // The first part closes: the 90M bucket still forms.
    let closed = d.apply(m30(T0, "1", "2", "1", "2", 2, CandleState::Closed));
    assert_eq!(closed[0].state(), CandleState::Forming);
    d.apply(m30(T0 + 1800, "2", "5", "2", "3", 4, CandleState::Forming));
    d.apply(m30(T0 + 1800, "2", "5", "2", "3", 4, CandleState::Closed));
    let third = d.apply(m30(T0 + 3600, "3", "3", "0.5", "1", 1, CandleState::Closed));
    // The part ending with the bucket closed: so does the bucket.
    assert_eq!(third.len(), 1);
    let c = third[0];
    assert_eq!(c.state(), CandleState::Closed);
    assert_eq!(
        (c.open(), c.high(), c.low(), c.close(), c.volume()),
        (
            Price::new("1"),
            Price::new("5"),
            Price::new("0.5"),
            Price::new("1"),
            7
        )
    );
}

#[test]
fn a_new_bucket_closes_one_whose_last_part_had_no_ticks() {
    let (mut d, _) = Derived::seeded(x(), &[], None, &Sessions::utc());
    d.apply(m30(T0, "1", "1", "1", "1", 1, CandleState::Closed));
    let next = d.apply(m30(T0 + 5400, "2", "2", "2", "2", 1, CandleState::Forming));
    assert_eq!(next.len(), 2);
    assert_eq!(
        (next[0].open_time(), next[0].state()),
        (T0, CandleState::Closed)
    );
    assert_eq!(
        (next[1].open_time(), next[1].state()),
        (T0 + 5400, CandleState::Forming)
    );
}

#[test]
fn a_revised_part_revises_the_derived_candle() {
    let (mut d, _) = Derived::seeded(x(), &[], None, &Sessions::utc());
    d.apply(m30(T0 + 3600, "1", "1", "1", "1", 1, CandleState::Closed));
    d.apply(m30(T0 + 5400, "2", "2", "2", "2", 1, CandleState::Forming));
    let revised = d.apply(m30(T0 + 3600, "1", "9", "1", "1", 2, CandleState::Revised));
    assert_eq!(revised.len(), 1);
    assert_eq!(revised[0].state(), CandleState::Revised);
    assert_eq!(
        (revised[0].high(), revised[0].volume()),
        (Price::new("9"), 2)
    );
}

#[test]
fn seeding_leaves_out_a_bucket_not_held_whole() {
    let base = [
        m30(T0 + 1800, "1", "1", "1", "1", 1, CandleState::Closed),
        m30(T0 + 3600, "1", "1", "1", "1", 1, CandleState::Closed),
        m30(T0 + 5400, "2", "3", "2", "3", 2, CandleState::Forming),
    ];
    let (mut d, seeded) = Derived::seeded(x(), &base, None, &Sessions::utc());
    assert_eq!(seeded.len(), 1);
    assert_eq!(
        (seeded[0].open_time(), seeded[0].state()),
        (T0 + 5400, CandleState::Forming)
    );
    // A late part of the bucket not held whole changes nothing.
    assert!(
        d.apply(m30(T0, "5", "5", "5", "5", 1, CandleState::Revised))
            .is_empty()
    );
}
