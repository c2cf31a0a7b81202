// Every Pod-bearing object this repo deploys, with the namespace it lands in.
// Interim: kustomize every apps/*/deploy/* folder; to be replaced by
// renderAllWorkloads() from test/lib/render.mts once it exists.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { kustomize, POD_KINDS, repoRoot } from "./admission.mts";

export type Workload = { source: string; object: Record<string, any>; namespace: string };

export function repoWorkloads(): Workload[] {
  const dirs: string[] = [];
  for (const app of readdirSync(join(repoRoot, "apps"))) {
    const deploy = join("apps", app, "deploy");
    if (!existsSync(join(repoRoot, deploy))) continue;
    for (const part of readdirSync(join(repoRoot, deploy)))
      if (existsSync(join(repoRoot, deploy, part, "kustomization.yaml"))) dirs.push(join(deploy, part));
  }
  return dirs.flatMap((dir) =>
    kustomize(dir)
      .filter((object) => POD_KINDS.includes(object.kind))
      .map((object) => {
        const namespace = object.metadata?.namespace;
        if (!namespace) throw new Error(`${dir}: ${object.kind}/${object.metadata?.name} has no namespace`);
        return { source: dir, object, namespace };
      }),
  );
}
