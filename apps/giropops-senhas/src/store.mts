// Password storage in the Redis list `senhas` (the original's key), newest first,
// capped so memory stays bounded. Redis may come and go: the client reconnects
// on its own and callers get StoreUnavailableError meanwhile, never a hang.
// node-redis' base client only: the `redis` package also loads the JSON, search,
// time-series and bloom command sets, which this app never uses.
import { createClient, defineScript } from "@redis/client";
import type { CommandParser } from "@redis/client";
import type { Config } from "./config.mts";

export const LIST_KEY = "senhas";
export const RECENT_COUNT = 10;

export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super("password storage (Redis) is unavailable", { cause });
    this.name = "StoreUnavailableError";
  }
}

export type StoreEvents = {
  onReady?: () => void;
  onDown?: (error: Error) => void;
};

export type Store = {
  add(senha: string): Promise<void>;
  recent(): Promise<string[]>;
  /** Connected, and Redis answered TIME within min(REDIS_COMMAND_TIMEOUT_MS, 1 s). */
  probe(): Promise<boolean>;
  readonly ready: boolean;
  close(): Promise<void>;
};

// LPUSH + LTRIM as one script: atomic, one command, one round trip, so the list is
// never over the cap. Sent as EVALSHA (node-redis falls back to EVAL once per server).
// ARGV[3] is the request's deadline on Redis' own clock (ms): a write Redis gets to
// only after it (Redis was paused, hung, swapped) is refused, because the client has
// already been told 503. TIME before a write is fine with effects replication (Redis >= 5).
const pushCapped = defineScript({
  NUMBER_OF_KEYS: 1,
  SCRIPT: [
    "local t = redis.call('TIME')",
    "if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[3]) then return 0 end",
    "redis.call('LPUSH', KEYS[1], ARGV[1])",
    "redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)",
    "return 1",
  ].join("\n"),
  parseCommand(parser: CommandParser, key: string, senha: string, cap: number, deadlineMs: number) {
    parser.pushKey(key);
    parser.push(senha, String(cap), String(Math.floor(deadlineMs)));
  },
  transformReply: (reply: unknown) => reply,
});

type StoreConfig = Pick<Config, "redisUrl" | "redisPassword" | "redisTlsCa" | "redisCommandTimeoutMs" | "listCap">;

/** Rejects with StoreUnavailableError if work has not settled after ms. */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).then(
    (value) => {
      clearTimeout(timer);
      return value;
    },
    (error: unknown) => {
      clearTimeout(timer);
      throw error instanceof StoreUnavailableError ? error : new StoreUnavailableError(error);
    },
  );
}

export function createStore(config: StoreConfig, events: StoreEvents = {}): Store {
  const tls = config.redisUrl.startsWith("rediss:");
  const client = createClient({
    url: config.redisUrl,
    ...(config.redisPassword ? { password: config.redisPassword } : {}),
    // Fail fast while disconnected (the API answers 503) instead of queueing requests.
    disableOfflineQueue: true,
    // No per-command AbortSignal.timeout (node-redis' default 5 s, which only covers the
    // wait before the write, and cost ~2 % of the CPU of a POST): withDeadline bounds the whole call.
    commandOptions: { timeout: 0 },
    scripts: { pushCapped },
    socket: {
      connectTimeout: 2_000,
      // Keep retrying for ever, backing off to 2 s: a Redis restart must never need an app restart.
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000),
      ...(tls ? { tls: true as const, ...(config.redisTlsCa ? { ca: config.redisTlsCa } : {}) } : {}),
    },
  });

  // Our own deadline: node-redis' command timeout stops at the socket write and never
  // covers a Redis that accepted the command but does not answer.
  const timeoutMs = config.redisCommandTimeoutMs;
  // The script's deadline is a little before ours, so a write Redis accepts has time
  // to be acknowledged before the request gives up on it.
  const marginMs = Math.min(100, Math.floor(timeoutMs / 4));
  // Redis clock minus ours, measured with TIME (error at most half a round trip).
  let clockOffsetMs = 0;
  const probeMs = Math.min(timeoutMs, 1_000);
  const measureClock = async (): Promise<void> => {
    const sent = Date.now();
    const [seconds, micros] = await withDeadline(client.time(), probeMs);
    const received = Date.now();
    clockOffsetMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (sent + received) / 2;
  };

  // Report transitions once, not every failed reconnect attempt.
  let down = false;
  client.on("ready", () => {
    down = false;
    measureClock().catch(() => {});
    events.onReady?.();
  });
  client.on("error", (error: Error) => {
    if (down) return;
    down = true;
    events.onDown?.(error);
  });
  // connect() only settles once Redis answers; until then the client keeps retrying.
  client.connect().catch(() => {});

  return {
    async add(senha) {
      const write = client.pushCapped(LIST_KEY, senha, config.listCap, Date.now() + timeoutMs - marginMs + clockOffsetMs) as Promise<unknown>;
      let late = false;
      // Belt and braces: if Redis still stored it after we answered 503 (clock skew
      // larger than the margin), take it back out.
      write.then(
        (stored) => {
          if (late && stored === 1) client.lRem(LIST_KEY, 1, senha).catch(() => {});
        },
        () => {},
      );
      let stored: unknown;
      try {
        stored = await withDeadline(write, timeoutMs);
      } catch (error) {
        late = true;
        throw error;
      }
      if (stored !== 1) throw new StoreUnavailableError(new Error("Redis got the write after its deadline and refused it"));
    },
    recent: () => withDeadline(client.lRange(LIST_KEY, 0, RECENT_COUNT - 1), timeoutMs),
    async probe() {
      if (!client.isReady) return false;
      try {
        await measureClock();
        return true;
      } catch {
        return false;
      }
    },
    get ready() {
      return client.isReady;
    },
    async close() {
      if (!client.isOpen) return;
      // QUIT lets replies already in flight arrive; fall back to a hard close if Redis is gone.
      try {
        await client.close();
      } catch {
        client.destroy();
      }
    },
  };
}
