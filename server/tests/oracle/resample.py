"""The timeframes oracle: OHLC candles of ticks computed with pandas.

Reads ticks (`millis,price` one a line, in time order) from argv[1] and
timeframes from argv[2:]: `{n}min` or `{n}h` (buckets from the Unix epoch,
pandas' origin='epoch'), `1W` (seven days from Monday 1970-01-05), or
`1D@HH:MM@Zone` / `1W@HH:MM@Zone` (sessions opening at that wall-clock
time in that zone, labelled by their open instant; a week opens with the
session of its Monday, the Sunday one when the day starts after noon).
Writes a JSON object from each timeframe to its candles, oldest first:
[open Unix seconds, open, high, low, close, ticks], prices as text.
"""

import json
import sys

import pandas as pd


def ohlc(groups):
    out = []
    for key, g in groups:
        if len(g) == 0:
            continue
        p = g["text"]
        v = g["price"]
        out.append(
            [
                int(key),
                p.iloc[0],
                p.iloc[v.values.argmax()],
                p.iloc[v.values.argmin()],
                p.iloc[-1],
                len(g),
            ]
        )
    return out


def epoch_aligned(df, rule, origin):
    out = []
    r = df.resample(rule, origin=origin, label="left", closed="left")
    for start, g in r:
        if len(g) == 0:
            continue
        out.append((int(start.timestamp()), g))
    return ohlc(out)


def sessions(df, tf, hhmm, zone):
    h, m = (int(x) for x in hhmm.split(":"))
    start = pd.Timedelta(hours=h, minutes=m)
    wall = df.index.tz_convert(zone).tz_localize(None)
    opened_on = (wall - start).floor("D")
    if tf == "1W":
        # The session date: the next day when the session opens after noon.
        label = opened_on + pd.Timedelta(days=1 if h >= 12 else 0)
        monday = label - pd.to_timedelta(label.weekday, unit="D")
        opened_on = monday - pd.Timedelta(days=1 if h >= 12 else 0)
    opens = (opened_on + start).tz_localize(zone).tz_convert("UTC")
    keys = [int(t.timestamp()) for t in opens]
    frame = df.assign(key=keys)
    return ohlc(((k, g) for k, g in frame.groupby("key", sort=True)))


def main():
    rows = [line.strip().split(",") for line in open(sys.argv[1]) if line.strip()]
    idx = pd.to_datetime([int(r[0]) for r in rows], unit="ms", utc=True)
    df = pd.DataFrame(
        {"text": [r[1] for r in rows], "price": [float(r[1]) for r in rows]},
        index=idx,
    )
    out = {}
    for tf in sys.argv[2:]:
        if "@" in tf:
            unit, hhmm, zone = tf.split("@")
            out[tf] = sessions(df, unit, hhmm, zone)
        elif tf == "1W":
            out[tf] = epoch_aligned(df, "7D", pd.Timestamp("1970-01-05", tz="UTC"))
        else:
            out[tf] = epoch_aligned(df, tf, "epoch")
    json.dump(out, sys.stdout)


main()
