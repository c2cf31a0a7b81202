// Types for node-version.mjs (plain JavaScript: it must run on a Node too old for .mts).
export declare function requiredRange(): string;
export declare function satisfies(version: string, range: string): boolean;
export declare function nodeVersionProblem(version?: string, range?: string): string | undefined;
