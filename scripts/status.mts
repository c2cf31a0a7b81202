// npx zx scripts/status.mts [--cluster kind] [--name giropops]
// Every Argo CD Application (sync, health, revision), the platform's URLs, how
// to read each login and where alerts go (names only). Reads only.
import { COMMON_FLAGS, EXIT, configFromFlags, defaultDeps, runCommand, type CommandSpec, type Deps } from "./lib/cli.mts";
import { clusterProvider } from "./lib/clusters/index.mts";
import { scriptArguments, exit } from "./lib/runtime.mts";
import { listApplications, printSummary } from "./lib/summary.mts";
import { alertsSummary, destinationsInCluster } from "./lib/alerts.mts";

export const STATUS: CommandSpec = {
  name: "status",
  summary: "Show every Argo CD Application, the platform's URLs and how to read each login.",
  flags: { cluster: COMMON_FLAGS.cluster, name: COMMON_FLAGS.name, help: COMMON_FLAGS.help },
  examples: ["npx zx scripts/status.mts", "npx zx scripts/status.mts --cluster minikube --name demo"],
};

export async function status(argv: string[], deps: Deps): Promise<number> {
  return runCommand(STATUS, argv, deps, async ({ ui, parsed }) => {
    const config = configFromFlags(STATUS, parsed, deps);
    const target = clusterProvider(config.cluster).target(config, deps.root);
    const kube = deps.kube(target);
    const apps = await listApplications(kube);
    const destinations = await destinationsInCluster(kube);
    const alerts = destinations ? alertsSummary(destinations) : "alerts go nowhere: the Secret monitoring/alert-destinations is missing (run bootstrap)";
    printSummary(ui, config, target, apps, { home: deps.home, alerts });
    return EXIT.ok;
  });
}

const args = scriptArguments(import.meta.url);
if (args) exit(await status(args, defaultDeps()));
