// .github/renovate.json against Renovate's schema, and every pin in the tree
// against the managers of that config (see README.md in this folder).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Ajv } from "ajv";
import { REPO_ROOT } from "../lib/render.mts";
import { findPins, where, type Pin } from "../validate/pins.mts";
import { coverage, patternMatches, type RenovateConfig } from "./coverage.mts";

const CONFIG_FILE = ".github/renovate.json";
const config = JSON.parse(readFileSync(join(REPO_ROOT, CONFIG_FILE), "utf8")) as RenovateConfig;
const schema = JSON.parse(readFileSync(join(import.meta.dirname, "renovate-schema.json"), "utf8"));
// The schema is draft-07 with Renovate's own annotation keywords (tsType, markdownDescription...).
const regexFormat = (text: string) => {
  try {
    new RegExp(text);
    return true;
  } catch {
    return false;
  }
};
const validateSchema = new Ajv({ strict: false, allErrors: true, formats: { regex: regexFormat } }).compile(schema);

/** Schema errors, plus keys the schema does not define (it allows unknown keys, Renovate does not). */
function configProblems(candidate: Record<string, any>): string[] {
  const out = validateSchema(candidate) ? [] : (validateSchema.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
  const known = (props: Record<string, unknown> | undefined, object: Record<string, unknown>, at: string) => {
    for (const key of Object.keys(object)) if (key !== "$schema" && !props?.[key]) out.push(`${at}${key}: not a Renovate option`);
  };
  known(schema.properties, candidate, "/");
  // A rule takes its match* fields plus any option (the schema does not say which options a rule may set).
  const ruleProps = { ...schema.properties, ...schema.definitions.packageRules.items.allOf[0].properties };
  (candidate.packageRules ?? []).forEach((r: Record<string, unknown>, i: number) => known(ruleProps, r, `/packageRules/${i}/`));
  const customProps = schema.definitions.customManagers.items.allOf[0].properties;
  (candidate.customManagers ?? []).forEach((c: Record<string, unknown>, i: number) => known(customProps, c, `/customManagers/${i}/`));
  return out;
}

// Pins Renovate leaves alone on purpose, each with who moves it instead.
const UPDATED_ELSEWHERE: Record<string, string> = {
  "ghcr.io/giropops/giropops-senhas": "built from this repository: bootstrap loads :dev into kind/minikube, .github/workflows/image.yml writes the OKE digest",
};

function unmanaged(results: ReturnType<typeof coverage>): string[] {
  return results
    .filter((r) => r.managers.length === 0 || (r.disabled && !UPDATED_ELSEWHERE[r.pin.name]))
    .map((r) => `${where(r.pin)} ${r.pin.shape} ${r.pin.name} ${r.pin.version}${r.disabled ? ` (disabled: ${r.disabled})` : ""}`);
}

test("the vendored schema is Renovate 44.121.2's file, unchanged, and the config names it", () => {
  assert.is(schema["x-renovate-version"], "44.121.2");
  const bytes = readFileSync(join(import.meta.dirname, "renovate-schema.json"));
  assert.is(createHash("sha256").update(bytes).digest("hex"), "989a29d9d8f1c421436b68de9472898283b55db6c5cf98fb243489e40e338a02");
  assert.is((config as Record<string, unknown>).$schema, "https://docs.renovatebot.com/renovate-schema.json");
});

test(`${CONFIG_FILE} validates against Renovate's schema and uses only options it defines`, () => {
  assert.equal(configProblems(config), []);
});

test("the schema check refuses a wrong type and an unknown option (so the test above can fail)", () => {
  assert.ok(configProblems({ ...config, dependencyDashboard: "yes" }).some((p) => p.includes("/dependencyDashboard")));
  const typo = { ...config, packageRules: [...(config.packageRules ?? []), { matchPackageNames: ["x"], automergeTyp: "pr" }] };
  assert.ok(configProblems(typo).some((p) => p.includes("automergeTyp: not a Renovate option")), configProblems(typo).join("\n"));
});

test("the config lives in .github (the top level of the repository stays as it is)", () => {
  for (const file of ["renovate.json", "renovate.json5", ".renovaterc", ".renovaterc.json"]) {
    assert.throws(() => readFileSync(join(REPO_ROOT, file)), /ENOENT/, `${file} at the top level`);
  }
});

const pins = findPins(REPO_ROOT);
const results = coverage(REPO_ROOT, config, pins);

test("the tree's pins are found: charts, images, actions, remote resources, npm, OpenTofu, data versions", () => {
  const count = (shape: Pin["shape"]) => pins.filter((p) => p.shape === shape).length;
  for (const shape of ["argocd-chart", "manifest-image", "kustomize-remote", "dockerfile-image", "action", "action-input", "runner", "npm", "deno", "tofu-provider", "data"] as const)
    assert.ok(count(shape) > 0, `no ${shape} pin found`);
  const names = new Set(pins.map((p) => p.name));
  for (const name of ["kindest/node", "docker.io/library/redis", "docker.io/locustio/locust", "oracle/oci", "NODE_VERSION", "DENO_VERSION", "kubernetesVersion"])
    assert.ok(names.has(name), `${name} not found`);
  assert.ok(pins.some((p) => p.shape === "kustomize-remote" && p.name.includes("argoproj/argo-cd")), "Argo CD's install");
  assert.ok(pins.some((p) => p.shape === "kustomize-remote" && p.name.includes("gateway-api")), "Gateway API CRDs");
  assert.is(pins.filter((p) => p.file === "scripts/lib/preflight.mts").length, 7, "the seven preflight minimums");
});

test("every pin in the tree has an update path: a Renovate manager reads it (or it is moved elsewhere, with the reason)", () => {
  assert.equal(unmanaged(results), [], "pins without an update path: add a manager, a renovate: comment, or move the pin where a manager reads it");
});

test("no pin is read by two managers (two PRs would fight over one line)", () => {
  const twice = results.filter((r) => r.managers.length > 1).map((r) => `${where(r.pin)} ${r.pin.name}: ${r.managers.join(", ")}`);
  assert.equal(twice, []);
});

test("enabledManagers lists exactly the managers some pin needs", () => {
  const used = new Set(results.flatMap((r) => r.managers.map((m) => (m.startsWith("custom.regex") ? "custom.regex" : m))));
  assert.equal([...(config.enabledManagers ?? [])].sort(), [...used].sort());
});

test("Renovate file patterns: /regex/ and globs", () => {
  assert.ok(patternMatches("/^gitops/.+\\.ya?ml$/", "gitops/a/b.yaml"));
  assert.not.ok(patternMatches("/^gitops/.+\\.ya?ml$/", "apps/gitops/b.yaml"));
  assert.ok(patternMatches("**/*.tf", "clusters/oke/tofu/versions.tf"));
  assert.ok(patternMatches("**/*.tf", "main.tf"));
  assert.ok(patternMatches("test/**", "test/cli/fixtures/repo/apps/x/Dockerfile"));
  assert.not.ok(patternMatches("test/**", "scripts/test.mts"));
});

// What packageRules give an update, applied in order as Renovate does (later
// rules override, addLabels accumulate), for the match* fields this config uses.
type Update = { file: string; packageName: string; manager: string; depType?: string; datasource?: string; updateType: "major" | "minor" | "patch" | "digest" };
function settings(update: Update): Record<string, any> {
  const out: Record<string, any> = { labels: [] };
  for (const rule of (config.packageRules ?? []) as Record<string, any>[]) {
    const ok =
      (!rule.matchUpdateTypes || rule.matchUpdateTypes.includes(update.updateType)) &&
      (!rule.matchFileNames || rule.matchFileNames.some((p: string) => patternMatches(p, update.file))) &&
      (!rule.matchPackageNames || rule.matchPackageNames.includes(update.packageName)) &&
      (!rule.matchManagers || rule.matchManagers.includes(update.manager)) &&
      (!rule.matchDepTypes || rule.matchDepTypes.includes(update.depType)) &&
      (!rule.matchDatasources || rule.matchDatasources.includes(update.datasource));
    if (!ok) continue;
    for (const [key, value] of Object.entries(rule)) {
      if (key.startsWith("match") || key === "description") continue;
      if (key === "addLabels") out.labels.push(...(value as string[]));
      else out[key] = value;
    }
  }
  return out;
}

const chart = (component: string, updateType: Update["updateType"]): Update => ({ file: `gitops/${component}/application.yaml`, packageName: component, manager: "argocd", updateType });

test("majors get their own PR and are never merged by Renovate, whatever the component", () => {
  assert.is(config.separateMajorMinor ?? true, true);
  for (const pin of pins) {
    const s = settings({ file: pin.file, packageName: pin.name, manager: "any", updateType: "major" });
    assert.is(s.automerge, false, `${where(pin)} ${pin.name}`);
  }
});

test("minor and patch merge themselves only through a PR whose checks all passed (CI and the kind e2e workflow run on every PR)", () => {
  const s = settings(chart("metrics-server", "minor"));
  assert.equal([s.automerge, s.automergeType, s.platformAutomerge, s.ignoreTests ?? false], [true, "pr", false, false]);
  const e2e = readFileSync(join(REPO_ROOT, ".github/workflows/e2e.yml"), "utf8");
  const ci = readFileSync(join(REPO_ROOT, ".github/workflows/ci.yml"), "utf8");
  for (const workflow of [e2e, ci]) assert.match(workflow, /^on:\n(?:.*\n)*?  pull_request:\s*\n/m);
  assert.not.match(e2e, /pull_request:\s*\n\s+paths/, "e2e runs for every PR, not only some paths");
});

test("what the kind e2e run does not exercise (OKE, minikube) and preflight minimums never merge themselves", () => {
  assert.is(settings({ file: "clusters/oke/tofu/versions.tf", packageName: "oracle/oci", manager: "terraform", updateType: "minor" }).automerge, false);
  assert.is(settings({ file: "clusters/minikube/profile.yaml", packageName: "kubernetes/kubernetes", manager: "custom.regex", updateType: "minor" }).automerge, false);
  const oke = settings({ file: "scripts/lib/config.mts", packageName: "kubernetes/kubernetes", manager: "custom.regex", updateType: "minor" });
  assert.equal([oke.automerge, oke.dependencyDashboardApproval], [false, true], "the OKE default waits until OKE offers the version");
  const minimum = settings({ file: "scripts/lib/preflight.mts", packageName: "kubernetes-sigs/kind", manager: "custom.regex", updateType: "minor" });
  assert.equal([minimum.automerge, minimum.dependencyDashboardApproval], [false, true]);
});

test("one group per component, the security-relevant ones labelled, and a dependency dashboard", () => {
  assert.is((config as Record<string, unknown>).dependencyDashboard, true);
  const components = [...new Set(pins.filter((p) => p.file.startsWith("gitops/")).map((p) => p.file.split("/")[1]!))];
  const groups = new Map(components.map((c) => [c, settings(chart(c, "minor")).groupName as string | undefined]));
  assert.equal([...groups].filter(([, g]) => !g), [], "components without a group");
  for (const component of ["kyverno", "falco", "cert-manager", "argocd"]) assert.ok(settings(chart(component, "patch")).labels.includes("security"), component);
  for (const component of ["monitoring", "gateway", "metrics-server", "locust"]) assert.not.ok(settings(chart(component, "patch")).labels.includes("security"), component);
  assert.is(settings({ file: "clusters/kind/kind-config.yaml", packageName: "kindest/node", manager: "kubernetes", updateType: "minor" }).groupName, "kind");
});

test("docker images are pinned by digest on Renovate's first run, in every manager that reads them", () => {
  const s = settings({ file: "gitops/falco/application.yaml", packageName: "docker.io/falcosecurity/falcosidekick", manager: "helm-values", datasource: "docker", updateType: "patch" });
  assert.is(s.pinDigests, true);
});

// A copy of the files pins live in, plus new pins: the ones without an update path must be reported.
function withExtraFiles(files: Record<string, string>): { root: string; problems: string[] } {
  const root = mkdtempSync(join(tmpdir(), "renovate-pins-"));
  for (const file of new Set(pins.map((p) => p.file))) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    cpSync(join(REPO_ROOT, file), join(root, file));
  }
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  const problems = unmanaged(coverage(root, config, findPins(root)));
  rmSync(root, { recursive: true, force: true });
  return { root, problems };
}

