// Our Falco rules (gitops/falco/rules/giropops-rules.yaml), checked offline:
// the shape Falco requires, and every macro, list and field a condition names is
// defined in the file, is one of the upstream names gitops/falco/README.md
// documents, or is a Falco field. Plus the wiring: the file reaches Falco
// unchanged and its probe exclusions match the probes in git.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parse as parseYaml } from "yaml";
import { kustomize, repoRoot } from "./lib/admission.mts";
import { repoWorkloads } from "./lib/workloads.mts";
import { renderCluster } from "../lib/render.mts";

type Obj = Record<string, any>;

const RULES_FILE = "gitops/falco/rules/giropops-rules.yaml";
const rulesText = readFileSync(join(repoRoot, RULES_FILE), "utf8");
const items: Obj[] = parseYaml(rulesText);
const readme = readFileSync(join(repoRoot, "gitops/falco/README.md"), "utf8");

const rules = items.filter((i) => "rule" in i);
const macros = new Map(items.filter((i) => "macro" in i).map((i) => [i.macro as string, i]));
const lists = new Map(items.filter((i) => "list" in i).map((i) => [i.list as string, i]));

// The upstream names we rely on: the table under "## Upstream macros and lists" in the README.
const upstreamSection = readme.split(/^## Upstream macros and lists$/m)[1]?.split(/^## /m)[0] ?? "";
const upstream = new Map<string, "macro" | "list">();
for (const [, name, kind] of upstreamSection.matchAll(/^\|\s*`([a-z0-9_]+)`\s*\|\s*(macro|list)\s*\|/gm)) upstream.set(name!, kind as "macro" | "list");

const PRIORITIES = new Set(["EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFORMATIONAL", "INFO", "DEBUG"]);
// Field classes of Falco's syscall source and its container plugin.
const FIELD_CLASSES = new Set(["evt", "proc", "thread", "fd", "fs", "user", "group", "container", "k8s", "syscall"]);
const BOOLEAN = new Set(["and", "or", "not"]);
const COMPARISON = new Set(["=", "==", "!=", "<", "<=", ">", ">=", "startswith", "endswith", "contains", "icontains", "bcontains", "bstartswith", "glob", "iglob", "regex"]);
const SET_OPERATORS = new Set(["in", "intersects", "pmatch"]);

type Reference = { name: string; as: "macro" | "list" };

/** Splits a Falco condition into tokens: quoted strings, parentheses, commas, operators, words. */
export function tokenize(condition: string): string[] {
  const tokens = condition.match(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\(|\)|,|!=|==|<=|>=|=|<|>|[^\s(),=<>!]+/g) ?? [];
  return tokens;
}

const isField = (t: string) => /^[a-z0-9]+\.[a-zA-Z0-9_.]+(\[[^\]]*\])?$/.test(t) && FIELD_CLASSES.has(t.split(".")[0]!);
const isIdentifier = (t: string) => /^[a-z_][a-z0-9_]*$/.test(t);

/** The macros and lists a condition refers to, and anything it cannot read. */
export function references(condition: string): { refs: Reference[]; problems: string[] } {
  const tokens = tokenize(condition);
  const refs: Reference[] = [];
  const problems: string[] = [];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "(") depth++;
    else if (t === ")") depth--;
    else if (BOOLEAN.has(t)) continue;
    else if (/^[a-z0-9]+\./.test(t) && !t.startsWith("/")) {
      if (!isField(t)) problems.push(`unknown field ${t}`);
      const op = tokens[i + 1];
      if (op === "exists") i += 1;
      else if (op && COMPARISON.has(op)) i += 2; // the value after a comparison is a literal
      else if (op && SET_OPERATORS.has(op)) {
        if (tokens[i + 2] !== "(") problems.push(`${t} ${op} needs a parenthesised list`);
        let j = i + 3;
        for (; j < tokens.length && tokens[j] !== ")"; j++) {
          const item = tokens[j]!;
          // Inside a set a bare name with "_" is a list; other bare words are values (execve, bash).
          if (item !== "," && isIdentifier(item) && item.includes("_")) refs.push({ name: item, as: "list" });
        }
        i = j;
      } else problems.push(`${t} is not followed by an operator (got ${op})`);
    } else if (isIdentifier(t)) refs.push({ name: t, as: "macro" });
    else problems.push(`unexpected token ${t}`);
    if (depth < 0) problems.push("unbalanced parentheses");
  }
  if (depth !== 0) problems.push("unbalanced parentheses");
  return { refs, problems };
}

