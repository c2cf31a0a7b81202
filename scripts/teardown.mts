// npx zx scripts/teardown.mts --cluster kind|minikube|oke [--name giropops] [--yes]
// Deletes the kind cluster or minikube profile; on OKE, after an explicit
// confirmation, deletes the load balancers and volumes the cluster made
// (OpenTofu does not know them), then runs the OpenTofu destroy.
// Deleting what is gone is fine.
import { COMMON_FLAGS, EXIT, configFromFlags, defaultDeps, runCommand, type CommandSpec, type Deps } from "./lib/cli.mts";
import { clusterProvider } from "./lib/clusters/index.mts";
import { scriptArguments, exit } from "./lib/runtime.mts";

export const TEARDOWN: CommandSpec = {
  name: "teardown",
  summary: "Delete the cluster bootstrap created (OKE: OpenTofu destroy, after confirmation).",
  flags: {
    cluster: COMMON_FLAGS.cluster,
    name: COMMON_FLAGS.name,
    yes: { type: "boolean", description: "destroy without asking (OKE asks otherwise)" },
    "dry-run": { type: "boolean", description: "print the commands it would run; delete nothing" },
    help: COMMON_FLAGS.help,
  },
  examples: ["npx zx scripts/teardown.mts --cluster kind", "npx zx scripts/teardown.mts --cluster oke --yes"],
};

export async function teardown(argv: string[], deps: Deps): Promise<number> {
  return runCommand(TEARDOWN, argv, deps, async ({ ui, runner, parsed }) => {
    // PLATFORM_DOMAIN is not required: nothing here uses it.
    const config = configFromFlags(TEARDOWN, parsed, deps, ["domain"]);
    const provider = clusterProvider(config.cluster);
    const context = { config, runner, ui, root: deps.root, yes: parsed.values.yes === true };
    await ui.step(`Delete ${provider.label(config)}`, async (step) => step.done(await provider.remove(context)));
    if (config.githubToken) ui.info("The read-only deploy key stays on GitHub (Settings → Deploy keys) in case another cluster uses it.");
    return EXIT.ok;
  });
}

const args = scriptArguments(import.meta.url);
if (args) exit(await teardown(args, defaultDeps()));
