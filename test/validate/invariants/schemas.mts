// Invariant: every rendered object is valid against its schema package
// (kubernetes-models and the CRD model packages); objects of an API without
// a package are counted as schemaless (apiVersion, kind and name checked only).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, describe, type Rendered } from "../../lib/render.mts";
import type { Problem } from "./types.mts";

const MODEL_PACKAGES = [
  "kubernetes-models",
  "@kubernetes-models/argo-cd",
  "@kubernetes-models/prometheus-operator",
  "@kubernetes-models/gateway-api",
  "@kubernetes-models/cert-manager",
  "@kubernetes-models/kyverno",
  "@kubernetes-models/traefik",
  "@kubernetes-models/sealed-secrets",
];
type Model = new (data: any) => { validate(): void };
const models = new Map<string, Model | null>();

async function loadModel(apiVersion: string, kind: string): Promise<Model | null> {
  const key = `${apiVersion}/${kind}`;
  if (models.has(key)) return models.get(key)!;
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/", 2) as [string, string] : ["", apiVersion];
  let model: Model | null = null;
  for (const pkg of MODEL_PACKAGES) {
    const file = join(REPO_ROOT, "node_modules", pkg, group, version, `${kind}.js`);
    if (!existsSync(file)) continue;
    const mod = await import(file);
    model = (mod[kind] ?? mod.default) as Model;
    break;
  }
  models.set(key, model);
  return model;
}

/** Validates against the schema package; returns an error text, null if valid, or "no-schema". */
export async function schemaCheck(object: Record<string, any>): Promise<string | null | "no-schema"> {
  if (typeof object.apiVersion !== "string" || typeof object.kind !== "string" || !object.metadata?.name) {
    return "apiVersion, kind and metadata.name are required";
  }
  const Model = await loadModel(object.apiVersion, object.kind);
  if (!Model) return "no-schema";
  try {
    new Model(structuredClone(object)).validate();
    return null;
  } catch (error) {
    return (error as Error).message.replace(/^data\//, "").replace(/\bdata\//g, "");
  }
}

/** The schema part of the report: objects checked, and those without a schema package by apiVersion and kind. */
export type SchemaTally = { schemaless: Record<string, number>; schemaChecked: number };

/**
 * Checks objects against their schemas across a whole validation run, each
 * distinct (file, object) once; `tally` is the report part.
 */
export function schemaChecker(): { check(objects: Rendered[]): Promise<Problem[]>; tally: SchemaTally } {
  const tally: SchemaTally = { schemaless: {}, schemaChecked: 0 };
  const seen = new Set<string>();
  const check = async (objects: Rendered[]): Promise<Problem[]> => {
    const problems: Problem[] = [];
    for (const r of objects) {
      const key = `${r.source}\n${JSON.stringify(r.object)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const result = await schemaCheck(r.object);
      if (result === "no-schema") {
        const id = `${r.object.apiVersion} ${r.object.kind}`;
        tally.schemaless[id] = (tally.schemaless[id] ?? 0) + 1;
      } else if (result) problems.push({ file: r.source, object: describe(r.object), message: `schema: ${result}` });
      else tally.schemaChecked++;
    }
    return problems;
  };
  return { check, tally };
}
