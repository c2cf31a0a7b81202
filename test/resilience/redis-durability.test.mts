// Redis loses no stored password across a restart: a real redis-server started
// with the persistence settings of the shipped StatefulSet (read from its
// kustomize render), written to through the app's own store, then stopped
// gracefully or killed, and started again on the same data dir.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createClient } from "redis";
import { startRedis, type RedisServer } from "../../apps/giropops-senhas/test/redis-server.mts";
import { createStore, LIST_KEY } from "../../apps/giropops-senhas/src/store.mts";
import { generatePassword } from "../../apps/giropops-senhas/src/generator.mts";
import { kustomize } from "../lib/render.mts";
import { durabilityBound, redisPersistence, toArgs } from "../../scripts/lib/verify/chaos-redis.mts";

const REDIS_DIR = "apps/giropops-senhas/deploy/redis";
const PASSWORD = "durability-test-password";
const COUNT = 200;
// Longer than the everysec fsync interval: these writes are "older than the window".
const PAST_FSYNC_WINDOW_MS = 1_500;

const shipped = redisPersistence(kustomize(REDIS_DIR).map((r) => r.object));
const servers: RedisServer[] = [];

async function server(args: string[]): Promise<RedisServer> {
  const redis = await startRedis({ password: PASSWORD, args });
  servers.push(redis);
  return redis;
}

/** Writes through the app's store (MULTI LPUSH + LTRIM), as the service does. */
async function writePasswords(redis: RedisServer, count: number): Promise<string[]> {
  const store = createStore({ redisUrl: redis.url, redisPassword: PASSWORD, redisTlsCa: undefined, redisCommandTimeoutMs: 2_000, listCap: 100_000 });
  try {
    const deadline = Date.now() + 5_000;
    while (!store.ready) {
      if (Date.now() > deadline) throw new Error("the app's store never connected to redis");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const written: string[] = [];
    for (let i = 0; i < count; i++) {
      const senha = generatePassword({ length: 16, digits: true, punctuation: true });
      await store.add(senha);
      written.push(senha);
    }
    return written;
  } finally {
    await store.close();
  }
}

/** Every stored password, oldest first; retries while Redis is still loading its AOF. */
async function storedPasswords(redis: RedisServer): Promise<string[]> {
  const client = createClient({ url: redis.url, password: PASSWORD });
  client.on("error", () => {});
  await client.connect();
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        return (await client.lRange(LIST_KEY, 0, -1)).reverse();
      } catch (error) {
        if (!/LOADING/.test(String(error)) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } finally {
    await client.close();
  }
}

const missing = (expected: string[], actual: string[]) => {
  const have = new Set(actual);
  return expected.filter((senha) => !have.has(senha));
};

test.after.each(async () => {
  for (const redis of servers.splice(0)) await redis.dispose();
});

test("the shipped Redis persists with AOF and fsyncs every second or on every write", () => {
  const bound = durabilityBound(shipped.directives);
  assert.ok(bound.aof, `${shipped.source}: appendonly is not "yes", so a restart loses data`);
  assert.ok(["everysec", "always"].includes(bound.fsync), `${shipped.source}: appendfsync ${bound.fsync}; the documented bound needs everysec or always`);
});

test("a graceful stop (SIGTERM, as on pod deletion) loses no stored password", async () => {
  const redis = await server(toArgs(shipped.directives));
  const written = await writePasswords(redis, COUNT);
  await redis.stop("SIGTERM");
  await redis.start();
  const after = await storedPasswords(redis);
  assert.equal(missing(written, after), [], "passwords lost across a graceful restart");
  assert.equal(after, written, "the list order changed across the restart");
});

test("a crash (SIGKILL) more than 1 s after the last write loses no stored password", async () => {
  const redis = await server(toArgs(shipped.directives));
  const written = await writePasswords(redis, COUNT);
  await new Promise((resolve) => setTimeout(resolve, PAST_FSYNC_WINDOW_MS));
  await redis.stop("SIGKILL");
  await redis.start();
  const after = await storedPasswords(redis);
  assert.equal(missing(written, after), [], "passwords older than the fsync window lost in a crash");
  assert.equal(after, written);
});

test("control: the same crash without AOF loses the passwords, so the checks above can fail", async () => {
  const withoutAof = new Map(shipped.directives);
  withoutAof.set("appendonly", ["no"]);
  withoutAof.set("save", [""]);
  const redis = await server(toArgs(withoutAof));
  const written = await writePasswords(redis, 20);
  await new Promise((resolve) => setTimeout(resolve, PAST_FSYNC_WINDOW_MS));
  await redis.stop("SIGKILL");
  await redis.start();
  assert.equal(missing(written, await storedPasswords(redis)).length, written.length);
});

test.run();