function known(ref: Reference): boolean {
  if (ref.as === "macro") return macros.has(ref.name) || upstream.get(ref.name) === "macro";
  return lists.has(ref.name) || upstream.get(ref.name) === "list";
}

test("the README documents the upstream macros and lists we rely on", () => {
  for (const name of ["spawned_process", "container", "shell_procs", "open_write", "open_read", "sensitive_files", "package_mgmt_binaries"])
    assert.ok(upstream.has(name), name);
  // None of ours shadows an upstream name (that would silently redefine it for Falco's own rules).
  for (const name of [...macros.keys(), ...lists.keys()]) assert.not.ok(upstream.has(name), `${name} shadows an upstream name`);
});

test("the tokenizer reads conditions the way Falco does (self-check)", () => {
  assert.equal(references("spawned_process and container and proc.name in (shell_binaries, bash)").refs, [
    { name: "spawned_process", as: "macro" },
    { name: "container", as: "macro" },
    { name: "shell_binaries", as: "list" },
  ]);
  assert.equal(references('fd.name startswith /etc/ and evt.type in (open, openat) and fd.sip != "0.0.0.0"').refs, []);
  assert.equal(references("proc.aname[2] = runc and fd.name exists").problems, []);
  assert.ok(references("(spawned_process and container").problems.includes("unbalanced parentheses"));
  assert.ok(references("prc.name = sh").problems.some((p) => p.includes("unknown field")));
});

test("the file is a list of rules, macros and lists with the fields Falco requires", () => {
  assert.ok(Array.isArray(items) && items.length > 0);
  for (const item of items) {
    const kinds = ["rule", "macro", "list"].filter((k) => k in item);
    assert.is(kinds.length, 1, JSON.stringify(item).slice(0, 80));
    if ("macro" in item) assert.type(item.condition, "string", `macro ${item.macro}`);
    if ("list" in item) assert.ok(Array.isArray(item.items), `list ${item.list}`);
  }
  assert.is(rules.length, 5);
  const names = new Set<string>();
  for (const rule of rules) {
    for (const field of ["rule", "desc", "condition", "output", "priority"])
      assert.ok(typeof rule[field] === "string" && rule[field].trim().length > 0, `${rule.rule}: ${field}`);
    assert.ok(PRIORITIES.has(rule.priority.toUpperCase()), `${rule.rule}: priority ${rule.priority}`);
    assert.ok(Array.isArray(rule.tags) && rule.tags.includes("giropops"), `${rule.rule}: tags`);
    assert.not.ok(names.has(rule.rule), `duplicate rule ${rule.rule}`);
    names.add(rule.rule);
  }
});

test("every condition names only defined or documented macros and lists, and real fields", () => {
  const conditions = [
    ...rules.map((r) => [`rule ${r.rule}`, r.condition] as const),
    ...[...macros.values()].map((m) => [`macro ${m.macro}`, m.condition] as const),
  ];
  const used = new Set<string>();
  for (const [where, condition] of conditions) {
    const { refs, problems } = references(condition);
    assert.equal(problems, [], where);
    for (const ref of refs) {
      assert.ok(known(ref), `${where}: ${ref.as} ${ref.name} is neither in ${RULES_FILE} nor in the README's upstream table`);
      used.add(ref.name);
    }
  }
  for (const list of lists.values())
    for (const item of list.items)
      if (typeof item === "string" && isIdentifier(item) && item.includes("_")) {
        assert.ok(known({ name: item, as: "list" }), `list ${list.list}: ${item}`);
        used.add(item);
      }
  // Nothing defined here is dead, and every documented upstream name is really used.
  for (const name of [...macros.keys(), ...lists.keys()]) assert.ok(used.has(name), `${name} is defined but never used`);
  for (const name of upstream.keys()) assert.ok(used.has(name), `README lists ${name} but no condition uses it`);
});

