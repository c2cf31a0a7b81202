// The checks verify runs, in order (cheap and fundamental first), and which
// of them a person asked for.
import { UserError } from "../errors.mts";
import { appCheck } from "./app.mts";
import { argocdCheck } from "./argocd.mts";
import { runChaos } from "./chaos.mts";
import type { Check, CheckResult, VerifyContext } from "./checks.mts";
import { falcoCheck } from "./falco.mts";
import { hpaCheck } from "./hpa.mts";
import { kyvernoCheck } from "./kyverno.mts";
import { locustCheck } from "./locust.mts";
import { grafanaCheck, prometheusCheck } from "./monitoring.mts";
import { roundtripCheck } from "./roundtrip.mts";

/** `--chaos`: app pods killed under load against the SLO, then a Redis restart against the durability bound. */
export const chaosCheck: Check = {
  name: "chaos",
  title: "the app keeps its SLO while pods die, and Redis keeps every password across a restart",
  optIn: "chaos",
  hint: "kubectl -n chaos-mesh get schedules,podchaos",
  run: (ctx: VerifyContext) => runChaos(ctx),
};

export const CHECKS: Check[] = [argocdCheck, appCheck, prometheusCheck, grafanaCheck, kyvernoCheck, falcoCheck, hpaCheck, locustCheck, roundtripCheck, chaosCheck];

export type Selection = { only?: string; gitopsRoundtrip: boolean; chaos: boolean };

/** The checks to run: every default check plus the opted-in ones, narrowed by --only. */
export function selectChecks(checks: Check[], selection: Selection): Check[] {
  const enabled = (check: Check) => !check.optIn || selection[check.optIn];
  if (selection.only === undefined) return checks.filter(enabled);
  const names = selection.only.split(",").map((n) => n.trim()).filter(Boolean);
  const known = new Set(checks.map((c) => c.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new UserError(`--only ${selection.only}: unknown check${unknown.length === 1 ? "" : "s"} ${unknown.join(", ") || "(none given)"}`, {
      fix: `pick from ${checks.map((c) => c.name).join(", ")}`,
      exitCode: 2,
    });
  }
  const chosen = checks.filter((c) => names.includes(c.name));
  for (const check of chosen) {
    if (!enabled(check)) {
      const flag = check.optIn === "gitopsRoundtrip" ? "--gitops-roundtrip" : "--chaos";
      throw new UserError(`--only ${check.name} needs ${flag}: ${check.title}`, { fix: `add ${flag} to run it`, exitCode: 2 });
    }
  }
  return chosen;
}
