// The offline evaluator's Kubernetes quantities (lib/quantity.mts) against the
// expectations of k8s.io/apimachinery v0.36.3's own pkg/api/resource/quantity_test.go
// (TestQuantityParse, TestQuantityCmp, TestParseQuantityString), and the CEL
// functions against k8s.io/apiserver v0.36.3 pkg/cel/library/quantity.go.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { compareQuantities, parseQuantity, QuantityError } from "./lib/quantity.mts";
import type { Quantity } from "./lib/quantity.mts";
import { cel } from "./lib/admission.mts";

const KI = 1024n;
const MAX_ALLOWED = (1n << 63n) - 1n;

// decQuantity(value, scale) in quantity_test.go: value × 10^scale.
const dec = (value: bigint | number, scale: number): Quantity => {
  const v = BigInt(value);
  const sign = v === 0n ? 0 : v > 0n ? 1 : -1;
  return { sign, unscaled: v < 0n ? -v : v, scale: -scale } as Quantity;
};

// TestQuantityParse's table (its duplicates left out).
const PARSE: Array<[string, Quantity]> = [
  ["0", dec(0, 0)], ["0n", dec(0, 0)], ["0u", dec(0, 0)], ["0m", dec(0, 0)], ["0Ki", dec(0, 0)], ["0k", dec(0, 0)],
  ["0Mi", dec(0, 0)], ["0M", dec(0, 0)], ["0Gi", dec(0, 0)], ["0G", dec(0, 0)], ["0Ti", dec(0, 0)], ["0T", dec(0, 0)],
  ["1", dec(1, 0)],
  ["1Ki", dec(KI, 0)], ["8Ki", dec(8n * KI, 0)], ["7Mi", dec(7n * KI ** 2n, 0)], ["6Gi", dec(6n * KI ** 3n, 0)],
  ["5Ti", dec(5n * KI ** 4n, 0)], ["4Pi", dec(4n * KI ** 5n, 0)], ["3Ei", dec(3n * KI ** 6n, 0)],
  ["10Ti", dec(10n * KI ** 4n, 0)], ["100Ti", dec(100n * KI ** 4n, 0)],
  ["5n", dec(5, -9)], ["4u", dec(4, -6)], ["3m", dec(3, -3)], ["9", dec(9, 0)], ["8k", dec(8, 3)], ["50k", dec(5, 4)],
  ["7M", dec(7, 6)], ["6G", dec(6, 9)], ["5T", dec(5, 12)], ["40T", dec(4, 13)], ["300T", dec(3, 14)], ["2P", dec(2, 15)], ["1E", dec(1, 18)],
  ["1E-3", dec(1, -3)], ["1e3", dec(1, 3)], ["1E6", dec(1, 6)], ["1e9", dec(1, 9)], ["1E12", dec(1, 12)], ["1e15", dec(1, 15)], ["1E18", dec(1, 18)],
  ["1e14", dec(1, 14)], ["1e13", dec(1, 13)], ["100.035k", dec(100035, 0)],
  ["0.001", dec(1, -3)], ["0.0005k", dec(5, -1)], ["0.005", dec(5, -3)], ["0.05", dec(5, -2)], ["0.5", dec(5, -1)],
  ["0.00050k", dec(5, -1)], ["0.00500", dec(5, -3)], ["0.05000", dec(5, -2)], ["0.50000", dec(5, -1)],
  ["0.5e0", dec(5, -1)], ["0.5e-1", dec(5, -2)], ["0.5e-2", dec(5, -3)], ["10.035M", dec(10035, 3)],
  ["1.2e3", dec(12, 2)], ["1.3E+6", dec(13, 5)], ["1.40e9", dec(14, 8)], ["1.53E12", dec(153, 10)], ["1.6e15", dec(16, 14)], ["1.7E18", dec(17, 17)],
  ["9.01", dec(901, -2)], ["8.1k", dec(81, 2)], ["7.123456M", dec(7123456, 0)], ["6.987654321G", dec(6987654321, 0)],
  ["5.444T", dec(5444, 9)], ["40.1T", dec(401, 11)], ["300.2T", dec(3002, 11)], ["2.5P", dec(25, 14)], ["1.01E", dec(101, 16)],
  // Things that saturate/round
  ["3.001n", dec(4, -9)], ["1.1E-9", dec(2, -9)], ["0.0000000001", dec(1, -9)], ["0.0000000005", dec(1, -9)],
  ["0.00000000050", dec(1, -9)], ["0.5e-9", dec(1, -9)], ["0.9n", dec(1, -9)], ["0.00000012345", dec(124, -9)],
  ["0.00000012354", dec(124, -9)], ["9Ei", dec(MAX_ALLOWED, 0)], ["9223372036854775807Ki", dec(MAX_ALLOWED, 0)], ["12E", dec(12, 18)],
  // Fractional binary
  ["100.035Ki", dec(10243584, -2)], ["0.5Mi", dec(512n * KI, 0)], ["0.05Gi", dec(536870912, -1)], ["0.025Ti", dec(274877906944, -1)],
  // "Things written by trolls"
  ["0.000000000001Ki", dec(2, -9)], [".001", dec(1, -3)], [".0001k", dec(100, -3)], ["1.", dec(1, 0)], ["1.G", dec(1, 9)],
  // TestParseQuantityString's "." and "-.": a numerator of "0"
  [".", dec(0, 0)], ["-.", dec(0, 0)],
];

