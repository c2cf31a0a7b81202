// Password storage in the Redis list `senhas` (the original's key), newest first,
// capped so memory stays bounded. Redis may come and go: the client reconnects
// on its own and callers get StoreUnavailableError meanwhile, never a hang.
import { createClient } from "redis";
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

type StoreConfig = Pick<Config, "redisUrl" | "redisPassword" | "redisTlsCa" | "redisCommandTimeoutMs" | "listCap">;

export function createStore(config: StoreConfig, events: StoreEvents = {}): Store {
  const tls = config.redisUrl.startsWith("rediss:");
  const client = createClient({
    url: config.redisUrl,
    ...(config.redisPassword ? { password: config.redisPassword } : {}),
    // Fail fast while disconnected (the API answers 503) instead of queueing requests.
    disableOfflineQueue: true,
    commandOptions: { timeout: config.redisCommandTimeoutMs },
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

  const guard = async <T,>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  };

  return {
    // LPUSH + LTRIM in one MULTI: one round trip, and the list is never over the cap.
    add: (senha) =>
      guard(async () => {
        await client.multi().lPush(LIST_KEY, senha).lTrim(LIST_KEY, 0, config.listCap - 1).exec();
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
