// The pin invariants of the offline validation: every image by digest or on the
// reviewed list (test/validate/images-without-digest.yaml), and no value that
// restates a recorded chart default (test/validate/chart-defaults.yaml).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "../lib/render.mts";
import { chartDefaults } from "../validate/chart-defaults.mts";
import { imageDigests } from "../validate/image-digests.mts";
import { findPins, splitImage } from "../validate/pins.mts";
import { validate } from "../validate/validate.mts";
import { copyRepo, edit } from "./support.mts";

const show = (problems: { file: string; message: string }[]) => problems.map((p) => `${p.file}: ${p.message}`).join("\n");

test("image references split into name, tag and digest", () => {
  assert.equal(splitImage("docker.io/locustio/locust:2.32.2"), { name: "docker.io/locustio/locust", tag: "2.32.2", digest: undefined });
  assert.equal(splitImage(`kindest/node:v1.36.1@sha256:${"a".repeat(64)}`), { name: "kindest/node", tag: "v1.36.1", digest: `sha256:${"a".repeat(64)}` });
  assert.equal(splitImage("localhost:5000/app"), { name: "localhost:5000/app", tag: "", digest: undefined });
});

test("the tree: every image has a digest or is on the reviewed list, and the list has no stale entry", () => {
  const { problems, waiting } = imageDigests(REPO_ROOT);
  assert.equal(problems, [], show(problems));
  assert.ok(waiting.some((w) => w.startsWith("docker.io/locustio/locust:2.32.2 ")), waiting.join("\n"));
  // Verified from upstream: pinned, so not waiting.
  assert.not.ok(waiting.some((w) => /kindest\/node|registry\.k8s\.io\/pause|library\/redis|distroless|^node:/.test(w)), waiting.join("\n"));
  const digest = (name: string) => findPins(REPO_ROOT).find((p) => p.name === name)?.digest;
  assert.is(digest("registry.k8s.io/pause"), "sha256:ee6521f290b2168b6e0935a181d4cff9be1ac3f505666ef0e3c98fae8199917a");
  assert.is(digest("docker.io/library/redis"), "sha256:becdda6c7f4b3fb42e42fd7f120bbf5c54c4caaaf16f26da24e4563d2c1f0576");
});

test("a new image without a digest is refused; with a digest, or reviewed onto the list, it passes", () => {
  const root = copyRepo();
  edit(root, "gitops/locust/worker.yaml", "image: docker.io/locustio/locust:2.32.2", "image: docker.io/library/busybox:1.37.0");
  const refused = imageDigests(root).problems;
  assert.ok(refused.some((p) => p.file === "gitops/locust/worker.yaml" && /busybox:1\.37\.0 \(line \d+\) has no digest/.test(p.message)), show(refused));
  edit(root, "gitops/locust/worker.yaml", "busybox:1.37.0", `busybox:1.37.0@sha256:${"b".repeat(64)}`);
  assert.equal(imageDigests(root).problems, []);
});

test("a chart values image without a digest is refused, and so is a Dockerfile base", () => {
  const root = copyRepo();
  edit(root, "gitops/chaos/application.yaml", /pause:3\.10@sha256:[0-9a-f]{64}/, "pause:3.10");
  edit(root, "apps/giropops-senhas/Dockerfile", /nonroot@sha256:[0-9a-f]{64}/, "nonroot");
  const problems = imageDigests(root).problems;
  assert.ok(problems.some((p) => p.file === "gitops/chaos/application.yaml" && p.message.includes("registry.k8s.io/pause:3.10")), show(problems));
  assert.ok(problems.some((p) => p.file === "apps/giropops-senhas/Dockerfile" && p.message.includes("gcr.io/distroless/nodejs24-debian12:nonroot")), show(problems));
});

test("the reviewed list stays honest: an entry whose image got a digest must go", () => {
  const root = copyRepo();
  edit(root, "gitops/falco/application.yaml", "tag: 2.34.1", `tag: 2.34.1@sha256:${"c".repeat(64)}`);
  const problems = imageDigests(root).problems;
  assert.ok(problems.some((p) => p.file === "test/validate/images-without-digest.yaml" && p.message.startsWith("docker.io/falcosecurity/falcosidekick:2.34.1 is listed")), show(problems));
});

const record = parse(readFileSync(join(REPO_ROOT, "test/validate/chart-defaults.yaml"), "utf8"));

test("the tree: no value restates a recorded chart default except the kept ones, and every record matches its pinned version", () => {
  const { problems, kept, stale } = chartDefaults(REPO_ROOT);
  assert.equal(problems, [], show(problems));
  assert.equal(stale, []);
  assert.ok(kept.some((k) => k.startsWith("cert-manager crds/keep:")));
  // Every chart Application has a record.
  const charts = findPins(REPO_ROOT).filter((p) => p.shape === "argocd-chart").map((p) => p.name.split(" ")[1]!);
  assert.equal(charts.filter((c) => !record[c]), []);
});

test("a restated default is reported: an image tag equal to the chart's appVersion, a plain default, a default image repository", () => {
  const root = copyRepo();
  edit(root, "gitops/monitoring/application.yaml", "        grafana:\n", "        grafana:\n          image:\n            tag: 13.2.0\n");
  edit(root, "gitops/monitoring/application.yaml", "        defaultRules:\n", "        defaultRules:\n          create: true\n");
  edit(root, "gitops/sealed-secrets/application.yaml", "        fullnameOverride: sealed-secrets-controller\n", "        fullnameOverride: sealed-secrets-controller\n        image:\n          repository: bitnami/sealed-secrets-controller\n");
  const { problems } = chartDefaults(root);
  const hit = (file: string, path: string) => assert.ok(problems.some((p) => p.file === file && p.message.startsWith(`valuesObject ${path} restates`)), `${path}:\n${show(problems)}`);
  hit("gitops/monitoring/application.yaml", "grafana.image.tag");
  hit("gitops/monitoring/application.yaml", "defaultRules.create");
  hit("gitops/sealed-secrets/application.yaml", "image.repository");
  assert.is(problems.length, 3, show(problems));
});

test("a kept entry that no longer restates a default must go, and a chart bump asks for the defaults to be re-read", () => {
  const root = copyRepo();
  edit(root, "gitops/cert-manager/application.yaml", "keep: true", "keep: false");
  edit(root, "gitops/metrics-server/application.yaml", "targetRevision: 3.13.1", "targetRevision: 3.14.0");
  const { problems, stale } = chartDefaults(root);
  assert.ok(problems.some((p) => p.message === "cert-manager kept crds/keep no longer restates a default: remove it from kept"), show(problems));
  assert.equal(stale, ["metrics-server: defaults read at 3.13.1, the Application pins 3.14.0"]);
});

test("npm run validate reports both: the invariants are wired into the offline validation", async () => {
  const root = copyRepo();
  edit(root, "gitops/locust/master.yaml", "image: docker.io/locustio/locust:2.32.2", "image: docker.io/library/busybox:1.37.0");
  edit(root, "gitops/monitoring/application.yaml", "        defaultRules:\n", "        defaultRules:\n          create: true\n");
  const report = await validate({ root });
  assert.ok(report.problems.some((p) => p.file === "gitops/locust/master.yaml" && p.message.includes("busybox:1.37.0")), show(report.problems));
  assert.ok(report.problems.some((p) => p.message.startsWith("valuesObject defaultRules.create restates")), show(report.problems));
  assert.ok(report.pins.imagesWithoutDigest.some((i) => i.startsWith("docker.io/locustio/locust:2.32.2")));
});

test.run();
