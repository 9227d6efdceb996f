"""The indicators oracle: Pine v5's ta.sma, ta.ema, ta.rsi, ta.bb and
ta.macd computed with pandas from their published definitions.

Reads closes (decimal text, one a line) from argv[1] and studies
(`sma:20`, `bb:20:2`, ...) from argv[2:]; writes to stdout a JSON object
from each study to its named series, one value a close, null where Pine
gives na.
"""

import json
import sys

import pandas as pd


def ema(s, n):
    # alpha = 2/(n+1), seeded with the first value: ewm without adjustment.
    return s.ewm(alpha=2.0 / (n + 1), adjust=False).mean()


def rma(x, n):
    # Wilder's average (alpha = 1/n) of x[1:], seeded at x[n] with the mean
    # of x[1..=n]; na before.
    seed = x.iloc[1 : n + 1].mean()
    tail = pd.concat([pd.Series([seed]), x.iloc[n + 1 :].reset_index(drop=True)])
    out = tail.ewm(alpha=1.0 / n, adjust=False).mean().to_list()
    return pd.Series([float("nan")] * n + out)


def rsi(s, n):
    change = s.diff()
    up = rma(change.clip(lower=0), n)
    down = rma((-change).clip(lower=0), n)
    value = 100 - 100 / (1 + up / down)
    value = value.where(up != 0, 0.0).where(down != 0, 100.0)
    return value.where(up.notna())


def study(s, text):
    name, *params = text.split(":")
    if name == "sma":
        return {"value": s.rolling(int(params[0])).mean()}
    if name == "ema":
        return {"value": ema(s, int(params[0]))}
    if name == "rsi":
        return {"value": rsi(s, int(params[0]))}
    if name == "bb":
        n, mult = int(params[0]), float(params[1])
        basis = s.rolling(n).mean()
        dev = mult * s.rolling(n).std(ddof=0)
        return {"basis": basis, "upper": basis + dev, "lower": basis - dev}
    if name == "macd":
        fast, slow, signal = (int(p) for p in params)
        macd = ema(s, fast) - ema(s, slow)
        sig = ema(macd, signal)
        return {"macd": macd, "signal": sig, "histogram": macd - sig}
    raise SystemExit(f"unknown study {text}")


def main():
    with open(sys.argv[1]) as f:
        closes = pd.Series([float(line) for line in f if line.strip()])
    out = {}
    for text in sys.argv[2:]:
        out[text] = {
            k: [None if pd.isna(v) else float(v) for v in series]
            for k, series in study(closes, text).items()
        }
    json.dump(out, sys.stdout)


main()
