// Break-something tests: npm run validate catches each way an endpoint could
// lose TLS (edits go to a throw-away copy of the repository).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { copyRepo, edit } from "../gitops/support.mts";
import { validate, type Problem } from "../validate/validate.mts";

const show = (problems: Problem[]) => problems.map((p) => `${p.file} [${p.object ?? ""}] ${p.message}`).join("\n");
const expect = (problems: Problem[], file: string, object: string, message: RegExp) =>
  assert.ok(
    problems.some((p) => p.file === file && p.object === object && message.test(p.message)),
    `expected a problem in ${file} [${object}] matching ${message}; got:\n${show(problems)}`,
  );

test("a host without a certificate, a route on plain HTTP and a route without sectionName are reported", async () => {
  const root = copyRepo();
  // A new hostname nobody added to the Certificate's dnsNames.
  edit(root, "gitops/locust/httproute.yaml", "    - locust.localhost", "    - locust.localhost\n    - load.localhost");
  // Grafana served on the plain-HTTP listener.
  edit(root, "gitops/monitoring/config/httproutes.yaml", /sectionName: websecure\n(  hostnames:\n    - grafana)/, "sectionName: web\n$1");
  // The app's route with no sectionName attaches to every listener, HTTP included.
  edit(root, "apps/giropops-senhas/deploy/app/httproute.yaml", "      sectionName: websecure\n", "");
  const { problems } = await validate({ root });
  expect(problems, "gitops/locust/httproute.yaml", "HTTPRoute locust/locust", /hostname load\.localhost has no certificate/);
  expect(problems, "gitops/monitoring/config/httproutes.yaml", "HTTPRoute monitoring/grafana", /attaches to listener web, which is not an HTTPS listener/);
  expect(problems, "apps/giropops-senhas/deploy/app/httproute.yaml", "HTTPRoute giropops-senhas/giropops-senhas", /has no sectionName, so it is also served over plain HTTP/);
  assert.not.ok(problems.some((p) => /locust\.localhost has no certificate/.test(p.message)), "hosts that are covered are not reported");
});

test("an OKE hostname missing from the OKE certificate is reported for OKE only", async () => {
  const root = copyRepo();
  edit(root, "clusters/oke/patches/domain.yaml", "                - locust.example.com\n", "");
  const { problems } = await validate({ root });
  expect(problems, "gitops/locust/httproute.yaml", "HTTPRoute locust/locust", /hostname locust\.example\.com has no certificate/);
  assert.not.ok(problems.some((p) => /locust\.localhost/.test(p.message)));
});

test("no redirect, a listener whose Secret no Certificate issues, no HTTPS listener at all", async () => {
  const root = copyRepo();
  edit(root, "gitops/gateway/routes/https-redirect.yaml", "statusCode: 301", "statusCode: 302");
  edit(root, "gitops/gateway/application.yaml", "              secretName: platform-tls", "              secretName: other-tls");
  const broken = await validate({ root });
  expect(broken.problems, "gitops/gateway/application.yaml", "Application argocd/traefik", /no HTTPRoute redirects the plain-HTTP listener web to https/);
  expect(broken.problems, "gitops/gateway/application.yaml", "Application argocd/traefik", /listener websecure uses Secret traefik\/platform-tls, which no cert-manager Certificate issues/);

  const plain = copyRepo();
  edit(plain, "gitops/gateway/application.yaml", "              protocol: HTTPS", "              protocol: HTTP");
  const { problems } = await validate({ root: plain });
  expect(problems, "gitops/gateway/application.yaml", "Application argocd/traefik", /has no HTTPS listener with certificateRefs/);
});

test.run();
