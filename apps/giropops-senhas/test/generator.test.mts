import { test } from "uvu";
import * as assert from "uvu/assert";
import { DIGITS, InvalidLengthError, LETTERS, MAX_LENGTH, MIN_LENGTH, PUNCTUATION, generatePassword } from "../src/generator.mts";

const has = (text: string, set: string) => [...text].some((c) => set.includes(c));
const only = (text: string, set: string) => [...text].every((c) => set.includes(c));

test("returns exactly the requested length at both ends of the range", () => {
  for (const length of [MIN_LENGTH, 8, 33, MAX_LENGTH]) {
    assert.is(generatePassword({ length, digits: true, punctuation: true }).length, length);
  }
});

test("letters only when no other class is requested", () => {
  for (let i = 0; i < 200; i++) assert.ok(only(generatePassword({ length: 16, digits: false, punctuation: false }), LETTERS));
});

test("every requested class is present, even at the minimum length", () => {
  for (let i = 0; i < 2000; i++) {
    const senha = generatePassword({ length: MIN_LENGTH, digits: true, punctuation: true });
    assert.ok(has(senha, LETTERS) && has(senha, DIGITS) && has(senha, PUNCTUATION), senha);
    assert.ok(only(senha, LETTERS + DIGITS + PUNCTUATION), senha);
  }
  for (let i = 0; i < 500; i++) {
    const digitsOnly = generatePassword({ length: MIN_LENGTH, digits: true, punctuation: false });
    assert.ok(has(digitsOnly, DIGITS) && has(digitsOnly, LETTERS) && !has(digitsOnly, PUNCTUATION), digitsOnly);
    const punct = generatePassword({ length: MIN_LENGTH, digits: false, punctuation: true });
    assert.ok(has(punct, PUNCTUATION) && has(punct, LETTERS) && !has(punct, DIGITS), punct);
  }
});

test("the guaranteed characters land in every position (they are shuffled in)", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 400; i++) {
    const senha = generatePassword({ length: 8, digits: true, punctuation: false });
    [...senha].forEach((c, position) => DIGITS.includes(c) && seen.add(position));
  }
  assert.equal([...seen].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test("characters are spread evenly over the alphabet (chi-squared sanity check)", () => {
  const alphabet = LETTERS + DIGITS + PUNCTUATION;
  const counts = new Map<string, number>();
  const draws = 200 * 128;
  for (let i = 0; i < 200; i++) {
    for (const c of generatePassword({ length: 128, digits: true, punctuation: true })) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  assert.is(counts.size, alphabet.length, "every character appears");
  const expected = draws / alphabet.length;
  const chi2 = [...alphabet].reduce((sum, c) => sum + ((counts.get(c) ?? 0) - expected) ** 2 / expected, 0);
  // 93 degrees of freedom: the 99.99th percentile is about 160; a biased generator lands far above.
  assert.ok(chi2 < 170, `chi-squared ${chi2.toFixed(1)}`);
});

test("no two passwords repeat in a large sample", () => {
  const seen = new Set(Array.from({ length: 5000 }, () => generatePassword({ length: 12, digits: true, punctuation: false })));
  assert.is(seen.size, 5000);
});

test("rejects lengths outside the range and non-integers", () => {
  for (const length of [MIN_LENGTH - 1, MAX_LENGTH + 1, 0, -8, 8.5, Number.NaN, Infinity]) {
    assert.throws(() => generatePassword({ length, digits: true, punctuation: true }), (e: unknown) => e instanceof InvalidLengthError);
  }
  assert.throws(() => generatePassword({ length: "8" as unknown as number, digits: false, punctuation: false }), /tamanho must be an integer between 4 and 128/);
});

test.run();
