/**
 * `npm run reproduce [-- --data DIR] [--home DIR] [--out DIR] [--seeds N] [--no-readme]`: the paper's Note10 experiment on its
 * own inputs (scripts/reproduce-run.ts says what runs). DIR is laid out like ../shared/realdata (the default).
 * Writes reproduce.json and reproduce.md to --out (default bench/results) and the README's "Reproducing the paper"
 * table (--seeds N runs N seeds instead of the paper's 5, e.g. to resolve a comparison; use it with --no-readme);
 * the study's store and Temporal database stay in --home (default .blockscope/reproduce) for the Web UI:
 * `blockscope dev --home .blockscope/reproduce --devices .blockscope/reproduce/devices.yaml`.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { updateReadme } from './scale-processes.js';
import { DEFAULT_DATA, fig8Markdown, ROOT, runReproduction, table2Markdown } from './reproduce-run.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: DEFAULT_DATA },
    home: { type: 'string', default: resolve(ROOT, '.blockscope/reproduce') },
    out: { type: 'string', default: resolve(ROOT, 'bench/results') },
    seeds: { type: 'string' },
    'no-readme': { type: 'boolean', default: false },
  },
});
const log = (line: string) => process.stderr.write(`[reproduce ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

try {
  const seeds = values.seeds === undefined ? undefined : Number(values.seeds);
  if (seeds !== undefined && !(Number.isInteger(seeds) && seeds >= 1 && seeds <= 20)) throw new Error(`--seeds must be an integer from 1 to 20, got ${values.seeds}`);
  const result = await runReproduction({ data: values.data, home: values.home, out: values.out, log, ...(seeds !== undefined ? { overrides: { seeds } } : {}) });
  log(`done in ${(result.wallSeconds.total / 60).toFixed(1)} min: ${resolve(values.out, 'reproduce.md')}`);
  for (const t of result.targets) log(`${t.met ? 'met' : 'NOT MET'}: ${t.name}: ${t.detail}`);
  if (!values['no-readme']) {
    updateReadme(
      'reproduce',
      [
        `Measured by \`npm run reproduce\` at ${result.generatedAt} (${(result.wallSeconds.total / 60).toFixed(1)} min on this project's 2-core machine); every figure in bench/results/reproduce.md.`,
        '',
        table2Markdown(result),
        '',
        fig8Markdown(result),
      ].join('\n'),
    );
  }
} catch (error) {
  process.stderr.write(`reproduce: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
