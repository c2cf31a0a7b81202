// Plain JavaScript on purpose: Node before 22.18 cannot load .mts files at all
// (ERR_UNKNOWN_FILE_EXTENSION and a stack trace), so this check must run
// before any of them is imported. npm runs it before `npm test` (pretest);
// `npm ci` refuses an older Node by itself (.npmrc engine-strict, engines in
// package.json).
//
//   node scripts/lib/node-version.mjs    exit 0, or one line naming the version needed and exit 1
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The range package.json's engines.node gives, e.g. "^22.19.0 || >=23.6.0". */
export function requiredRange() {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return pkg.engines.node;
}

const parse = (version) => version.replace(/^v/, "").split(".").map(Number);
const compare = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** Whether `version` is in `range`: the "^x.y.z" and ">=x.y.z" terms joined by "||" that engines uses here. */
export function satisfies(version, range) {
  const v = parse(version);
  return range.split("||").some((term) => {
    const match = /^\s*(\^|>=)\s*v?(\d+\.\d+\.\d+)\s*$/.exec(term);
    if (!match) throw new Error(`unsupported engines term "${term.trim()}" in package.json`);
    const min = parse(match[2]);
    return compare(v, min) >= 0 && (match[1] === ">=" || v[0] === min[0]);
  });
}

/** undefined when this Node fits, else the one line to print. */
export function nodeVersionProblem(version = process.versions.node, range = requiredRange()) {
  if (satisfies(version, range)) return undefined;
  return `giropops-platform needs Node ${range} (this is v${version.replace(/^v/, "")}): install Node 24 LTS (https://nodejs.org/en/download), or run .ci/run, which brings its own`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const problem = nodeVersionProblem();
  if (problem) {
    console.error(`error: ${problem}`);
    process.exit(1);
  }
}
