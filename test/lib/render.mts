// The renderer lives in scripts/lib/render.mts (scripts/diff.mts uses it too);
// the tests keep importing it from here.
export * from "../../scripts/lib/render.mts";
