// Invariant: everything is pinned. Images carry a tag other than latest (or a
// digest; digests themselves are image-digests.mts's), chart versions are
// exact, and remote resources point at a release tag or a commit.
import { remoteEntries, type RemoteEntry } from "../../lib/render.mts";
import type { Problem } from "./types.mts";

export const EXACT_SEMVER = /^v?\d+\.\d+\.\d+(-[\w.]+)?$/;

/** An image reference is pinned when it carries a tag other than latest, or a digest. */
export function imageProblem(image: unknown): string | null {
  if (typeof image !== "string" || image.trim() === "") return "has no image";
  if (/@sha256:[a-f0-9]{64}$/.test(image)) return null;
  const last = image.split("/").pop()!;
  if (!last.includes(":")) return `image ${image} has no tag`;
  const tag = last.split(":").pop()!;
  if (tag === "" || tag === "latest") return `image ${image} uses the latest tag`;
  return null;
}

/** Every image tag or image string set in a chart's valuesObject. */
export function valuesImageProblems(values: unknown, path = "valuesObject"): string[] {
  const out: string[] = [];
  if (Array.isArray(values)) values.forEach((v, i) => out.push(...valuesImageProblems(v, `${path}[${i}]`)));
  else if (values && typeof values === "object") {
    for (const [key, value] of Object.entries(values)) {
      const at = `${path}.${key}`;
      if (key === "tag" && (value === "latest" || value === "")) out.push(`${at} is "${value}"`);
      else if (key === "image" && typeof value === "string") {
        const p = imageProblem(value);
        if (p) out.push(`${at}: ${p}`);
      } else out.push(...valuesImageProblems(value, at));
    }
  }
  return out;
}

/** The remote resources left out of the offline render, each said pinned or not (the report part), and a problem for each unpinned one. */
export function remotePins(root: string): { problems: Problem[]; remotes: (RemoteEntry & { pinned: boolean })[] } {
  const problems: Problem[] = [];
  const remotes = remoteEntries({ root }).map((e) => {
    const pinned = /\/v?\d+\.\d+\.\d+\//.test(e.url) || /[?&]ref=(v?\d+\.\d+\.\d+|[0-9a-f]{40})\b/.test(e.url);
    if (!pinned) problems.push({ file: e.kustomization, message: `remote resource ${e.url} is not pinned to a release tag or commit` });
    return { ...e, pinned };
  });
  return { problems, remotes };
}
