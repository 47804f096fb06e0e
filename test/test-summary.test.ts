/**
 * The closing line CI reads must say "failed" whenever vitest did: reports recorded from vitest runs of a file
 * whose beforeAll throws (its test is skipped, none failed) and of a file whose passing test leaves an
 * unhandled rejection (vitest exits 1 with every test passed).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SUMMARY = resolve(import.meta.dirname, '../scripts/test-summary.mjs');
const FIXTURES = resolve(import.meta.dirname, 'fixtures/test-summary');
const summary = (report: string, status: number) => execFileSync(process.execPath, [SUMMARY, report, String(status)]).toString().trim().split('\n');

describe('scripts/test-summary.mjs', () => {
  it('counts a file whose beforeAll failed as a failure and names it', () => {
    const lines = summary(resolve(FIXTURES, 'hook.json'), 1);
    expect(lines.at(-1)).toBe('0 passed, 1 failed, 1 skipped');
    expect(lines[0]).toMatch(/zz-hook\.test\.ts failed outside its tests/);
  });

  it('counts a non-zero exit with every test passed (an unhandled error) as a failure', () => {
    const lines = summary(resolve(FIXTURES, 'unhandled.json'), 1);
    expect(lines.at(-1)).toBe('1 passed, 1 failed');
    expect(lines[0]).toContain('vitest exited with status 1');
  });

  it('reports a passing run as passing, and a missing report as a failure', () => {
    expect(summary(resolve(FIXTURES, 'unhandled.json'), 0).at(-1)).toBe('1 passed, 0 failed');
    expect(summary(resolve(FIXTURES, 'missing.json'), 1).at(-1)).toBe('0 passed, 1 failed');
  });
});
