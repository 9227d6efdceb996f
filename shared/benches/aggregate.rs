//! Aggregation throughput: ticks per second through the [`Aggregator`] for one
//! timeframe and for all seven. Run with `cargo bench -p shared`.
#![allow(missing_docs)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use shared::{Aggregator, AggregatorConfig, Asset, Price, Tick, Timeframe, TimestampMs};

const TICKS: usize = 1_000_000;

/// A deterministic FX-like feed: 10 assets, a tick every 10 ms in turn, prices
/// walking by 0.00001 steps around 1.08 (so about 3 days of market time).
fn feed() -> Vec<Tick> {
    let assets: Vec<Asset> = (0..10)
        .map(|i| Asset::new(&format!("PAIR{i}_otc")))
        .collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut units: Vec<i128> = vec![10_800_000_000; assets.len()];
    let start = 1_705_314_600_000;
    (0..TICKS)
        .map(|n| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let a = n % assets.len();
            let step = ((state >> 33) % 21) as i128 - 10;
            units[a] = (units[a] + step * 100_000).max(1);
            Tick::new(
                assets[a],
                Price::from_units(units[a] as u128).expect("positive"),
                TimestampMs::new(start + n as i64 * 10),
            )
        })
        .collect()
}

fn run(c: &mut Criterion, name: &str, timeframes: Vec<Timeframe>, ticks: &[Tick]) {
    let mut group = c.benchmark_group("aggregate");
    group.throughput(Throughput::Elements(ticks.len() as u64));
    group.sample_size(20);
    group.bench_function(name, |b| {
        b.iter_batched(
            || {
                let agg = Aggregator::new(AggregatorConfig {
                    timeframes: timeframes.clone(),
                    grace_ms: 2_000,
                });
                (agg, Vec::with_capacity(64))
            },
            |(mut agg, mut out)| {
                for tick in ticks {
                    agg.ingest(tick, &mut out);
                    out.clear();
                }
                agg
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

fn aggregation(c: &mut Criterion) {
    let ticks = feed();
    run(c, "one_timeframe_1M", vec![Timeframe::M1], &ticks);
    run(c, "all_seven_timeframes", Timeframe::ALL.to_vec(), &ticks);
}

criterion_group!(benches, aggregation);
criterion_main!(benches);
