// The reader behind the durability test must find the settings wherever a
// manifest puts them: flags, a mounted redis.conf, or a `sh -c` line.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { durabilityBound, parseRedisConf, redisPersistence, toArgs, words } from "../../scripts/lib/verify/chaos-redis.mts";

const statefulSet = (container: Record<string, unknown>, volumes: unknown[] = []) => ({
  apiVersion: "apps/v1",
  kind: "StatefulSet",
  metadata: { name: "redis" },
  spec: { template: { spec: { containers: [{ name: "redis", image: "redis:8.10.1", ...container }], volumes } } },
});

test("reads flags given as args to the image's redis-server entrypoint", () => {
  const found = redisPersistence([statefulSet({ args: ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--port", "6379"] })]);
  assert.equal(Object.fromEntries(found.directives), { appendonly: ["yes"], appendfsync: ["everysec"], save: [""] });
  assert.equal(toArgs(found.directives), ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]);
});

test("reads a redis.conf mounted from a ConfigMap, with flags overriding it", () => {
  const configMap = {
    kind: "ConfigMap",
    metadata: { name: "redis-config" },
    data: { "redis.conf": '# persistence\nappendonly yes\nappendfsync always\nsave ""\nport 6379\n' },
  };
  const sts = statefulSet(
    { command: ["redis-server"], args: ["/etc/redis/redis.conf", "--appendfsync", "everysec"], volumeMounts: [{ name: "config", mountPath: "/etc/redis" }] },
    [{ name: "config", configMap: { name: "redis-config" } }],
  );
  const found = redisPersistence([configMap, sts]);
  assert.equal(Object.fromEntries(found.directives), { appendonly: ["yes"], appendfsync: ["everysec"], save: [""] });
  assert.match(found.source, /redis\.conf \(ConfigMap\) \+ container args/);
});

test("reads a subPath mount and a shell command line", () => {
  const configMap = { kind: "ConfigMap", metadata: { name: "cfg" }, data: { conf: "appendonly yes\n" } };
  const sts = statefulSet(
    {
      command: ["sh", "-c"],
      args: ['exec redis-server /conf/redis.conf --requirepass "$REDIS_PASSWORD" --appendfsync everysec'],
      volumeMounts: [{ name: "c", mountPath: "/conf/redis.conf", subPath: "conf" }],
    },
    [{ name: "c", configMap: { name: "cfg" } }],
  );
  assert.equal(Object.fromEntries(redisPersistence([configMap, sts]).directives), { appendonly: ["yes"], appendfsync: ["everysec"] });
});

test("says so when the named config file is not mounted", () => {
  assert.throws(() => redisPersistence([statefulSet({ args: ["/etc/redis/redis.conf"] })]), /no mounted ConfigMap provides it/);
  assert.throws(() => redisPersistence([{ kind: "Deployment" }]), /no StatefulSet/);
});

test("the bound follows the fsync policy", () => {
  assert.equal(durabilityBound(parseRedisConf("appendonly yes\nappendfsync everysec")).crashWindowSeconds, 2);
  assert.equal(durabilityBound(parseRedisConf("appendonly yes\nappendfsync always")).crashWindowSeconds, 0);
  assert.equal(durabilityBound(parseRedisConf("appendonly no")).aof, false);
  assert.equal(durabilityBound(parseRedisConf("appendonly yes")).fsync, "everysec", "Redis' default policy");
});

test("words honours quotes", () => {
  assert.equal(words(`save "" --x 'a b' c`), ["save", "", "--x", "a b", "c"]);
});

test.run();
