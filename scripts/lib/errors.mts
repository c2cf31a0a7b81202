// Errors a user can cause (a missing tool, a bad flag, a bad .env, an
// unreachable cluster) are values with a message and a fix. The command's
// top level prints them as a short block and exits non-zero; anything else is
// a programming error and keeps its stack.

export class UserError extends Error {
  readonly fix: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: { fix?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "UserError";
    this.fix = options.fix;
    this.exitCode = options.exitCode ?? 1;
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/** The text a person sees for a user error: the message, then the fix if there is one. */
export function describeUserError(error: UserError): string {
  return error.fix ? `${error.message}\n  fix: ${error.fix}` : error.message;
}
