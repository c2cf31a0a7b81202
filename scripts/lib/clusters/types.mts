// What each kind of cluster provides. bootstrap, status and teardown only talk
// to this interface; clusters/<provider>.mts hold what differs.
import type { ClusterKind, Config } from "../config.mts";
import type { Kube, KubeTarget } from "../kube.mts";
import type { Runner } from "../runner.mts";
import type { Ui } from "../ui.mts";
import type { ToolName } from "../preflight.mts";

export type ClusterContext = {
  config: Config;
  runner: Runner;
  ui: Ui;
  /** Repository root. */
  root: string;
  /** --yes: no confirmation prompts. */
  yes: boolean;
  /** How often to poll a cloud API while waiting (tests make it short). */
  pollMs?: number;
};

export type ClusterProvider = {
  kind: ClusterKind;
  /** "kind cluster giropops" */
  label(config: Config): string;
  /** Tools preflight checks (at their minimum versions). */
  tools: ToolName[];
  /** Runs on the local Docker engine (daemon, CPUs and memory are checked). */
  docker?: { cpus: number; memoryMiB: number };
  /**
   * How long an Application may stay Degraded before bootstrap gives up
   * (default 3 minutes: pods crash-loop briefly while they start).
   */
  degradedGraceMs?: number;
  /** Applications given until the timeout while Degraded (they wait on the user's DNS). */
  patientApps?: readonly string[];
  /**
   * Runs beside the Applications watch (OKE: prints the load balancer's
   * address and the DNS records as soon as it exists); returns its stop.
   */
  duringSync?(kube: Kube, ui: Ui, config: Config, pollMs?: number): () => void;
  /** Host ports the cluster publishes, checked free before it is created. */
  hostPorts(root: string): number[];
  /** The kubeconfig context (and file) every Kubernetes call uses. */
  target(config: Config, root: string): KubeTarget;
  exists(context: ClusterContext): Promise<boolean>;
  /** Creates the cluster or reuses it; returns what happened, for the step line. */
  ensure(context: ClusterContext): Promise<string>;
  /** Makes a locally built image available to the nodes (local clusters only). */
  loadImage?(context: ClusterContext, image: string): Promise<void>;
  /** Deletes the cluster; returns what happened. */
  remove(context: ClusterContext): Promise<string>;
};
