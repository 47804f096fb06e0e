// Prints the plain closing line CI reads ("N passed, N failed") from vitest's JSON report, vitest's exit
// status and the exit status of each static check scripts/test.sh ran before it
// (`node scripts/test-summary.mjs REPORT STATUS [CHECK=STATUS ...]`, e.g. `typecheck=0 eslint=1 prettier=0`).
// A run counts as failed whenever vitest said so: failed tests; a file whose hooks failed (a beforeAll that could
// not start MinIO or Temporal leaves its tests skipped, an afterAll failure leaves them passed) or that did not
// load, one failure each, named; and a non-zero exit with none of those (unhandled errors), one failure. Each
// check that exited non-zero is one more failure, named ("eslint failed").
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const file = process.argv[2] ?? 'test-results/vitest.json';
const status = Number(process.argv[3] ?? 0);
const checks = process.argv.slice(4).map((arg) => {
  const match = /^([\w:.-]+)=(-?\d+)$/.exec(arg);
  if (!match) {
    console.error(`test summary: expected CHECK=STATUS, got ${JSON.stringify(arg)}`);
    process.exit(2);
  }
  return { name: match[1], status: Number(match[2]) };
});
const failedChecks = checks.filter((check) => check.status !== 0);
const reportChecks = () => {
  for (const check of failedChecks) console.log(`test summary: ${check.name} failed (exit status ${check.status})`);
};
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.log(`test summary: no vitest report at ${file} (${error.code ?? error.message}); vitest exited with status ${status}`);
  reportChecks();
  console.log(`0 passed, ${1 + failedChecks.length} failed`);
  process.exit(0);
}
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const name = (result) => relative(process.cwd(), result.name ?? '?');
// Files vitest failed although none of their tests did: a failing hook, a file that does not load.
const failedFiles = (report.testResults ?? []).filter((r) => r.status === 'failed' && !(r.assertionResults ?? []).some((a) => a.status === 'failed'));
for (const result of failedFiles) console.log(`test summary: ${name(result)} failed outside its tests: ${(result.message ?? '').split('\n')[0] || 'no message'}`);
for (const result of (report.testResults ?? []).filter((r) => (r.assertionResults ?? []).some((a) => a.status === 'failed'))) {
  console.log(`test summary: ${name(result)}: ${result.assertionResults.filter((a) => a.status === 'failed').length} failed test(s)`);
}
let failed = (report.numFailedTests ?? 0) + failedFiles.length;
if (status !== 0 && failed === 0) {
  console.log(`test summary: vitest exited with status ${status} with no failed test or file (unhandled errors): counted as one failure`);
  failed = 1;
}
reportChecks();
console.log(`${report.numPassedTests} passed, ${failed + failedChecks.length} failed${skipped ? `, ${skipped} skipped` : ''}`);
