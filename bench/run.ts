/**
 * `npm run bench [-- --quick] [--only 1,3|efficiency,...] [--out FILE.json]`: runs the benchmark figures on
 * this machine, compares each against its target, writes FILE.json and FILE.md (default
 * bench/results/latest.json, or quick.json with --quick) and, after a run to either default file,
 * regenerates the README's Benchmarks section from latest.json.
 *
 * A results file holds the latest result of each figure: a run replaces the figures it ran and keeps the
 * others, so `--only` can refresh one figure.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, totalmem } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { onnxRuntimeNodeVersion } from '../activities/devices/index.js';
import { watchConditions } from './conditions.js';
import { BenchContext } from './context.js';
import { efficiency } from './figures/efficiency.js';
import { fairness } from './figures/fairness.js';
import type { Figure } from './figures/figure.js';
import { fidelity } from './figures/fidelity.js';
import { orchestration } from './figures/orchestration.js';
import { predictor } from './figures/predictor.js';
import { profiles } from './figures/profiles.js';
import { pruning } from './figures/pruning.js';
import { search } from './figures/search.js';
import { throughput } from './figures/throughput.js';
import { PROJECT_ROOT, setupPython } from './python.js';
import { renderMarkdown, updateReadme } from './report.js';
import { FIGURE_IDS, formatMiss, formatTarget, formatValue, type BenchResults, type FigureId, type FigureResult } from './results.js';

const FIGURES: Figure[] = [efficiency, fairness, fidelity, orchestration, throughput, predictor, search, profiles, pruning];
/**
 * Figures 1 and 3 take the shared pool's first measurements and pass 2 right after them; figure 6 extends
 * the pool and figure 5 reuses it; the Temporal server of figure 4 starts only once the measuring figures are done.
 */
const RUN_ORDER: FigureId[] = ['efficiency', 'fidelity', 'predictor', 'throughput', 'fairness', 'profiles', 'pruning', 'orchestration', 'search'];

const USAGE = 'usage: npm run bench -- [--quick] [--only IDS] [--out FILE.json]\n  IDS: comma-separated figure numbers (1-9) or names (' + FIGURE_IDS.join(', ') + ')';

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseSelection(only: string | undefined): Set<FigureId> {
  if (only === undefined) return new Set(FIGURE_IDS);
  const selected = new Set<FigureId>();
  for (const item of only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const figure = FIGURES.find((f) => f.id === item || String(f.number) === item);
    if (!figure) fail(`--only: unknown figure ${JSON.stringify(item)}`);
    selected.add(figure.id);
  }
  if (selected.size === 0) fail('--only: no figure named');
  return selected;
}

/** Read-only git queries; no index refresh (--no-optional-locks). */
function git(args: string[]): string | null {
  try {
    return execFileSync('git', ['--no-optional-locks', ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function previousFigures(file: string, mode: BenchResults['mode']): FigureResult[] {
  if (!existsSync(file)) return [];
  const previous = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
  return previous.kind === 'blockscope.bench/v1' && previous.mode === mode ? previous.figures : [];
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', default: false } } });
  } catch (error) {
    fail((error as Error).message);
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const mode = parsed.values.quick ? 'quick' : 'full';
  const selected = parseSelection(parsed.values.only);
  const defaultOut = resolve(PROJECT_ROOT, 'bench/results', mode === 'quick' ? 'quick.json' : 'latest.json');
  const out = parsed.values.out ? resolve(parsed.values.out) : defaultOut;
  if (!out.endsWith('.json')) fail('--out must name a .json file');

  const started = performance.now();
  const log = (message: string) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
  const pythonVersion = selected.has('fairness') ? await setupPython() : null;
  const ctx = new BenchContext(mode, log);
  const fresh: FigureResult[] = [];
  const failed: string[] = [];
  try {
    for (const id of RUN_ORDER.filter((id) => selected.has(id))) {
      const figure = FIGURES.find((f) => f.id === id)!;
      log(`figure ${figure.number}: ${figure.title}`);
      const conditions = watchConditions();
      const figureStarted = performance.now();
      try {
        const output = await figure.run(ctx);
        const result: FigureResult = {
          id: figure.id,
          number: figure.number,
          title: figure.title,
          ...output,
          seconds: (performance.now() - figureStarted) / 1000,
          ranAt: new Date().toISOString(),
          conditions: conditions(),
        };
        ctx.results.set(figure.id, result);
        fresh.push(result);
      } catch (error) {
        failed.push(`${figure.number} ${figure.id}: ${(error as Error).stack ?? String(error)}`);
        log(`figure ${figure.number} failed: ${(error as Error).message}`);
      }
    }
  } finally {
    await ctx.close();
  }

  const ranIds = new Set(fresh.map((f) => f.id));
  const figures = [...previousFigures(out, mode).filter((f) => !ranIds.has(f.id)), ...fresh].sort((a, b) => a.number - b.number);
  const results: BenchResults = {
    kind: 'blockscope.bench/v1',
    mode,
    generatedAt: new Date().toISOString(),
    totalSeconds: (performance.now() - started) / 1000,
    host: { cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), platform: `${platform()}`, node: process.version },
    versions: {
      onnxruntimeNode: onnxRuntimeNodeVersion(),
      onnxruntimePython: pythonVersion,
      commit: git(['rev-parse', 'HEAD']),
      dirty: (() => {
        const status = git(['status', '--porcelain']);
        return status === null ? null : status.length > 0;
      })(),
    },
    figures,
  };
  if (figures.length > 0) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(out.replace(/\.json$/, '.md'), renderMarkdown(results));
    log(`wrote ${relative(process.cwd(), out)} and its .md`);
    // The README shows the latest full run's table and the durations of both default runs.
    const [latest, quick] = ['latest.json', 'quick.json'].map((f) => resolve(PROJECT_ROOT, 'bench/results', f));
    if ((out === latest || out === quick) && existsSync(latest)) {
      updateReadme(resolve(PROJECT_ROOT, 'README.md'), latest, relative(PROJECT_ROOT, latest), quick);
      log('updated the Benchmarks section of README.md');
    }
  }
  for (const figure of fresh) {
    for (const c of figure.checks) log(`${figure.number}. ${c.label}: ${formatValue(c.value, c.format)} (target ${formatTarget(c.target, c.format)}) ${c.met ? 'met' : formatMiss(c)}`);
  }
  if (failed.length > 0) {
    process.stderr.write(`bench: ${failed.length} figure(s) failed:\n${failed.join('\n')}\n`);
    process.exitCode = 1;
  }
}

await main();
