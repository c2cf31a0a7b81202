// Deps for running a command in-process: captured output, a simulated
// workstation, fake Kubernetes and GitHub servers, no real exit.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { PassThrough } from "node:stream";
import { join } from "node:path";
import { Octokit } from "@octokit/rest";
import type { Deps } from "../../scripts/lib/cli.mts";
import { createKube } from "../../scripts/lib/kube.mts";
import type { FakeKube } from "./fake-kube.mts";
import type { FakeGitHub } from "./fake-github.mts";
import { healthyMachine, machineRunner, type Machine, type RecordingRunner } from "./fake-runner.mts";

export const FIXTURE_ROOT = join(import.meta.dirname, "../cli/fixtures/repo");
export const REPO = "https://github.com/giropops/giropops-platform.git";

export type Harness = {
  deps: Deps;
  runner: RecordingRunner;
  machine: Machine;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  exits: number[];
  /** Sends the Ctrl-C the command registered for. */
  interrupt(): void;
};

const homes: string[] = [];
process.on("exit", () => homes.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A throw-away home directory (bootstrap writes ~/.giropops/<name>-ca.crt there), removed at exit. */
export function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), "giropops-home-"));
  homes.push(dir);
  return dir;
}

export function harness(options: { home?: string; machine?: Machine; kube?: FakeKube; github?: FakeGitHub; env?: Record<string, string>; envFile?: string; overrides?: Partial<Deps>; stdin?: string } = {}): Harness {
  const machine = options.machine ?? healthyMachine();
  const runner = machineRunner(machine);
  let text = "";
  const out = new PassThrough();
  const err = new PassThrough();
  out.on("data", (chunk) => (text += chunk));
  err.on("data", (chunk) => (text += chunk));
  const input = Object.assign(new PassThrough(), { isTTY: options.stdin !== undefined });
  if (options.stdin !== undefined) input.end(options.stdin);
  const exits: number[] = [];
  let interruptHandler: (() => void) | undefined;
  const deps: Deps = {
    streams: { out, err, input },
    env: options.env ?? {},
    envFile: options.envFile ?? join(FIXTURE_ROOT, "no-such.env"),
    root: FIXTURE_ROOT,
    runner,
    kube: (target) => createKube(target.kubeconfigPath || !options.kube ? target : { ...target, kubeconfigPath: options.kube.kubeconfigPath }),
    github: (token) => new Octokit({ auth: token, baseUrl: options.github?.url ?? "http://127.0.0.1:9", log: { debug() {}, info() {}, warn() {}, error() {} } }),
    interactive: false,
    hostPorts: [],
    pollMs: 50,
    degradedGraceMs: 0,
    onInterrupt: (handler) => {
      interruptHandler = handler;
      return () => (interruptHandler = undefined);
    },
    exit: (code) => void exits.push(code),
    home: options.home ?? tempHome(),
    ...options.overrides,
  };
  return { deps, runner, machine, output: () => text, exits, interrupt: () => interruptHandler?.() };
}
