// The app image's signature check (gitops/image-verification): a valid
// ImageValidatingPolicy that trusts exactly one signer, this repository's image
// workflow on main, for exactly the image the app runs.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parse as parseCel } from "@bufbuild/cel";
import { ImageValidatingPolicy } from "@kubernetes-models/kyverno/policies.kyverno.io/v1/ImageValidatingPolicy";
import { admit, kustomize, repoRoot } from "./lib/admission.mts";
import { renderCluster, SAMPLE_REPO } from "../lib/render.mts";
import { repoWorkloads } from "./lib/workloads.mts";

const objects = kustomize("gitops/image-verification");
const policy = objects.find((o) => o.kind === "ImageValidatingPolicy")!;
const SIGNER = "https://github.com/giropops/giropops-platform/.github/workflows/image.yml@refs/heads/main";

// Kyverno's glob: "*" is any run of characters (path separators included).
const globToRegExp = (glob: string) => new RegExp(`^${glob.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);

test("the folder renders one policies.kyverno.io/v1 ImageValidatingPolicy of a valid shape", () => {
  assert.is(objects.length, 1);
  assert.ok(policy, "no ImageValidatingPolicy");
  assert.is(policy.apiVersion, "policies.kyverno.io/v1");
  new ImageValidatingPolicy(policy as any).validate();
  assert.equal(policy.spec.validationActions, ["Deny"]);
  assert.is(policy.spec.failurePolicy, "Fail");
  for (const v of policy.spec.validations) {
    assert.ok(v.message, "every validation has a message");
    assert.not.throws(() => parseCel(v.expression), v.expression);
  }
});

test("it trusts only GitHub's OIDC issuer and this repository's image workflow on main", () => {
  const identities = policy.spec.attestors.flatMap((a: any) => a.cosign?.keyless?.identities ?? []);
  assert.is(identities.length, 1);
  const [identity] = identities;
  assert.is(identity.issuer, "https://token.actions.githubusercontent.com");
  assert.is(identity.issuerRegExp, undefined);
  assert.is(identity.subject, undefined, "a regexp, as the brief asks, anchored at both ends");
  const subject = new RegExp(identity.subjectRegExp);
  assert.ok(identity.subjectRegExp.startsWith("^") && identity.subjectRegExp.endsWith("$"));
  assert.ok(subject.test(SIGNER));
  for (const other of [
    SIGNER.replace("refs/heads/main", "refs/heads/feature"),
    SIGNER.replace("refs/heads/main", "refs/pull/7/merge"),
    SIGNER.replace("refs/heads/main", "refs/tags/v1.0.0"),
    SIGNER.replace("image.yml", "ci.yml"),
    SIGNER.replace("github.com/giropops/", "github.com/someone-else/"),
    SIGNER.replace("giropops-platform", "giropops-platform-fork"),
    `${SIGNER}x`,
    `https://evil.example/?${SIGNER}`,
  ])
    assert.not.ok(subject.test(other), other);
  // The workflow it names exists and is the one that signs.
  assert.ok(existsSync(join(repoRoot, ".github/workflows/image.yml")));
  // The validation uses the attestor declared above.
  const names = policy.spec.attestors.map((a: any) => a.name);
  for (const v of policy.spec.validations)
    for (const [, name] of v.expression.matchAll(/attestors\.([A-Za-z_][A-Za-z0-9_]*)/g)) assert.ok(names.includes(name), `attestors.${name}`);
});

test("it covers the image the app runs (every cluster), and nothing else of ours", () => {
  const globs = policy.spec.matchImageReferences.map((m: any) => globToRegExp(m.glob));
  const appImages = repoWorkloads()
    .filter((w) => w.namespace === "giropops-senhas")
    .flatMap((w) => w.object.spec.template.spec.containers.map((c: any) => String(c.image)));
  const ours = appImages.filter((image) => image.startsWith("ghcr.io/giropops/giropops-senhas"));
  assert.ok(ours.length > 0, `no app image among ${appImages}`);
  for (const image of ours) assert.ok(globs.some((g: RegExp) => g.test(image)), image);
  for (const other of appImages.filter((image) => !image.startsWith("ghcr.io/giropops/giropops-senhas")))
    assert.not.ok(globs.some((g: RegExp) => g.test(other)), `${other} would need a signature too`);
  assert.equal(policy.spec.matchConstraints.namespaceSelector.matchExpressions[0].values, ["giropops-senhas"]);
});

// On OKE the root Application names the user's repository in both policies
// (scripts/lib/image.mts): the registry allow-list admits exactly the images the
// signature check matches (issue 21 point 3), for the owner of SAMPLE_REPO.
test("on OKE the allow-list and the signature check cover the same images, of the deployed repository's owner", () => {
  const oke = renderCluster("oke");
  const verify = oke.byApplication.get("image-verification")!.map((r) => r.object).find((o) => o.kind === "ImageValidatingPolicy")!;
  const registries = oke.byApplication.get("policies")!.map((r) => r.object).find((o) => o.metadata.name === "restrict-image-registries")!;
  const owner = /github\.com\/([^/]+)\//.exec(SAMPLE_REPO.url)![1]!;
  assert.is(verify.spec.attestors[0].cosign.keyless.identities[0].subjectRegExp, `^https://github\\.com/${owner}/giropops-platform/\\.github/workflows/image\\.yml@refs/heads/main$`);
  const globs = verify.spec.matchImageReferences.map((m: any) => globToRegExp(m.glob));
  const digest = `sha256:${"c".repeat(64)}`;
  const candidates = [
    `ghcr.io/${owner}/giropops-senhas@${digest}`,
    `ghcr.io/${owner}/giropops-senhas:1.0.0`,
    `ghcr.io/${owner}/giropops-senhas:1.0.0@${digest}`,
    `ghcr.io/${owner}/giropops-senhas-debug:1.0.0`,
    `ghcr.io/${owner}/other:1.0.0`,
    `ghcr.io/giropops/giropops-senhas@${digest}`,
    `ghcr.io/giropops/other:1.0.0`,
  ];
  const pod = (image: string) => ({
    apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "giropops-senhas" },
    spec: { containers: [{ name: "app", image }] },
  });
  const admitted = (image: string) => {
    const verdict = admit(registries, pod(image), "giropops-senhas");
    assert.ok(verdict.matched, image);
    return verdict.matched && verdict.errors.length === 0 && verdict.failures.length === 0;
  };
  for (const image of candidates) assert.is(globs.some((g: RegExp) => g.test(image)), admitted(image), `${image}: allowed and verified must agree`);
  assert.ok(admitted(`ghcr.io/${owner}/giropops-senhas@${digest}`), "the owner's own image is allowed");
  assert.not.ok(admitted(`ghcr.io/giropops/giropops-senhas@${digest}`), "on OKE the placeholder owner is not");
});

test.run();
