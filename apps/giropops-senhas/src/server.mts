// Entry point: load config (one line and exit 2 if bad), listen, drain on SIGTERM/SIGINT.
//   node apps/giropops-senhas/src/server.mts
import { buildApp } from "./app.mts";
import { ConfigError, loadConfig } from "./config.mts";
import type { Config } from "./config.mts";

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`giropops-senhas: ${error.message}\n`);
  process.exit(2);
}

const { app, startDraining, flushLogs } = buildApp(config);
await app.listen({ host: config.host, port: config.port });

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Past the deadline, give up on stragglers: better exit 1 than be SIGKILLed mid-write.
  const deadline = setTimeout(() => {
    app.log.error({ timeoutMs: config.shutdownTimeoutMs }, "graceful shutdown timed out");
    flushLogs();
    process.exit(1);
  }, config.shutdownTimeoutMs);
  deadline.unref();
  app.log.info({ signal, delayMs: config.shutdownDelayMs }, "shutting down: readiness now failing");
  startDraining();
  if (config.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
  // close(): stop accepting, finish in-flight requests, then the onClose hook closes Redis.
  await app.close();
  app.log.info("shutdown complete");
  flushLogs();
  process.exit(0);
}

process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
