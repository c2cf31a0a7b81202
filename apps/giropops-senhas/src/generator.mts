// Password generation: pure, CSPRNG-backed, every requested class guaranteed.
import { randomInt } from "node:crypto";

export const MIN_LENGTH = 4;
export const MAX_LENGTH = 128;
export const DEFAULT_LENGTH = 8;

// The same alphabets as the original (Python's string.ascii_letters, digits, punctuation).
export const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
export const DIGITS = "0123456789";
export const PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

export type PasswordOptions = { length: number; digits: boolean; punctuation: boolean };

export class InvalidLengthError extends RangeError {
  constructor(length: unknown) {
    super(`tamanho must be an integer between ${MIN_LENGTH} and ${MAX_LENGTH} (got ${String(length)})`);
    this.name = "InvalidLengthError";
  }
}

export function isValidLength(length: unknown): length is number {
  return Number.isInteger(length) && (length as number) >= MIN_LENGTH && (length as number) <= MAX_LENGTH;
}

/**
 * One character from each requested class first, the rest from the union, then
 * a Fisher-Yates shuffle so the guaranteed characters sit at random positions.
 * randomInt draws without modulo bias.
 */
export function generatePassword({ length, digits, punctuation }: PasswordOptions): string {
  if (!isValidLength(length)) throw new InvalidLengthError(length);
  const classes = [LETTERS];
  if (digits) classes.push(DIGITS);
  if (punctuation) classes.push(PUNCTUATION);
  const all = classes.join("");
  const chars: string[] = classes.map((set) => set[randomInt(set.length)]!);
  while (chars.length < length) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join("");
}
