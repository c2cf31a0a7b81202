// PromQL checks for the monitoring tests, on top of Prometheus' own grammar
// (@prometheus-io/lezer-promql, the parser behind the Prometheus UI editor).
// A problem is a sentence naming what is wrong, so a failing test reads as a fix.
import { parser } from "@prometheus-io/lezer-promql";

export type Node = { name: string; text: string; from: number; children: Node[] };

/** The syntax tree as plain objects (lezer's cursors are awkward to recurse over). */
export function parse(expr: string): Node {
  const tree = parser.parse(expr);
  const build = (cursor: ReturnType<typeof tree.cursor>): Node => {
    const node: Node = { name: cursor.type.isError ? "⚠" : cursor.name, text: expr.slice(cursor.from, cursor.to), from: cursor.from, children: [] };
    if (cursor.firstChild()) {
      do node.children.push(build(cursor));
      while (cursor.nextSibling());
      cursor.parent();
    }
    return node;
  };
  return build(tree.cursor());
}

export function walk(node: Node, visit: (n: Node) => void): void {
  visit(node);
  for (const child of node.children) walk(child, visit);
}

export function findAll(node: Node, name: string): Node[] {
  const found: Node[] = [];
  walk(node, (n) => n.name === name && found.push(n));
  return found;
}

// Functions whose first argument must be a range vector (x[5m] or a subquery).
const RANGE_FUNCTIONS = new Set(["rate", "irate", "increase", "delta", "idelta", "deriv", "changes", "resets", "predict_linear", "double_exponential_smoothing"]);

/** Every problem in one expression: syntax errors and instant vectors given to range functions. */
export function problems(expr: string): string[] {
  if (expr.trim() === "") return ["empty expression"];
  const tree = parse(expr);
  const found: string[] = [];
  walk(tree, (n) => {
    if (n.name === "⚠") {
      const near = expr.slice(Math.max(0, n.from - 15), n.from + 15).replace(/\s+/g, " ");
      found.push(`syntax error at character ${n.from + 1}, near "${near}"`);
    }
    if (n.name === "FunctionCall") {
      const fn = n.children.find((c) => c.name === "FunctionIdentifier")?.text ?? "";
      const first = n.children.find((c) => c.name === "FunctionCallBody")?.children[0];
      if ((RANGE_FUNCTIONS.has(fn) || fn.endsWith("_over_time")) && first && !["MatrixSelector", "SubqueryExpr"].includes(first.name)) {
        found.push(`${fn}() needs a range vector such as x[5m], got "${first.text}"`);
      }
    }
  });
  return [...new Set(found)];
}

/** Series selected: metric name (or undefined for {__name__=...}) and the label names matched. */
export function selectors(expr: string): { metric: string | undefined; labels: string[]; text: string }[] {
  return findAll(parse(expr), "VectorSelector").map((v) => ({
    metric: v.children.find((c) => c.name === "Identifier")?.text,
    labels: findAll(v, "LabelName").map((l) => l.text),
    text: v.text,
  }));
}

/** Value of a constant arithmetic expression such as `(14.4 * (1 - 0.999))`; undefined if not constant. */
export function constant(node: Node): number | undefined {
  switch (node.name) {
    case "NumberDurationLiteral":
    case "NumberLiteral": {
      const n = Number(node.text);
      return Number.isFinite(n) ? n : undefined;
    }
    case "ParenExpr":
      return node.children.length === 1 ? constant(node.children[0]!) : undefined;
    case "BinaryExpr": {
      const [left, op, right] = node.children;
      if (!left || !op || !right || node.children.length !== 3) return undefined;
      const a = constant(left);
      const b = constant(right);
      if (a === undefined || b === undefined) return undefined;
      return ({ Add: a + b, Sub: a - b, Mul: a * b, Div: a / b } as Record<string, number>)[op.name];
    }
    default:
      return undefined;
  }
}

/** `series > constant` comparisons inside each `and`, e.g. [[{series, threshold}, {...}], ...]. */
export function andedThresholds(expr: string): { series: string; threshold: number }[][] {
  const groups: { series: string; threshold: number }[][] = [];
  walk(parse(expr), (n) => {
    if (n.name !== "BinaryExpr" || n.children[1]?.name !== "And") return;
    const group: { series: string; threshold: number }[] = [];
    for (const side of [n.children[0]!, n.children[2]!]) {
      walk(side, (c) => {
        if (c.name !== "BinaryExpr" || c.children[1]?.name !== "Gtr") return;
        const [left, , right] = c.children;
        const threshold = right ? constant(right) : undefined;
        if (left?.name === "VectorSelector" && threshold !== undefined) group.push({ series: left.text, threshold });
      });
    }
    groups.push(group);
  });
  return groups;
}

/** Grafana expands these before the query reaches Prometheus; give them a sample value. */
export function expandGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, "5m");
}
