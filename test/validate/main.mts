// npm run validate: renders every cluster's GitOps tree offline, checks it,
// prints a compact report and exits non-zero on any problem.
import { formatReport } from "./format.mts";
import { validate } from "./validate.mts";

const started = Date.now();
const report = await validate();
console.log(formatReport(report, Date.now() - started));
process.exitCode = report.problems.length > 0 ? 1 : 0;
