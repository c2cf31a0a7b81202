// Kubernetes resource quantities ("500m", "1Gi", "1e3") parsed and compared the
// way k8s.io/apimachinery v0.36.3 does (the version Kyverno v1.19.0 builds
// with): pkg/api/resource/quantity.go ParseQuantity, Cmp and Sign, and
// suffix.go's suffix table. The policies compare requests and limits through
// Kubernetes CEL's quantity library (k8s.io/apiserver pkg/cel/library/quantity.go),
// which @bufbuild/cel lacks; quantityFuncs below are that library's functions
// for the offline evaluator.
import { celFunc, celMethod, celMap, isCelMap, CelScalar, mapType } from "@bufbuild/cel";
import type { CelMap } from "@bufbuild/cel";

/** sign × unscaled × 10^-scale, with unscaled ≥ 0 (0 only when sign is 0). */
export type Quantity = { sign: -1 | 0 | 1; unscaled: bigint; scale: number };

// apimachinery's three parse errors, same text.
const FORMAT_WRONG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const NUMERIC = "unable to parse numeric part of quantity";
const SUFFIX = "unable to parse quantity's suffix";

export class QuantityError extends Error {}

const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const SUFFIX_LETTERS = "eEinumkKMGTP";
const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

type Parts = { positive: boolean; value: string; num: string; denom: string; suffix: string };

// The scanner of parseQuantityString: [sign] zeros numerator [. denominator] suffix.
function split(str: string): Parts {
  let pos = 0;
  let positive = true;
  if (str[0] === "-") (positive = false), pos++;
  else if (str[0] === "+") pos++;
  while (pos < str.length && str[pos] === "0") pos++;
  if (pos >= str.length) return { positive, value: "0", num: "0", denom: "", suffix: "" };
  let i = pos;
  while (isDigit(str[i])) i++;
  if (i >= str.length) return { positive, value: str, num: str.slice(pos), denom: "", suffix: "" };
  const num = str.slice(pos, i) || "0";
  pos = i;
  let denom = "";
  if (str[pos] === ".") {
    pos++;
    i = pos;
    while (isDigit(str[i])) i++;
    denom = str.slice(pos, i);
    if (i >= str.length) return { positive, value: str, num, denom, suffix: "" };
    pos = i;
  }
  const value = str.slice(0, pos);
  const suffixStart = pos;
  while (pos < str.length && SUFFIX_LETTERS.includes(str[pos]!)) pos++;
  if (str[pos] === "-" || str[pos] === "+") pos++;
  while (isDigit(str[pos])) pos++;
  if (pos < str.length) throw new QuantityError(FORMAT_WRONG);
  return { positive, value, num, denom, suffix: str.slice(suffixStart) };
}

// quantitySuffixer.interpret: the tables, then e<int64> / E<int64> truncated to int32 as Go's int32() does.
function interpret(suffix: string): { base: 10 | 2; exponent: number; binary: boolean } {
  if (suffix in DECIMAL) return { base: 10, exponent: DECIMAL[suffix]!, binary: false };
  if (suffix in BINARY) return { base: 2, exponent: BINARY[suffix]!, binary: true };
  if (suffix.length > 1 && (suffix[0] === "e" || suffix[0] === "E") && /^[+-]?[0-9]+$/.test(suffix.slice(1))) {
    const parsed = BigInt(suffix.slice(1));
    if (parsed >= INT64_MIN && parsed <= INT64_MAX) return { base: 10, exponent: Number(BigInt.asIntN(32, parsed)), binary: false };
  }
  throw new QuantityError(SUFFIX);
}

const digits = (n: bigint) => (n === 0n ? 0 : n.toString().length);

function normalise(sign: -1 | 0 | 1, unscaled: bigint, scale: number): Quantity {
  return unscaled === 0n ? { sign: 0, unscaled: 0n, scale: 0 } : { sign, unscaled, scale };
}