const negate = (q: Quantity): Quantity => ({ ...q, sign: -q.sign as Quantity["sign"] });

test("ParseQuantity's table: each value, its negation and an explicit +", () => {
  for (const [input, expected] of PARSE) {
    assert.is(compareQuantities(parseQuantity(input), expected), 0, input);
    if (input.startsWith("-")) continue;
    assert.is(compareQuantities(parseQuantity(`-${input}`), negate(expected)), 0, `-${input}`);
    assert.is(compareQuantities(parseQuantity(`+${input}`), expected), 0, `+${input}`);
  }
});

test("ParseQuantity's invalid inputs are errors, with apimachinery's messages", () => {
  for (const input of ["", "1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-", " 1", "1 "])
    assert.throws(() => parseQuantity(input), (e: unknown) => e instanceof QuantityError, JSON.stringify(input));
  assert.throws(() => parseQuantity("1 "), /quantities must match the regular expression/);
  assert.throws(() => parseQuantity("1i"), /unable to parse quantity's suffix/);
  // Below nano the inf.Dec path parses the numeric part, and "." has no digit.
  assert.throws(() => parseQuantity(".e-10"), /unable to parse numeric part of quantity/);
});

test("Cmp: TestQuantityCmp's table, and sizes far past int64", () => {
  const cmp = (x: string, y: string) => compareQuantities(parseQuantity(x), parseQuantity(y));
  assert.is(cmp("0", "0"), 0);
  assert.is(cmp("100m", "50m"), 1);
  assert.is(cmp("50m", "100m"), -1);
  assert.is(cmp("10000T", "100Gi"), 1);
  assert.is(cmp("1Ei", "1E"), 1);
  assert.is(cmp("1e1000", "2"), 1);
  assert.is(cmp("-1e1000", "2"), -1);
  assert.is(cmp("1e-1000", "0"), 1, "rounded up to 1n, never to zero");
  assert.is(cmp("1e-1000", "1n"), 0);
  assert.is(cmp("1000m", "1"), 0);
  assert.is(cmp("4096Mi", "4Gi"), 0);
});

test("the CEL functions: quantity, isQuantity, sign (global), isGreaterThan, isLessThan, compareTo", () => {
  assert.is(cel("quantity('1Gi').isGreaterThan(quantity('1G'))", {}), true);
  assert.is(cel("quantity('500m').isLessThan(quantity('1'))", {}), true);
  assert.is(cel("quantity('1').compareTo(quantity('1000m'))", {}), 0n);
  assert.is(cel("sign(quantity('-0.5'))", {}), -1n);
  assert.is(cel("sign(quantity('0Ki'))", {}), 0n);
  assert.is(cel("isQuantity('1Gi')", {}), true);
  assert.is(cel("isQuantity('1GB')", {}), false);
  // quantity() of a non-quantity is an error, as types.WrapErr(err) makes it in Kubernetes.
  assert.throws(() => cel("quantity('1GB').isGreaterThan(quantity('0'))", {}), /quantities must match the regular expression/);
  assert.throws(() => cel("quantity('1K').isGreaterThan(quantity('0'))", {}), /unable to parse quantity's suffix/);
  // sign is no method in apiserver v0.36.3, and a plain map is no quantity.
  assert.throws(() => cel("quantity('1').sign() == 1", {}));
  assert.throws(() => cel("{'a': 'b'}.isGreaterThan(quantity('0'))", {}));
});

test.run();
