// An offline stand-in for Kyverno's admission of one object against one
// ValidatingPolicy: the policy's own CEL text (matchConditions, variables,
// validations) is compiled and run with @bufbuild/cel, with the bindings Kyverno
// gives it (object, oldObject, request, namespaceObject, variables). Only the
// matching done before any CEL runs (Kyverno's resource filters, the resource
// rules and the namespace label selector) is done here in TypeScript; no rule is.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isCelError, run } from "@bufbuild/cel";
import type { CelInput, CelValue } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { parse as parseYaml } from "yaml";
import { kustomize as render, REPO_ROOT } from "../../lib/render.mts";
import { quantityFuncs } from "./quantity.mts";

export const repoRoot = REPO_ROOT;

type Obj = Record<string, any>;

export type Verdict =
  | { matched: false; reason: string }
  | { matched: true; failures: string[]; errors: string[] };

// Kinds the platform renders that carry a pod spec, with the resource Kubernetes
// admission sees for them.
const RESOURCES: Record<string, { group: string; version: string; resource: string }> = {
  Pod: { group: "", version: "v1", resource: "pods" },
  Deployment: { group: "apps", version: "v1", resource: "deployments" },
  StatefulSet: { group: "apps", version: "v1", resource: "statefulsets" },
  DaemonSet: { group: "apps", version: "v1", resource: "daemonsets" },
  ReplicaSet: { group: "apps", version: "v1", resource: "replicasets" },
  Job: { group: "batch", version: "v1", resource: "jobs" },
  CronJob: { group: "batch", version: "v1", resource: "cronjobs" },
};

/** The objects `kubectl kustomize DIR` renders (DIR relative to the repo root), via test/lib/render.mts. */
export function kustomize(dir: string): Obj[] {
  return render(dir).map((r) => structuredClone(r.object));
}

/** Runs one CEL expression; an evaluation error comes back as a thrown Error naming the expression. */
export function cel(expression: string, bindings: Record<string, unknown>): CelValue {
  const result = run(expression, bindings as Record<string, CelInput>, { funcs: [...strings, ...quantityFuncs] });
  if (isCelError(result)) throw new Error(`CEL error in «${expression}»: ${result.message}`);
  return result;
}

function labelSelectorMatches(selector: Obj | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const ok =
      operator === "In" ? has && values.includes(labels[key]) :
      operator === "NotIn" ? !has || !values.includes(labels[key]) :
      operator === "Exists" ? has :
      operator === "DoesNotExist" ? !has :
      false;
    if (!ok) return false;
  }
  return true;
}

// Kubernetes' rule matching (k8s.io/apiserver admission/plugin/webhook/predicates/rules):
// an entry is "resource" or "resource/subresource", "*" matching any one part, so
// "pods" never covers the pods/ephemeralcontainers subresource.
function resourceRuleMatches(rules: Obj[], kind: string, operation: string, subresource: string): boolean {
  const target = RESOURCES[kind];
  if (!target) return false;
  const hit = (list: string[] | undefined, value: string) => (list ?? []).some((v) => v === "*" || v === value);
  const resourceHit = (list: string[] | undefined) =>
    (list ?? []).some((entry) => {
      const [resource = "", sub = ""] = entry.split(/\/(.*)/s);
      return (resource === "*" || resource === target.resource) && (sub === "*" || sub === subresource);
    });
  return rules.some(
    (rule) =>
      hit(rule.apiGroups, target.group) &&
      hit(rule.apiVersions, target.version) &&
      resourceHit(rule.resources) &&
      hit(rule.operations, operation),
  );
}

/** The admission request around the object: CREATE of the resource itself unless said otherwise. */
export type Request = { operation?: "CREATE" | "UPDATE"; subresource?: string; oldObject?: Obj };

// resource.Quantity marshals to a JSON string, so a webhook never sees the
// number YAML makes of `cpu: 1`: convert requests and limits as the API server would.
function asServerSends(value: unknown, path: string[] = []): any {
  if (Array.isArray(value)) return value.map((v) => asServerSends(v, [...path, "[]"]));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asServerSends(v, [...path, k])]));
  const [resources, list] = path.slice(-3);
  return typeof value === "number" && resources === "resources" && (list === "requests" || list === "limits") ? String(value) : value;
}

/** features.policyExceptions.namespace in gitops/kyverno/application.yaml: Kyverno reads CEL PolicyExceptions only from here. */
export const EXCEPTION_NAMESPACE = "kyverno";

// Kyverno's resource filters (fixture: the chart's defaults), parsed as
// pkg/config/types.go parseKinds and pkg/utils/kube/kind.go ParseKindSelector do
// for the shapes the chart uses ("Kind", "Kind/subresource", "*/*"), and matched
// with Kyverno's wildcards ("*" any run, "?" one character) as ToFilter does.
export const RESOURCE_FILTERS: string[] = parseYaml(readFileSync(join(import.meta.dirname, "../fixtures/kyverno-3.9.0-resource-filters.yaml"), "utf8"));
export const wildcard = (pattern: string, value: string) =>
  new RegExp(`^${[...pattern].map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("")}$`, "s").test(value);
