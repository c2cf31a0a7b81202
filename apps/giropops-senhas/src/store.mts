// Password storage in the Redis list `senhas` (the original's key), newest first,
// capped so memory stays bounded. Redis may come and go: the client reconnects
// on its own and callers get StoreUnavailableError meanwhile, never a hang.
import { createClient, defineScript } from "redis";
import type { CommandParser } from "redis";
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
  readonly ready: boolean;
  close(): Promise<void>;
};

// LPUSH + LTRIM as one script: atomic, one command, one round trip, so the list is
// never over the cap. Sent as EVALSHA (node-redis falls back to EVAL once per server).
const pushCapped = defineScript({
  NUMBER_OF_KEYS: 1,
  SCRIPT: "redis.call('LPUSH', KEYS[1], ARGV[1]); redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1); return 1",
  parseCommand(parser: CommandParser, key: string, senha: string, cap: number) {
    parser.pushKey(key);
    parser.push(senha, String(cap));
  },
  transformReply: (reply: unknown) => reply,
});

type StoreConfig = Pick<Config, "redisUrl" | "redisPassword" | "redisTlsCa" | "redisCommandTimeoutMs" | "listCap">;

export function createStore(config: StoreConfig, events: StoreEvents = {}): Store {
  const tls = config.redisUrl.startsWith("rediss:");
  const client = createClient({
    url: config.redisUrl,
    ...(config.redisPassword ? { password: config.redisPassword } : {}),
    // Fail fast while disconnected (the API answers 503) instead of queueing requests.
    disableOfflineQueue: true,
    scripts: { pushCapped },
    socket: {
      connectTimeout: 2_000,
      // Keep retrying for ever, backing off to 2 s: a Redis restart must never need an app restart.
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000),
      ...(tls ? { tls: true as const, ...(config.redisTlsCa ? { ca: config.redisTlsCa } : {}) } : {}),
    },
  });

  // Report transitions once, not every failed reconnect attempt.
  let down = false;
  client.on("ready", () => {
    down = false;
    events.onReady?.();
  });
  client.on("error", (error: Error) => {
    if (down) return;
    down = true;
    events.onDown?.(error);
  });
  // connect() only settles once Redis answers; until then the client keeps retrying.
  client.connect().catch(() => {});

  // Our own deadline: node-redis' command timeout stops at the socket write and never
  // covers a Redis that accepted the command but does not answer.
  const timeoutMs = config.redisCommandTimeoutMs;
  const guard = async <T,>(work: () => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([work(), deadline]);
    } catch (error) {
      throw new StoreUnavailableError(error);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    add: (senha) =>
      guard(async () => {
        await client.pushCapped(LIST_KEY, senha, config.listCap);
      }),
    recent: () => guard(() => client.lRange(LIST_KEY, 0, RECENT_COUNT - 1)),
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