test("every rule is scoped to the app namespace and its output names pod and namespace", () => {
  for (const rule of rules) {
    assert.ok(references(rule.condition).refs.some((r) => r.name === "giropops_app_container"), rule.rule);
    const fields = [...rule.output.matchAll(/%([a-z0-9_.]+(\[[^\]]*\])?)/g)].map((m) => m[1]!);
    for (const field of fields) assert.ok(isField(field), `${rule.rule}: output field ${field}`);
    for (const field of ["k8s.pod.name", "k8s.ns.name", "proc.cmdline"]) assert.ok(fields.includes(field), `${rule.rule}: output has %${field}`);
  }
});

test("the README gives a kubectl trigger command for every rule", () => {
  for (const rule of rules) {
    const row = readme.split("\n").find((line) => line.startsWith(`| ${rule.rule} |`));
    assert.ok(row, `no README row for ${rule.rule}`);
    assert.match(row, /`kubectl -n giropops-senhas exec [^`]+`/);
  }
});

test("the rules reach Falco unchanged: one ConfigMap with the file's exact text, mounted in rules.d", () => {
  const configMaps = kustomize("gitops/falco").filter((o) => o.kind === "ConfigMap");
  const withRules = configMaps.filter((c) => Object.values(c.data ?? {}).some((v) => String(v).includes("- rule:")));
  assert.is(withRules.length, 1);
  const [configMap] = withRules;
  assert.is(configMap!.metadata.namespace, "falco");
  assert.is(configMap!.data["giropops-rules.yaml"], rulesText);
  for (const cluster of ["kind", "minikube", "oke"] as const) {
    const falco = renderCluster(cluster).root.find((r) => r.object.kind === "Application" && r.object.metadata.name === "falco")?.object;
    assert.ok(falco, `${cluster}: no falco Application`);
    const values = falco.spec.source.helm.valuesObject;
    assert.is(values.customRules, undefined, "one copy of the rules: not also in customRules");
    const volume = values.mounts.volumes.find((v: Obj) => v.configMap?.name === configMap!.metadata.name);
    assert.ok(volume, `${cluster}: ConfigMap not mounted`);
    const mount = values.mounts.volumeMounts.find((m: Obj) => m.name === volume.name);
    assert.is(mount?.mountPath, "/etc/falco/rules.d");
    // Falco loads rules.d after its default rules (whose macros ours use): keep the chart's rules_files.
    assert.is(values.falco?.rules_files, undefined);
  }
});

test("the expected-shell exclusions are exactly the shell exec probes in git", () => {
  const falcoString = (item: string) => item.replace(/^"(.*)"$/, "$1");
  const excluded = lists.get("giropops_expected_shell_cmdlines")!.items.map(falcoString).sort();
  const probes = repoWorkloads()
    .filter((w) => w.namespace === "giropops-senhas")
    .flatMap((w) => (w.object.spec.template?.spec?.containers ?? []) as Obj[])
    .flatMap((c) => [c.livenessProbe, c.readinessProbe, c.startupProbe])
    .map((p) => p?.exec?.command as string[] | undefined)
    .filter((cmd): cmd is string[] => Array.isArray(cmd) && /(^|\/)(sh|bash|ash|dash)$/.test(cmd[0] ?? ""))
    // Falco's proc.cmdline: the process name, then the arguments joined by spaces.
    .map((cmd) => [cmd[0]!.split("/").pop(), ...cmd.slice(1)].join(" "));
  assert.equal(excluded, [...new Set(probes)].sort());
});

test.run();
