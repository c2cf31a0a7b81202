// What a person sees. On a terminal, long steps get an ora spinner and live
// progress redraws in place; anywhere else (CI, tests, `| tee`) the same calls
// print plain lines, and live progress prints only the lines that changed.
import ora, { type Ora } from "ora";
import { question } from "zx";
import { UserError } from "./errors.mts";
import type { Streams } from "./runtime.mts";

export type StepHandle = {
  /** Replaces the live progress text (may span several lines). */
  update(text: string): void;
  /** The line shown when the step ends, e.g. "reused cluster giropops". */
  done(summary: string): void;
};

export type Ui = {
  step<T>(title: string, work: (step: StepHandle) => Promise<T>): Promise<T>;
  section(title: string): void;
  line(text?: string): void;
  info(text: string): void;
  warn(text: string): void;
  success(text: string): void;
  error(text: string): void;
  /** Output of an external command a person wants to watch (tofu plan). */
  echo(chunk: string): void;
  /** Asks a yes/no question; without a terminal it refuses rather than guess. */
  confirm(prompt: string, fixWhenNotInteractive: string): Promise<boolean>;
  /** The step running now, for the Ctrl-C message. */
  readonly currentStep: string | undefined;
  /** Stops any spinner (on Ctrl-C or a fatal error). */
  stop(): void;
  readonly color: Colors;
};

export type Colors = Record<"bold" | "dim" | "red" | "green" | "yellow" | "cyan", (text: string) => string>;

function colors(enabled: boolean): Colors {
  const paint = (open: number, close: number) => (text: string) => (enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return { bold: paint(1, 22), dim: paint(2, 22), red: paint(31, 39), green: paint(32, 39), yellow: paint(33, 39), cyan: paint(36, 39) };
}

export type UiOptions = {
  streams: Pick<Streams, "out" | "err" | "input">;
  /** Defaults to whether stdout is a terminal. */
  interactive?: boolean;
  env?: Record<string, string | undefined>;
};

export function createUi(options: UiOptions): Ui {
  const { out, err, input } = options.streams;
  const env = options.env ?? {};
  const tty = options.interactive ?? (out.isTTY === true && !env.CI);
  const c = colors(tty && env.NO_COLOR === undefined && env.FORCE_COLOR !== "0");
  // ora 9.4.1 divides by the stream's width to count the lines it redraws: a
  // terminal that reports 0 columns (script, ssh -tt, docker exec -t from a
  // script) makes that count infinite and ora loops for ever writing cursor
  // codes. No width, no spinner: the same plain lines as without a terminal.
  const spin = tty && (out.columns ?? 0) > 0;
  const write = (text: string) => void out.write(`${text}\n`);
  let spinner: Ora | undefined;
  let current: string | undefined;
  let printed: string[] = [];

  // Plain output: print only progress lines that were not printed last time.
  const plainUpdate = (text: string) => {
    const lines = text.split("\n");
    for (const line of lines) if (!printed.includes(line)) write(`  ${line}`);
    printed = lines;
  };

  const aside = (text: string) => {
    if (spinner?.isSpinning) {
      spinner.clear();
      write(text);
      spinner.render();
    } else write(text);
  };

  return {
    color: c,
    get currentStep() {
      return current;
    },
    async step(title, work) {
      current = title;
      printed = [];
      let summary: string | undefined;
      const started = Date.now();
      if (spin) spinner = ora({ text: title, stream: out, discardStdin: false, isEnabled: true }).start();
      else write(`${c.cyan("›")} ${title}`);
      const handle: StepHandle = {
        update(text) {
          if (spinner) spinner.text = `${title}\n${text}`;
          else plainUpdate(text);
        },
        done(text) {
          summary = text;
        },
      };
      try {
        const result = await work(handle);
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        const text = `${title}${summary ? `: ${summary}` : ""} ${c.dim(`(${seconds}s)`)}`;
        if (spinner) spinner.succeed(text);
        else write(`${c.green("✔")} ${text}`);
        current = undefined;
        return result;
      } catch (error) {
        if (spinner) spinner.fail(title);
        else write(`${c.red("✖")} ${title}`);
        throw error;
      } finally {
        spinner = undefined;
      }
    },
    section(title) {
      aside(`\n${c.bold(title)}`);
    },
    line(text = "") {
      aside(text);
    },
    info(text) {
      aside(`  ${text}`);
    },
    warn(text) {
      aside(`${c.yellow("!")} ${text}`);
    },
    success(text) {
      aside(`${c.green("✔")} ${text}`);
    },
    error(text) {
      spinner?.stop();
      err.write(`${c.red("error:")} ${text}\n`);
    },
    echo(chunk) {
      // The command's own output takes over the terminal; the step's final line still follows.
      if (spinner?.isSpinning) spinner.stop();
      out.write(c.dim(chunk));
    },
    async confirm(prompt, fixWhenNotInteractive) {
      if (!input.isTTY) throw new UserError(`${prompt} — cannot ask without a terminal`, { fix: fixWhenNotInteractive });
      spinner?.stop();
      // zx's question reads one line from a terminal; its types name the tty
      // streams, and any readable/writable pair works at run time (tests pass ones).
      const answer = await question(`${c.yellow("?")} ${prompt} [y/N] `, {
        input: input as NodeJS.ReadStream,
        output: out as NodeJS.WriteStream,
      });
      return /^y(es)?$/i.test(answer.trim());
    },
    stop() {
      spinner?.stop();
      spinner = undefined;
    },
  };
}

/** A plain text table: one header row, columns padded to the widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)));
  const format = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [format(headers), ...rows.map(format)].join("\n");
}