/** resource.ParseQuantity: the value, or a QuantityError with apimachinery's message. */
export function parseQuantity(str: string): Quantity {
  if (str.length === 0) throw new QuantityError(FORMAT_WRONG);
  if (str === "0") return { sign: 0, unscaled: 0n, scale: 0 };
  const { positive, value, num, denom, suffix } = split(str);
  const { base, exponent, binary } = interpret(suffix);
  const sign = positive ? 1 : -1;

  // The int64 fast path: exact, no rounding, no cap. Go takes it when the
  // digits fit its precision estimate and the scale is at least nano.
  let precision: number;
  let scale = 0;
  let mantissa = 1n;
  if (!binary) {
    scale = exponent;
    precision = 18 - (num.length + denom.length);
  } else if (exponent >= 0 && denom.length === 0) {
    mantissa = 1n << BigInt(exponent);
    precision = 15 - num.length - Math.trunc((exponent * 3) / 10) - 1;
  } else {
    precision = -1;
  }
  if (precision >= 0) {
    scale -= denom.length;
    if (scale >= -9) {
      const result = BigInt(num + denom) * mantissa;
      if (result <= INT64_MAX) return normalise(sign, result, -scale);
    }
  }

  // The inf.Dec path: SetString(value) needs a digit; then the exact value is
  // rounded away from zero to nano precision, and binary ones are capped at int64.
  const match = /^[+-]?([0-9]*)(?:\.([0-9]*))?$/.exec(value);
  if (!match || !/[0-9]/.test(value)) throw new QuantityError(NUMERIC);
  const [, whole = "", fraction = ""] = match;
  let unscaled = BigInt((whole + fraction) || "0");
  let decScale = fraction.length;
  if (base === 10) decScale -= exponent;
  else unscaled <<= BigInt(exponent);
  if (unscaled !== 0n && decScale > 9) {
    const drop = decScale - 9;
    if (drop > digits(unscaled)) unscaled = 1n;
    else {
      const divisor = 10n ** BigInt(drop);
      unscaled = (unscaled + divisor - 1n) / divisor;
    }
    decScale = 9;
  }
  if (binary && compareMagnitude(unscaled, decScale, INT64_MAX, 0) > 0) (unscaled = INT64_MAX), (decScale = 0);
  return normalise(sign, unscaled, decScale);
}

// |a| vs |b| for a = ua×10^-sa, b = ub×10^-sb, without expanding huge exponents.
function compareMagnitude(ua: bigint, sa: number, ub: bigint, sb: number): -1 | 0 | 1 {
  if (ua === 0n || ub === 0n) return ua === ub ? 0 : ua === 0n ? -1 : 1;
  const orderA = digits(ua) - sa;
  const orderB = digits(ub) - sb;
  if (orderA !== orderB) return orderA > orderB ? 1 : -1;
  const scale = Math.max(sa, sb);
  const a = ua * 10n ** BigInt(scale - sa);
  const b = ub * 10n ** BigInt(scale - sb);
  return a === b ? 0 : a > b ? 1 : -1;
}

/** Quantity.Cmp. */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  if (a.sign !== b.sign) return a.sign > b.sign ? 1 : -1;
  const magnitude = compareMagnitude(a.unscaled, a.scale, b.unscaled, b.scale);
  return (a.sign >= 0 ? magnitude : -magnitude) as -1 | 0 | 1;
}

// @bufbuild/cel has no opaque types: a quantity travels as a one-key map
// holding its text, and every quantity function refuses any other map.
const TAG = "k8s.io/apimachinery Quantity";
const QUANTITY = mapType(CelScalar.DYN, CelScalar.DYN);
const wrap = (text: string) => celMap(new Map([[TAG, text]]));
function unwrap(value: CelMap): Quantity {
  const text = isCelMap(value) && value.size === 1 ? value.get(TAG) : undefined;
  if (typeof text !== "string") throw new Error("no such overload: not a quantity");
  return parseQuantity(text);
}

/** Kubernetes CEL's quantity library, as far as the policies may use it (same names and receivers). */
export const quantityFuncs = [
  celFunc("quantity", [CelScalar.STRING], QUANTITY, (text) => (parseQuantity(text), wrap(text))),
  celFunc("isQuantity", [CelScalar.STRING], CelScalar.BOOL, (text) => {
    try {
      parseQuantity(text);
      return true;
    } catch {
      return false;
    }
  }),
  // A global function in apiserver v0.36.3 (cel.Overload, not cel.MemberOverload): sign(q), never q.sign().
  celFunc("sign", [QUANTITY], CelScalar.INT, (q) => BigInt(unwrap(q).sign)),
  celMethod("isGreaterThan", QUANTITY, [QUANTITY], CelScalar.BOOL, function (other) {
    return compareQuantities(unwrap(this), unwrap(other)) === 1;
  }),
  celMethod("isLessThan", QUANTITY, [QUANTITY], CelScalar.BOOL, function (other) {
    return compareQuantities(unwrap(this), unwrap(other)) === -1;
  }),
  celMethod("compareTo", QUANTITY, [QUANTITY], CelScalar.INT, function (other) {
    return BigInt(compareQuantities(unwrap(this), unwrap(other)));
  }),
];
