import { PassThrough } from "node:stream";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { UserError } from "../../scripts/lib/errors.mts";
import { createUi } from "../../scripts/lib/ui.mts";
import { exitCodeOf, runCheck, type Check, type CheckResult } from "../../scripts/lib/verify/checks.mts";
import { CHECKS, selectChecks } from "../../scripts/lib/verify/index.mts";
import { printResult, summaryLine } from "../../scripts/lib/verify/report.mts";
import { contextFor, startApiServer } from "./lib/api-server.mts";

const names = (checks: Check[]) => checks.map((c) => c.name);
const result = (name: string, status: CheckResult["status"]): CheckResult => ({ name, status, summary: status, evidence: [] });

test("by default every check runs except the opt-in ones (they push to git or break things on purpose)", () => {
  const chosen = names(selectChecks(CHECKS, { gitopsRoundtrip: false, chaos: false }));
  assert.equal(chosen, ["argocd", "app", "prometheus", "grafana", "kyverno", "falco", "hpa", "locust"]);
  assert.ok(names(selectChecks(CHECKS, { gitopsRoundtrip: true, chaos: false })).includes("gitops-roundtrip"));
  assert.ok(names(selectChecks(CHECKS, { gitopsRoundtrip: false, chaos: true })).includes("chaos"));
});

test("--only narrows in the registry's order; unknown names and opt-ins without their flag are usage errors", () => {
  assert.equal(names(selectChecks(CHECKS, { only: "hpa, argocd", gitopsRoundtrip: false, chaos: false })), ["argocd", "hpa"]);
  assert.equal(names(selectChecks(CHECKS, { only: "chaos", gitopsRoundtrip: false, chaos: true })), ["chaos"]);
  for (const only of ["nope", "", "chaos"]) {
    try {
      selectChecks(CHECKS, { only, gitopsRoundtrip: false, chaos: false });
      assert.unreachable(`--only ${only}`);
    } catch (error) {
      assert.instance(error, UserError);
      assert.is((error as UserError).exitCode, 2);
    }
  }
});

test("exit code: 0 only when nothing failed and something passed", () => {
  assert.is(exitCodeOf([result("a", "pass"), result("b", "pass")]), 0);
  assert.is(exitCodeOf([result("a", "pass"), result("b", "fail")]), 1);
  assert.is(exitCodeOf([result("a", "skip")]), 1, "nothing proven is not a success");
  assert.is(exitCodeOf([]), 1);
  assert.is(summaryLine([result("a", "pass"), result("b", "fail"), result("c", "skip")]), "1 passed, 1 failed, 1 skipped (b)");
});

test("a check that throws is one failed result with its check's hint, written for the verified context", async () => {
  const api = await startApiServer([]);
  try {
    const check: Check = { name: "boom", title: "explodes", hint: "kubectl get pods", run: async () => Promise.reject(new Error("socket hang up\nat somewhere")) };
    const [failed] = await runCheck(check, contextFor(api));
    assert.equal(failed, { name: "boom", status: "fail", summary: "could not be checked: socket hang up", evidence: [], hint: "kubectl --context kind-giropops get pods" });
    const many: Check = { name: "group", title: "several", run: async () => [result("one", "pass"), result("two", "pass")] };
    assert.equal((await runCheck(many, contextFor(api))).map((r) => r.name), ["one", "two"]);
  } finally {
    await api.close();
  }
});

test("a result prints as PASS/FAIL with its evidence, and where to dig in only when it failed", () => {
  const out = new PassThrough();
  let text = "";
  out.on("data", (chunk) => (text += chunk));
  const ui = createUi({ streams: { out, err: out, input: new PassThrough() }, interactive: false, env: { NO_COLOR: "1" } });
  printResult(ui, { name: "hpa", status: "fail", summary: "no metrics", evidence: ["giropops-senhas: current <unknown>"], hint: "kubectl describe hpa" });
  printResult(ui, { name: "app", status: "pass", summary: "answers", evidence: ["POST → 200"], hint: "never shown" });
  assert.is(text, "✖ FAIL hpa: no metrics\n    giropops-senhas: current <unknown>\n    dig in: kubectl describe hpa\n✔ PASS app: answers\n    POST → 200\n");
});

test.run();