const APP = (values: string) => `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: { name: extra, namespace: argocd }
spec:
  project: platform
  source:
    repoURL: https://charts.example.com
    chart: extra
    targetRevision: 1.2.3
    helm:
      valuesObject:
${values}
  destination: { server: https://kubernetes.default.svc, namespace: extra }
`;

test("a copy of the tree without extra pins has every pin managed (the control for the cases below)", () => {
  assert.equal(withExtraFiles({}).problems, []);
});

test("new pins without an update path fail: an image tag without repository, a chart Application outside gitops/, an unannotated VERSION=, an unknown action's version input, an image in an unread folder", () => {
  const { problems } = withExtraFiles({
    "gitops/extra/application.yaml": APP("        sidecar:\n          image:\n            tag: 1.0.0"),
    "apps/extra/application.yaml": APP("        replicas: 1"),
    ".ci/tools.sh": "#!/bin/sh\nKUBECONFORM_VERSION=0.7.0\n",
    ".github/workflows/extra.yml": "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: example/setup-tool@0123456789abcdef0123456789abcdef01234567 # v1.0.0\n        with:\n          version: 2.3.4\n",
    "examples/pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers:\n    - name: c\n      image: docker.io/library/busybox:1.37.0\n",
  });
  const hit = (text: string) => assert.ok(problems.some((p) => p.includes(text)), `${text} not reported in:\n${problems.join("\n")}`);
  hit("gitops/extra/application.yaml:");
  hit("values-image-tag");
  hit("apps/extra/application.yaml:9 argocd-chart");
  hit(".ci/tools.sh:2 data KUBECONFORM_VERSION");
  hit("example/setup-tool#version 2.3.4");
  hit("examples/pod.yaml:7 manifest-image docker.io/library/busybox");
  assert.is(problems.length, 5, problems.join("\n"));
});

test("the same pins written where a manager reads them pass", () => {
  const { problems } = withExtraFiles({
    "gitops/extra/application.yaml": APP("        sidecar:\n          image:\n            repository: example/sidecar\n            tag: 1.0.0"),
    "scripts/lib/tools.mts": '// renovate: datasource=github-releases depName=yannh/kubeconform\nexport const KUBECONFORM_VERSION = "0.7.0";\n',
    "gitops/extra/pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers:\n    - name: c\n      image: docker.io/library/busybox:1.37.0\n",
  });
  assert.equal(problems, []);
});

test.run();
