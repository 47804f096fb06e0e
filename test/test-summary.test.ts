/**
 * The closing line CI reads must say "failed" whenever vitest did: reports recorded from vitest runs of a file
 * whose beforeAll throws (its test is skipped, none failed) and of a file whose passing test leaves an
 * unhandled rejection (vitest exits 1 with every test passed). scripts/test.sh also passes the exit status of
 * each static check (tsc --noEmit, ESLint, Prettier); each failed check is one failure, named.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SUMMARY = resolve(import.meta.dirname, '../scripts/test-summary.mjs');
const FIXTURES = resolve(import.meta.dirname, 'fixtures/test-summary');
const summary = (report: string, status: number, checks: string[] = []) =>
  execFileSync(process.execPath, [SUMMARY, report, String(status), ...checks])
    .toString()
    .trim()
    .split('\n');

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

  it('counts each static check that failed as one failure and names it, with every test passed', () => {
    const lines = summary(resolve(FIXTURES, 'unhandled.json'), 0, ['typecheck=0', 'eslint=1', 'prettier=2']);
    expect(lines.at(-1)).toBe('1 passed, 2 failed');
    expect(lines).toContain('test summary: eslint failed (exit status 1)');
    expect(lines).toContain('test summary: prettier failed (exit status 2)');
    expect(lines.join('\n')).not.toContain('typecheck');
  });

  it("adds failed checks to vitest's failures, also when vitest left no report, and passes when every check passed", () => {
    const hook = summary(resolve(FIXTURES, 'hook.json'), 1, ['typecheck=2', 'eslint=0', 'prettier=0']);
    expect(hook.at(-1)).toBe('0 passed, 2 failed, 1 skipped');
    expect(hook).toContain('test summary: typecheck failed (exit status 2)');
    expect(hook[0]).toMatch(/zz-hook\.test\.ts failed outside its tests/);
    const missing = summary(resolve(FIXTURES, 'missing.json'), 1, ['typecheck=0', 'eslint=1', 'prettier=0']);
    expect(missing.at(-1)).toBe('0 passed, 2 failed');
    expect(missing).toContain('test summary: eslint failed (exit status 1)');
    expect(summary(resolve(FIXTURES, 'unhandled.json'), 0, ['typecheck=0', 'eslint=0', 'prettier=0']).at(-1)).toBe('1 passed, 0 failed');
  });

  it('rejects a check argument that is not NAME=STATUS', () => {
    expect(() => execFileSync(process.execPath, [SUMMARY, resolve(FIXTURES, 'unhandled.json'), '0', 'eslint'], { stdio: 'pipe' })).toThrow(/expected CHECK=STATUS/);
  });
});
