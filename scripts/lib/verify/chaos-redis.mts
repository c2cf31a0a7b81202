// Reads the persistence settings a Redis StatefulSet really runs with
// (redis.conf from a mounted ConfigMap, then command-line flags, which win), so
// the durability test starts a local redis-server with exactly those settings.
import { basename } from "node:path";

/** The directives that decide what survives a restart; everything else (port, auth, dir) is the test's. */
export const PERSISTENCE_DIRECTIVES = new Set([
  "appendonly",
  "appendfsync",
  "appendfilename",
  "appenddirname",
  "aof-use-rdb-preamble",
  "aof-load-truncated",
  "aof-timestamp-enabled",
  "no-appendfsync-on-rewrite",
  "auto-aof-rewrite-percentage",
  "auto-aof-rewrite-min-size",
  "save",
  "dbfilename",
  "rdbcompression",
  "rdbchecksum",
  "maxmemory",
  "maxmemory-policy",
]);

export type Directives = Map<string, string[]>;
type K8sObject = Record<string, any>;

/** Splits a redis.conf or a shell line into words, honouring "..." and '...' quoting. */
export function words(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3] ?? "");
  return out;
}

/** Parses redis.conf text: one directive a line, later lines win. */
export function parseRedisConf(text: string, into: Directives = new Map()): Directives {
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const [name, ...values] = words(line);
    if (name) into.set(name.toLowerCase(), values);
  }
  return into;
}

/** Parses redis-server argv: `[config-file] --name value... --name value...`. */
export function parseRedisArgs(args: string[]): { configFile: string | undefined; directives: Directives } {
  const directives: Directives = new Map();
  let configFile: string | undefined;
  let current: string | undefined;
  for (const arg of args) {
    if (arg.startsWith("--")) {
      current = arg.slice(2).toLowerCase();
      directives.set(current, []);
    } else if (current) {
      directives.get(current)!.push(arg);
    } else if (arg.endsWith(".conf")) {
      configFile = arg;
    }
  }
  return { configFile, directives };
}

/** The redis-server argv of a container, unwrapping `sh -c "... redis-server ..."`. */
export function serverArgv(container: K8sObject): string[] {
  const argv: string[] = [...(container.command ?? []), ...(container.args ?? [])].map(String);
  const shell = argv.findIndex((a) => a === "-c");
  const line = shell >= 0 && /(^|\/)(ba)?sh$/.test(argv[0] ?? "") ? words(argv.slice(shell + 1).join(" ")) : argv;
  const at = line.findIndex((a) => basename(a) === "redis-server");
  // The image's entrypoint is redis-server itself when only args are given.
  const rest = at >= 0 ? line.slice(at + 1) : container.command ? [] : line;
  // A shell line may go on after redis-server (`&& ...`): stop there.
  const end = rest.findIndex((a) => a === "&&" || a === ";" || a === "||");
  return end >= 0 ? rest.slice(0, end) : rest;
}

export type RedisPersistence = {
  /** Where each setting came from, for messages. */
  source: string;
  directives: Directives;
};

/**
 * The persistence settings of the Redis StatefulSet among `objects` (a kustomize
 * render): the mounted redis.conf (if the argv names one), overridden by flags.
 */
export function redisPersistence(objects: K8sObject[]): RedisPersistence {
  const sts = objects.find((o) => o.kind === "StatefulSet" && redisContainer(o));
  if (!sts) throw new Error("no StatefulSet with a redis-server container in the render");
  const container = redisContainer(sts)!;
  const { configFile, directives: flags } = parseRedisArgs(serverArgv(container));
  const directives: Directives = new Map();
  const sources: string[] = [];
  if (configFile) {
    const text = mountedFile(objects, sts, container, configFile);
    if (text === undefined) throw new Error(`redis-server reads ${configFile}, but no mounted ConfigMap provides it`);
    parseRedisConf(text, directives);
    sources.push(`${configFile} (ConfigMap)`);
  }
  for (const [name, values] of flags) directives.set(name, values);
  if (flags.size > 0) sources.push("container args");
  const persistence = new Map([...directives].filter(([name]) => PERSISTENCE_DIRECTIVES.has(name)));
  return { source: `StatefulSet ${sts.metadata?.name}: ${sources.join(" + ") || "image defaults"}`, directives: persistence };
}

function redisContainer(sts: K8sObject): K8sObject | undefined {
  const containers: K8sObject[] = sts.spec?.template?.spec?.containers ?? [];
  return (
    containers.find((c) => serverArgv(c).length > 0 && [...(c.command ?? []), ...(c.args ?? [])].join(" ").includes("redis-server")) ??
    containers.find((c) => /(^|\/)redis(:|@|$)/.test(String(c.image ?? "")))
  );
}

/** The text of `path` inside the container, from a ConfigMap volume mounted there. */
function mountedFile(objects: K8sObject[], sts: K8sObject, container: K8sObject, path: string): string | undefined {
  const volumes: K8sObject[] = sts.spec?.template?.spec?.volumes ?? [];
  for (const mount of (container.volumeMounts ?? []) as K8sObject[]) {
    const mountPath = String(mount.mountPath).replace(/\/$/, "");
    let key: string | undefined;
    if (mount.subPath && mountPath === path) key = String(mount.subPath);
    else if (!mount.subPath && path.startsWith(`${mountPath}/`)) key = path.slice(mountPath.length + 1);
    if (!key) continue;
    const volume = volumes.find((v) => v.name === mount.name);
    const name = volume?.configMap?.name;
    if (!name) continue;
    // A volume's items may map a key to another file name.
    const item = (volume.configMap.items ?? []).find((i: K8sObject) => i.path === key);
    const configMap = objects.find((o) => o.kind === "ConfigMap" && o.metadata?.name === name);
    const text = configMap?.data?.[item?.key ?? key];
    if (typeof text === "string") return text;
  }
  return undefined;
}

/** The settings as redis-server flags (`--appendonly yes --save ""`). */
export function toArgs(directives: Directives): string[] {
  return [...directives].flatMap(([name, values]) => [`--${name}`, ...(values.length > 0 ? values : [""])]);
}

export type DurabilityBound = {
  aof: boolean;
  fsync: string;
  /** Acknowledged writes older than this survive a crash of the process or the node (seconds). */
  crashWindowSeconds: number | undefined;
  description: string;
};

/**
 * What the settings promise. With AOF a reply is sent only after the write
 * reached the kernel, so a crash of the process loses nothing; the fsync policy
 * bounds what a crash of the node (page cache gone) can lose. everysec: about
 * one second, two when a slow disk made Redis postpone a write.
 */
export function durabilityBound(directives: Directives): DurabilityBound {
  const aof = (directives.get("appendonly")?.[0] ?? "no").toLowerCase() === "yes";
  const fsync = (directives.get("appendfsync")?.[0] ?? "everysec").toLowerCase();
  if (!aof) return { aof, fsync, crashWindowSeconds: undefined, description: "no AOF: a crash loses everything since the last RDB snapshot" };
  const window = fsync === "always" ? 0 : fsync === "everysec" ? 2 : undefined;
  const description =
    fsync === "always"
      ? "AOF, fsync always: an acknowledged write is on disk"
      : fsync === "everysec"
        ? "AOF, fsync everysec: graceful stop loses nothing; a crash loses at most the writes of the last 1 s (2 s if the disk stalls)"
        : "AOF, fsync left to the OS: a node crash may lose up to ~30 s";
  return { aof, fsync, crashWindowSeconds: window, description };
}
