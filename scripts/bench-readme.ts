/**
 * Regenerates the Benchmarks section of README.md (between `<!-- bench:start -->` and `<!-- bench:end -->`)
 * from a bench results file, by default bench/results/latest.json: `npx tsx scripts/bench-readme.ts [FILE.json]`.
 */
import { relative, resolve } from 'node:path';
import { PROJECT_ROOT } from '../bench/python.js';
import { updateReadme } from '../bench/report.js';

const file = resolve(process.argv[2] ?? resolve(PROJECT_ROOT, 'bench/results/latest.json'));
updateReadme(resolve(PROJECT_ROOT, 'README.md'), file, relative(PROJECT_ROOT, file), resolve(PROJECT_ROOT, 'bench/results/quick.json'));
process.stdout.write(`README.md: Benchmarks section regenerated from ${relative(process.cwd(), file)}\n`);
