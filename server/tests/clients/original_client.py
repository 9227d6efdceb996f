"""The original design's Python client against tickstream's /socket.io/.

Run by server/tests/socketio.rs with Debian's python3-socketio (5.x): it
connects as the original clients did, drives every event, and prints one
JSON report of what came back. Prices are read as Decimal so the report
shows the exact digits on the wire.

    python3 original_client.py BASE INGEST_TOKEN ADMIN_TOKEN ASSET MINUTE_MS
"""

import decimal
import json
import sys
import threading
import time
import urllib.request

import socketio


class ExactJson:
    """json for python-socketio that keeps every digit of a number (read as
    Decimal, written as decimal text, which the server takes for prices)."""

    @staticmethod
    def dumps(*args, **kwargs):
        return json.dumps(*args, default=str, **kwargs)

    @staticmethod
    def loads(text, *args, **kwargs):
        return json.loads(text, parse_float=decimal.Decimal)


def plain(value):
    """The report's JSON form: Decimals as their exact text."""
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class Recorder:
    """Every event a client received, in order, and a way to wait for one."""

    EVENTS = [
        "redis_subscribed", "redis_unsubscribed", "redis_update", "redis_status",
        "cached_historical_data", "historical_data_cached",
        "historical_data_cache_cleared", "stream_started", "stream_stopped",
        "stream_error", "error", "candle_snapshot",
    ]

    def __init__(self, client):
        self.seen = []
        self.cond = threading.Condition()
        for name in self.EVENTS:
            client.on(name, self.handler(name))

    def handler(self, name):
        def record(data=None):
            with self.cond:
                self.seen.append((name, data))
                self.cond.notify_all()
        return record

    def wait(self, name, pick=lambda d: True, timeout=10.0):
        """The first `name` event (after those already taken) that `pick` likes."""
        end = time.time() + timeout
        with self.cond:
            while True:
                for event, data in self.seen:
                    if event == name and pick(data):
                        return data
                left = end - time.time()
                if left <= 0:
                    raise TimeoutError(f"no {name} within {timeout} s: saw {plain(self.seen)}")
                self.cond.wait(left)

    def count(self, name):
        with self.cond:
            return sum(1 for e, _ in self.seen if e == name)


def post_ticks(base, token, ticks):
    request = urllib.request.Request(
        base + "/api/ticks",
        data=json.dumps(ticks).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def main():
    base, ingest_token, admin_token, asset, minute_ms = sys.argv[1:6]
    minute_ms = int(minute_ms)
    report = {}

    client = socketio.Client(json=ExactJson, reconnection=False)
    seen = Recorder(client)
    client.connect(base, wait_timeout=10)
    report["transport"] = client.transport()

    client.emit("subscribe_redis_updates", {"asset": asset})
    seen.wait("redis_subscribed")
    post_ticks(base, ingest_token, [
        {"asset": asset, "price": "1.08231", "timestamp": minute_ms + 1000},
        {"asset": asset, "price": "1.08245", "timestamp": minute_ms + 2000},
        {"asset": asset, "price": "1.08219", "timestamp": minute_ms + 3000},
    ])
    last = seen.wait("redis_update", lambda d: d["data"]["close"] == decimal.Decimal("1.08219"))
    report["update"] = plain(last)
    report["updates"] = plain([d for e, d in seen.seen if e == "redis_update"])

    client.emit("get_redis_status")
    report["status"] = plain(seen.wait("redis_status"))
    client.emit("get_cached_historical_data", {"asset": asset})
    report["history"] = plain(seen.wait("cached_historical_data"))

    # Bad input: each answered with `error {message}`, nothing else changes.
    client.emit("subscribe_redis_updates", {})
    client.emit("no_such_event", {"asset": asset})
    client.emit("cache_historical_data", {"asset": asset, "data": [last["data"]]})
    deadline = time.time() + 10
    while seen.count("error") < 3 and time.time() < deadline:
        time.sleep(0.05)
    report["errors"] = plain([d for e, d in seen.seen if e == "error"])

    client.emit("start_stream", {"asset": asset})
    deadline = time.time() + 10
    while not (seen.count("stream_started") or seen.count("stream_error")) and time.time() < deadline:
        time.sleep(0.05)
    report["start"] = plain([(e, d) for e, d in seen.seen if e in ("stream_started", "stream_error")])
    client.emit("stop_stream")
    report["stop"] = plain(seen.wait("stream_stopped"))
    client.emit("unsubscribe_redis_updates", {"asset": asset})
    report["unsubscribed"] = plain(seen.wait("redis_unsubscribed"))
    client.disconnect()

    # A wrong admin token is refused at connect, with the reason.
    wrong = socketio.Client(reconnection=False)
    refusals = []
    wrong.on("connect_error", refusals.append)
    try:
        wrong.connect(base, auth={"token": "not-the-admin-token"}, wait_timeout=10)
        report["wrong_token"] = "connected"
        wrong.disconnect()
    except socketio.exceptions.ConnectionError:
        report["wrong_token"] = refusals

    # The admin token in `auth` makes the session privileged.
    admin = socketio.Client(json=ExactJson, reconnection=False)
    admin_seen = Recorder(admin)
    admin.connect(base, auth={"token": admin_token}, transports=["websocket"], wait_timeout=10)
    report["admin_transport"] = admin.transport()
    hour_ago = minute_ms // 1000 - 3600
    candle = {"asset": asset, "timeframe": "1M", "timestamp": hour_ago, "open": 1.1,
              "high": decimal.Decimal("1.1000000001"), "low": 1.05, "close": 1.07, "volume": 2}
    admin.emit("cache_historical_data", {"asset": asset, "data": [candle]})
    report["cached"] = plain(admin_seen.wait("historical_data_cached"))
    admin.disconnect()

    print(json.dumps(report))


if __name__ == "__main__":
    main()