function filteredBy(kind: string, subresource: string, namespace: string, name: string): string | undefined {
  return RESOURCE_FILTERS.find((entry) => {
    const [selector = "", ns = "", n = ""] = entry.replace(/^\[|\]$/g, "").split(",");
    const parts = selector.split("/");
    const [filterKind, filterSub] =
      parts.length === 1 ? [parts[0]!, ""] : parts[0] === "*" && parts[1] === "*" ? ["*", "*"] : [parts[0]!, parts[1]!];
    return wildcard(filterKind, kind) && wildcard(filterSub, subresource) && wildcard(ns, namespace) && wildcard(n, name);
  });
}

/**
 * What Kyverno would decide for `object` in `namespace` under `policy` (a CREATE
 * unless `request` says otherwise):
 * not matched (and why), or matched with the messages of the validations that
 * returned false and the errors of any expression that could not be evaluated.
 */
export function admit(policy: Obj, object: Obj, namespace: string, exceptions: Obj[] = [], request: Request = {}): Verdict {
  const { operation = "CREATE", subresource = "", oldObject = null } = request;
  const filter = filteredBy(object.kind, subresource, namespace, object.metadata?.name ?? "");
  if (filter) return { matched: false, reason: `Kyverno's resource filter ${filter} skips it` };
  const spec = policy.spec ?? {};
  const match = spec.matchConstraints ?? {};
  if (!resourceRuleMatches(match.resourceRules ?? [], object.kind, operation, subresource))
    return { matched: false, reason: `resource rules do not cover ${operation} ${object.kind}${subresource ? `/${subresource}` : ""}` };
  const namespaceLabels = { "kubernetes.io/metadata.name": namespace };
  if (!labelSelectorMatches(match.namespaceSelector, namespaceLabels))
    return { matched: false, reason: `namespace ${namespace} not selected` };

  // The API server sets metadata.namespace from the request before admission
  // (and background scans read stored objects), so policies may rely on it.
  object = { ...asServerSends(object), metadata: { ...object.metadata, namespace } };
  const target = RESOURCES[object.kind]!;
  const bindings: Record<string, unknown> = {
    object,
    // On pods/ephemeralcontainers the API server sends the whole Pod, kind Pod,
    // as object (Kyverno v1.19.0 pkg/cel/policies/ivpol/engine/engine_test.go,
    // TestHandleValidatingEphemeralContainersSubresourceIsEvaluated).
    oldObject: oldObject ? asServerSends(oldObject) : null,
    namespaceObject: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: namespaceLabels } },
    request: {
      operation,
      namespace,
      name: object.metadata?.name ?? "",
      kind: { group: target.group, version: target.version, kind: object.kind },
      resource: target,
      subResource: subresource,
      userInfo: { username: "system:serviceaccount:argocd:argocd-application-controller" },
    },
  };

  const errors: string[] = [];
  for (const condition of spec.matchConditions ?? []) {
    try {
      const value = cel(condition.expression, bindings);
      if (value === false) return { matched: false, reason: `matchCondition ${condition.name} is false` };
      if (value !== true) errors.push(`matchCondition ${condition.name} returned ${String(value)}, not a bool`);
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  if (errors.length) return { matched: true, failures: [], errors };

  // A PolicyException (policies.kyverno.io) in the exception namespace naming
  // this policy, all of whose matchConditions hold, exempts the object from it.
  for (const exception of exceptions) {
    if (exception.metadata?.namespace !== EXCEPTION_NAMESPACE) continue;
    const refs: Obj[] = exception.spec?.policyRefs ?? [];
    if (!refs.some((r) => r.name === policy.metadata?.name && r.kind === policy.kind)) continue;
    try {
      if ((exception.spec?.matchConditions ?? []).every((c: Obj) => cel(c.expression, bindings) === true))
        return { matched: false, reason: `exempted by PolicyException ${exception.metadata?.namespace}/${exception.metadata?.name}` };
    } catch (error) {
      errors.push(`PolicyException ${exception.metadata?.name}: ${(error as Error).message}`);
      return { matched: true, failures: [], errors };
    }
  }

  // Each variable sees the ones before it, as in Kubernetes.
  const variables = new Map<string, CelValue>();
  for (const variable of spec.variables ?? []) {
    try {
      variables.set(variable.name, cel(variable.expression, { ...bindings, variables }));
    } catch (error) {
      errors.push(`variable ${variable.name}: ${(error as Error).message}`);
      return { matched: true, failures: [], errors };
    }
  }

  const failures: string[] = [];
  for (const validation of spec.validations ?? []) {
    try {
      const value = cel(validation.expression, { ...bindings, variables });
      if (value === false) failures.push(validation.message);
      else if (value !== true) errors.push(`«${validation.expression}» returned ${String(value)}, not a bool`);
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  return { matched: true, failures, errors };
}

/** The Pod a controller would create from its template (what admission sees next). */
export function podFromTemplate(workload: Obj): Obj | undefined {
  const template =
    workload.kind === "CronJob" ? workload.spec?.jobTemplate?.spec?.template : workload.spec?.template;
  if (!template) return undefined;
  return { apiVersion: "v1", kind: "Pod", metadata: { ...template.metadata, name: `${workload.metadata?.name}-pod` }, spec: template.spec };
}

export const POD_KINDS = Object.keys(RESOURCES);
