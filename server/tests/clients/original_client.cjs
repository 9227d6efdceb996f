// The original React page's Socket.IO client (socket.io-client 4, from npm)
// against tickstream's /socket.io/, under Node. Run by server/tests/socketio.rs:
//
//   node original_client.cjs BASE INGEST_TOKEN ASSET MINUTE_MS SCENARIO
//
// SCENARIO `live`: subscribe, ingest, read updates and status, bad input;
// `derived`: subscribe to 90M, ingest, read the 90M update (rolled up live
// from 30M candles); `foreign-origin`: connect from another page's origin; `redis-away`: ask for
// the status; `flood`: far past the rate limit. Prints one JSON report.
"use strict";

const { io } = require("socket.io-client");

const [base, ingestToken, asset, minuteArg, scenario] = process.argv.slice(2);
const minute = Number(minuteArg);

function waitFor(socket, event, pick = () => true, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    const on = (data) => {
      if (pick(data)) {
        clearTimeout(timer);
        socket.off(event, on);
        resolve(data);
      }
    };
    socket.on(event, on);
  });
}

function connected(socket) {
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
}

async function live(report) {
  const socket = io(base, { reconnection: false, timeout: 10000 });
  const updates = [];
  socket.on("redis_update", (u) => updates.push(u));
  await connected(socket);
  socket.emit("subscribe_redis_updates", { asset });
  await waitFor(socket, "redis_subscribed");
  const response = await fetch(`${base}/api/ticks`, {
    method: "POST",
    headers: { authorization: `Bearer ${ingestToken}`, "content-type": "application/json" },
    body: JSON.stringify([
      { asset, price: "1.25", timestamp: minute + 1000 },
      { asset, price: "1.2575", timestamp: minute + 2000 },
    ]),
  });
  report.ingest = response.status;
  // The update may have come while the ingest call was answered.
  const final = (u) => u.data.close === 1.2575;
  const last = updates.find(final) ?? (await waitFor(socket, "redis_update", final));
  report.update = last;
  report.transport = socket.io.engine.transport.name;
  report.timeframes = [...new Set(updates.map((u) => u.data.timeframe))];
  socket.emit("get_redis_status");
  report.status = await waitFor(socket, "redis_status");
  socket.emit("get_cached_historical_data", { asset, timeframe: "1M" });
  report.history = await waitFor(socket, "cached_historical_data");
  socket.emit("subscribe_redis_updates", { asset: "not an asset!" });
  report.error = await waitFor(socket, "error");
  socket.disconnect();
}

async function derived(report) {
  const socket = io(base, { reconnection: false, timeout: 10000 });
  const updates = [];
  socket.on("redis_update", (u) => updates.push(u));
  await connected(socket);
  socket.emit("subscribe_redis_updates", { asset, timeframe: "90m" });
  await waitFor(socket, "redis_subscribed");
  const response = await fetch(`${base}/api/ticks`, {
    method: "POST",
    headers: { authorization: `Bearer ${ingestToken}`, "content-type": "application/json" },
    body: JSON.stringify([
      { asset, price: "1.25", timestamp: minute + 1000 },
      { asset, price: "1.2575", timestamp: minute + 2000 },
    ]),
  });
  report.ingest = response.status;
  const final = (u) => u.data.close === 1.2575;
  report.update = updates.find(final) ?? (await waitFor(socket, "redis_update", final));
  report.timeframes = [...new Set(updates.map((u) => u.data.timeframe))];
  socket.close();
}

async function foreignOrigin(report) {
  const socket = io(base, {
    reconnection: false,
    transports: ["websocket"],
    extraHeaders: { origin: "http://evil.example" },
  });
  try {
    await connected(socket);
    report.connected = true;
  } catch (e) {
    report.refused = e.message;
  }
  socket.disconnect();
}

async function redisAway(report) {
  const socket = io(base, { reconnection: false });
  await connected(socket);
  socket.emit("get_redis_status");
  report.status = await waitFor(socket, "redis_status");
  socket.disconnect();
}

// Far more events than the rate limit lets through: refused with `error`,
// then the flood rule disconnects the client.
async function flood(report) {
  const socket = io(base, { reconnection: false, transports: ["websocket"] });
  await connected(socket);
  let refused = 0;
  socket.on("error", () => refused++);
  const gone = new Promise((resolve) => socket.on("disconnect", resolve));
  for (let i = 0; i < 3000 && socket.connected; i++) {
    socket.emit("get_redis_status");
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  report.reason = await Promise.race([
    gone,
    new Promise((r) => setTimeout(() => r("still connected"), 15000)),
  ]);
  report.refused = refused;
}

const scenarios = { live, derived, "foreign-origin": foreignOrigin, "redis-away": redisAway, flood };

(async () => {
  const report = {};
  await scenarios[scenario](report);
  process.stdout.write(JSON.stringify(report) + "\n");
  process.exit(0);
})().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
