/** Markdown from a results file: the readable bench/results/*.md and the README's Benchmarks section. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { formatMiss, formatMs, formatPercent, formatTarget, formatValue, type BenchResults, type FigureResult } from './results.js';

export const README_START = '<!-- bench:start -->';
export const README_END = '<!-- bench:end -->';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** One row per check, or per summary line for a figure without targets. */
function summaryRows(figure: FigureResult): string[] {
  if (figure.checks.length > 0) {
    return figure.checks.map(
      (c) =>
        `| ${figure.number} | ${cell(figure.title)}: ${cell(c.label)} | ${formatValue(c.value, c.format)} | ${formatTarget(c.target, c.format)} | ${c.met ? 'met' : formatMiss(c)} |`,
    );
  }
  return figure.summary.map((h) => `| ${figure.number} | ${cell(figure.title)}: ${cell(h.label)} | ${cell(h.value)} | – | – |`);
}

function summaryTable(results: BenchResults): string[] {
  return ['| # | figure | measured | target | result |', '| --- | --- | --- | --- | --- |', ...results.figures.flatMap(summaryRows)];
}

/** The 1-minute load range over the figures and the mean share of busy cores, weighted by figure time. */
function machineLoad(results: BenchResults): string {
  const loads = results.figures.flatMap((f) => [f.conditions.loadBefore[0]!, f.conditions.loadAfter[0]!]);
  const busy = results.figures.filter((f) => f.conditions.cpuBusy !== null);
  const seconds = busy.reduce((a, f) => a + f.seconds, 0);
  const meanBusy = seconds > 0 ? busy.reduce((a, f) => a + f.conditions.cpuBusy! * f.seconds, 0) / seconds : null;
  return `1-minute load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${results.host.cores} cores${meanBusy === null ? '' : `, cores ${formatPercent(meanBusy)} busy on average`}`;
}

/** What the figures of a results file took together: each figure's own time (`--only` merges figures from several runs). */
function figureTime(results: BenchResults): string {
  return formatMs(results.figures.reduce((acc, f) => acc + f.seconds, 0) * 1000);
}

function provenance(results: BenchResults): string {
  const { host, versions } = results;
  const commit = versions.commit ? `commit ${versions.commit.slice(0, 12)}${versions.dirty ? ' with local changes' : ''}` : 'no commit recorded';
  return (
    `${results.mode} mode, ${results.generatedAt}, ${results.figures.length} figures in ${figureTime(results)} on ${host.cpu} (${host.cores} cores, ${host.memoryGiB} GiB), ` +
    `Node ${host.node}, onnxruntime-node ${versions.onnxruntimeNode}${versions.onnxruntimePython ? `, pip onnxruntime ${versions.onnxruntimePython}` : ''}, ${commit}`
  );
}

export function renderMarkdown(results: BenchResults): string {
  const lines = [
    `# blockscope benchmarks (${results.mode} mode)`,
    '',
    `Written by \`npm run bench${results.mode === 'quick' ? ' -- --quick' : ''}\`: ${provenance(results)}.`,
    '',
    `The machine is shared with other work, so timings carry its noise: ${machineLoad(results)} during the run, this run's own work included (per figure below).`,
    '',
    '## Summary',
    '',
    ...summaryTable(results),
  ];
  for (const figure of results.figures) {
    lines.push('', `## ${figure.number}. ${figure.title}`, '', '**How it is computed**', '', ...figure.method.map((m) => `- ${m}`));
    if (figure.checks.length > 0) {
      lines.push('', '| check | measured | target | result |', '| --- | --- | --- | --- |');
      for (const c of figure.checks) lines.push(`| ${cell(c.label)} | ${formatValue(c.value, c.format)} | ${formatTarget(c.target, c.format)} | ${c.met ? 'met' : formatMiss(c)} |`);
    }
    if (figure.headlines.length > 0) lines.push('', ...figure.headlines.map((h) => `- ${h.label}: ${h.value}`));
    if (figure.notes.length > 0) lines.push('', '**Notes**', '', ...figure.notes.map((n) => `- ${n}`));
    const { loadBefore, loadAfter, cpuBusy } = figure.conditions;
    const [before, after] = [loadBefore, loadAfter].map((l) => l.map((v) => v.toFixed(2)).join(' / '));
    const busy = cpuBusy === null ? '' : `; all cores ${formatPercent(cpuBusy)} busy (this run's own work included)`;
    lines.push('', `Ran ${formatMs(figure.seconds * 1000)}, finished ${figure.ranAt}; load average (1 / 5 / 15 min) ${before} before, ${after} after${busy}.`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderReadmeSection(results: BenchResults, resultsLink: string, quick: BenchResults | undefined): string {
  const mdLink = resultsLink.replace(/\.json$/, '.md');
  const durations =
    `Its figures took ${figureTime(results)} together (each figure's own time; \`--only\` refreshes some and keeps the others)` +
    (quick ? `; those of the latest \`npm run bench -- --quick\` (fewer architectures and repetitions, results in \`bench/results/quick.md\`) ${figureTime(quick)}` : '') +
    (quick ? ' (both longer when the machine is busier).' : ' (longer when the machine is busier).');
  return [
    README_START,
    `Latest ${results.mode} run of \`npm run bench\` (${provenance(results)}; the machine was shared: ${machineLoad(results)}). ` +
      `How each figure is computed, the raw numbers and the notes on missed targets (by how much, why, and what would close them) are in [${mdLink}](${mdLink}).`,
    '',
    ...summaryTable(results),
    '',
    `${durations} \`--only 1,fidelity\` runs some figures and merges them into the results file; \`npm run bench:readme\` regenerates this section from it.`,
    README_END,
  ].join('\n');
}

function readResults(file: string): BenchResults {
  return JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
}

/**
 * Replaces the README's marked section (the markers must exist) with the table of `resultsFile`, naming the
 * duration of the quick run too when `quickFile` exists.
 */
export function updateReadme(readmePath: string, resultsFile: string, resultsLink: string, quickFile: string): void {
  const readme = readFileSync(readmePath, 'utf8');
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`${readmePath} has no ${README_START} … ${README_END} section`);
  const section = renderReadmeSection(readResults(resultsFile), resultsLink, existsSync(quickFile) ? readResults(quickFile) : undefined);
  writeFileSync(readmePath, readme.slice(0, start) + section + readme.slice(end + README_END.length));
}
