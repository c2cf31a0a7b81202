// The sample outputs the docs show, each produced here from recorded answers so
// a page can never show output the code no longer prints. A page marks a sample
// with `<!-- sample: NAME -->` on the line above its code block.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { startFakeKube } from "../lib/fake-kube.mts";
import { fixture } from "../verify/lib/api-server.mts";
import { ROOT } from "./markdown.mts";

function crd(group: string, version: string, kind: string, plural: string) {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}` },
    spec: { group, scope: "Namespaced", names: { kind, plural }, versions: [{ name: version, served: true, storage: true }] },
  };
}

function run(command: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", CI: "1", ...env } });
    let stdout = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.on("error", reject);
    child.on("close", () => resolve(stdout));
  });
}

/** verify --only argocd,hpa on a cluster whose Argo CD is healthy and whose HPA has no metrics yet. */
async function verifyArgocdHpa(): Promise<string> {
  const kube = await startFakeKube();
  try {
    for (const name of ["argocd", "giropops-senhas"]) kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
    kube.put(crd("argoproj.io", "v1alpha1", "Application", "applications"));
    kube.put(crd("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"));
    for (const app of fixture("argocd-applications-healthy.json").items) kube.put(app);
    kube.put(fixture("argocd-server-deployment.json"));
    kube.put(fixture("hpa-list-no-metrics.json").items[0]);
    const stdout = await run(process.execPath, ["scripts/verify.mts", "--only", "argocd,hpa"], {
      KUBECONFIG: kube.kubeconfigPath,
      PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
      HOME: "/home/you", // the local CA path verify prints is under $HOME
    });
    // Step timings are the one thing that differs between runs.
    return stdout.replace(/\(\d+(\.\d+)?s\)/g, "(0.1s)").trimEnd();
  } finally {
    await kube.close();
  }
}

export const SAMPLES: Record<string, () => Promise<string>> = {
  "verify-argocd-hpa": verifyArgocdHpa,
};
