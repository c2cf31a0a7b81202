// The drain the app and its Deployment promise, measured for real on this
// machine: app processes deleted one after another (endpoints out, preStop,
// SIGTERM) under Locust load lose no request. Short (20 s, 2 deletions); the
// 60 s version is `node test/resilience/local-chaos.mts`.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runLocalChaos } from "./local-chaos.mts";

test("deleting app pods one by one under load keeps the 99.9% objective", async () => {
  const { report, kills, lines } = await runLocalChaos(20, 5);
  assert.ok(kills >= 2, `only ${kills} deletions happened`);
  assert.ok(report.requests > 50, `too little traffic to judge: ${report.requests} requests`);
  assert.ok(report.ok, lines.join("\n"));
});

test.run();
