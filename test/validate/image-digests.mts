// Images by digest: every image this repository sets (manifests, chart values,
// kustomize images, Dockerfile bases, the kind node) carries tag@sha256:..., or
// is on the reviewed list of images still without one.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { findPins, IMAGE_SHAPES, where, type Pin } from "./pins.mts";

export const WITHOUT_DIGEST = "test/validate/images-without-digest.yaml";

type Reviewed = Record<string, Record<string, string> | undefined>;
export type ImageDigests = {
  problems: { file: string; message: string }[];
  /** "image (reason)" for each reviewed image still without a digest, with where it is set. */
  waiting: string[];
};

export function imageDigests(root: string, pins: Pin[] = findPins(root), reviewed: Reviewed = parse(readFileSync(join(root, WITHOUT_DIGEST), "utf8"))): ImageDigests {
  const list = new Map<string, string>();
  for (const entries of Object.values(reviewed)) for (const [image, why] of Object.entries(entries ?? {})) list.set(image, why);
  const result: ImageDigests = { problems: [], waiting: [] };
  const seen = new Map<string, string[]>();
  for (const pin of pins.filter((p) => IMAGE_SHAPES.has(p.shape) && !p.digest)) {
    const image = `${pin.name}:${pin.version}`;
    if (list.has(image)) seen.set(image, [...(seen.get(image) ?? []), where(pin)]);
    else
      result.problems.push({
        file: pin.file,
        message: `image ${image} (line ${pin.line}) has no digest: write it as tag@sha256:... from an upstream source, or add it to ${WITHOUT_DIGEST} with the reason`,
      });
  }
  for (const [image, why] of list) {
    const at = seen.get(image);
    if (at) result.waiting.push(`${image} (${why}) at ${at.join(", ")}`);
    else result.problems.push({ file: WITHOUT_DIGEST, message: `${image} is listed as without a digest but no such image is set without one: remove the entry` });
  }
  return result;
}
