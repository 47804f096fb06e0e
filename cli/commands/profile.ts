/**
 * `blockscope profile import`: a block profile from end-to-end measurements of random architectures taken
 * elsewhere (a published dataset, an earlier campaign's log), through the shared-random design's path: every
 * architecture is the baseline, every block specification gets those that hold its block, the block regression
 * estimates the effects (docs/studies.md "Profiles from measurements you already have").
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { Command, Option } from 'commander';
import { profileToCsv, type BlockProfile, type ProfileMetricName } from '../../pipelines/profile.js';
import type { ArchitectureMetrics } from '../../pipelines/records.js';
import type { FittedOrSkipped } from '../../pipelines/regression.js';
import { evaluateLatencyPredictor, fitLatencyPredictor, splitHeldOut } from '../../pipelines/search/predictor.js';
import {
  architectureCounts,
  architectureHash,
  OFA_SUBNET_FORMAT,
  ofaSubnetArchitecture,
  originalSpace,
  validateArchitecture,
  type Architecture,
  type SpaceId,
} from '../../pipelines/spaces/index.js';
import { median } from '../../pipelines/stats.js';
import { importedPlan } from '../../pipelines/study/plan.js';
import { planProfile } from '../../pipelines/study/profiles.js';
import { CliError } from '../errors.js';
import { spaceOption } from '../input.js';

const LATENCY_UNITS = { ms: 1, us: 1e-3, s: 1e3 } as const;
type LatencyUnit = keyof typeof LATENCY_UNITS;
/** How many refused lines are quoted before the rest are counted. */
const MAX_QUOTED = 10;

/** How a record writes its architecture: blockscope's JSON in one field, or OFA's subnet settings (ks, e, d, r). */
const ARCH_FORMATS = ['blockscope', OFA_SUBNET_FORMAT] as const;
type ArchFormat = (typeof ARCH_FORMATS)[number];

interface Fields {
  format: ArchFormat;
  /** blockscope: the field holding the architecture; ofa-subnet: the field holding the resolution. */
  arch: string;
  latency: string;
  accuracy: string;
}

export interface ImportedMeasurement {
  arch: Architecture;
  latencyMs: number;
  accuracy: number | undefined;
}

interface NumberedRecord {
  line: number;
  value: unknown;
}

function jsonRecords(text: string, file: string): NumberedRecord[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new CliError(`--measurements: ${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    return (parsed as unknown[]).map((value, i) => ({ line: i + 1, value }));
  }
  return trimmed.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [{ line: i + 1, value: JSON.parse(line) as unknown }];
    } catch {
      return [{ line: i + 1, value: Symbol('invalid') }];
    }
  });
}

/** A CSV cell as the value it writes: JSON where it parses (numbers, lists, objects), else the text; empty is absent. */
function csvValue(cell: string): unknown {
  if (cell.trim() === '') return undefined;
  try {
    return JSON.parse(cell) as unknown;
  } catch {
    return cell;
  }
}

/** CSV with a header row; line numbers count the header as line 1. */
function csvRecords(text: string, file: string): NumberedRecord[] {
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  } catch (error) {
    throw new CliError(`--measurements: ${file} is not valid CSV: ${error instanceof Error ? error.message : String(error)}`);
  }
  return rows.map((row, i) => ({ line: i + 2, value: Object.fromEntries(Object.entries(row).map(([key, cell]) => [key, csvValue(cell)])) }));
}

/**
 * JSON lines, one JSON array of objects, or CSV with a header (a .csv file); each record is checked against the
 * space and refusals say why and where.
 */
export function parseMeasurements(text: string, file: string, space: SpaceId, fields: Fields, unit: LatencyUnit): { rows: ImportedMeasurement[]; refused: string[] } {
  const records = extname(file).toLowerCase() === '.csv' ? csvRecords(text, file) : jsonRecords(text, file);
  const doc = originalSpace(space);
  const rows: ImportedMeasurement[] = [];
  const refused: string[] = [];
  const refuse = (line: number, why: string) => refused.push(`${file}:${line}: ${why}`);
  for (const { line, value } of records) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      refuse(line, 'not a JSON object');
      continue;
    }
    const record = value as Record<string, unknown>;
    const latency = record[fields.latency];
    if (typeof latency !== 'number' || !(latency > 0)) {
      refuse(line, `${fields.latency}: expected a positive number (${unit}), got ${JSON.stringify(latency)}`);
      continue;
    }
    const accuracy = record[fields.accuracy];
    if (accuracy !== undefined && (typeof accuracy !== 'number' || !Number.isFinite(accuracy))) {
      refuse(line, `${fields.accuracy}: expected a number, got ${JSON.stringify(accuracy)}`);
      continue;
    }
    try {
      const arch =
        fields.format === 'blockscope'
          ? validateArchitecture(record[fields.arch], doc)
          : ofaSubnetArchitecture(space, { ks: record['ks'], e: record['e'], d: record['d'], r: record[fields.arch] });
      rows.push({ arch, latencyMs: latency * LATENCY_UNITS[unit], accuracy });
    } catch (error) {
      const where = fields.format === 'blockscope' ? fields.arch : `${OFA_SUBNET_FORMAT} ks/e/d/${fields.arch}`;
      refuse(line, `${where}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { rows, refused };
}

/** What a resolution's data identifies: per block, how many architectures hold it and how wide its latency effect's interval is. */
function identification(fit: FittedOrSkipped): string {
  if ('skipped' in fit) return `block effects not identified (${fit.skipped}); the profile keeps the holders' means only`;
  const holders = fit.blocks.map((b) => b.n);
  const halfWidths = fit.blocks.map((b) => (b.ciHigh - b.ciLow) / 2 / fit.meanValue);
  const widest = fit.blocks.reduce((a, b) => (b.ciHigh - b.ciLow > a.ciHigh - a.ciLow ? b : a));
  const check = fit.lackOfFit ? `, lack of fit χ² ${fit.lackOfFit.statistic.toFixed(0)} on ${fit.lackOfFit.df} specs (${fit.lackOfFit.fails ? 'fails' : 'holds'})` : '';
  return (
    `${fit.blocks.length} block effects from ${fit.n} architectures (R² ${fit.rSquared.toFixed(3)}${check}); ` +
    `holders per block min ${Math.min(...holders)}, median ${median(holders)}; latency effect ±${(100 * median(halfWidths)).toFixed(2)}% of the mean (median 95% half-width), ` +
    `widest u${widest.unit} l${widest.layer} ${widest.block} ±${((100 * (widest.ciHigh - widest.ciLow)) / 2 / fit.meanValue).toFixed(2)}%`
  );
}

export function profileCommand(): Command {
  const profile = new Command('profile').description('Block profiles from measurements taken elsewhere');
  profile.addCommand(
    new Command('import')
      .description(
        'A block profile (profile.json per resolution) from end-to-end measurements of random architectures: JSON lines, a JSON array of objects, or CSV with a header (.csv)',
      )
      .addOption(spaceOption())
      .requiredOption('--measurements <file>', 'one record per architecture: the architecture, its latency and optionally its accuracy')
      .addOption(
        new Option(
          '--arch-format <format>',
          `how a record writes its architecture: blockscope JSON in --arch-field, or ${OFA_SUBNET_FORMAT} (OFA's ks, e and d lists, resolution in --arch-field)`,
        )
          .choices([...ARCH_FORMATS])
          .default('blockscope'),
      )
      .requiredOption('--device <id>', 'the device the latencies were measured on (the profile names it)')
      .requiredOption('--out <dir>', 'where to write profile-r<resolution>.json and .csv')
      .option('--arch-field <name>', 'the field holding the architecture (blockscope JSON, as `arch sample` prints); with ofa-subnet, the resolution (default r)')
      .option('--latency-field <name>', 'the field holding the latency', 'latencyMs')
      .addOption(new Option('--latency-unit <unit>', 'the latency field unit').choices(Object.keys(LATENCY_UNITS)).default('ms'))
      .option('--accuracy-field <name>', 'the field holding the accuracy (profiled when every architecture has it)', 'accuracy')
      .action(
        (opts: {
          space: SpaceId;
          measurements: string;
          device: string;
          out: string;
          archFormat: ArchFormat;
          archField?: string;
          latencyField: string;
          latencyUnit: LatencyUnit;
          accuracyField: string;
        }) => {
          let text: string;
          try {
            text = readFileSync(opts.measurements, 'utf8');
          } catch (error) {
            throw new CliError(`--measurements: cannot read ${opts.measurements}: ${error instanceof Error ? error.message : String(error)}`);
          }
          const arch = opts.archField ?? (opts.archFormat === 'blockscope' ? 'arch' : 'r');
          const fields: Fields = { format: opts.archFormat, arch, latency: opts.latencyField, accuracy: opts.accuracyField };
          const { rows, refused } = parseMeasurements(text, opts.measurements, opts.space, fields, opts.latencyUnit);
          if (refused.length > 0) {
            const quoted = refused.slice(0, MAX_QUOTED).map((r) => `  ${r}`);
            const rest = refused.length > MAX_QUOTED ? [`  ... and ${refused.length - MAX_QUOTED} more`] : [];
            process.stderr.write(`refused ${refused.length} of ${refused.length + rows.length} records:\n${[...quoted, ...rest].join('\n')}\n`);
          }
          if (rows.length === 0) throw new CliError(`--measurements: no record of ${opts.measurements} is a measured architecture of ${opts.space}`);
          const withAccuracy = rows.every((r) => r.accuracy !== undefined);
          const metricNames: ProfileMetricName[] = withAccuracy ? ['accuracy', 'macs', 'params', 'latency'] : ['macs', 'params', 'latency'];
          if (!withAccuracy) process.stderr.write(`not every record has ${opts.accuracyField}: the profiles hold latency, MACs and parameters only (no insights without accuracy)\n`);
          const metrics = new Map<string, ArchitectureMetrics>();
          for (const row of rows) {
            const hash = architectureHash(row.arch);
            const counts = architectureCounts(row.arch);
            // A repeated architecture keeps its first measurement, as a study measures each architecture once.
            if (!metrics.has(hash)) metrics.set(hash, { hash, accuracy: row.accuracy ?? 0, macs: counts.macs, params: counts.params, latencyMs: { [opts.device]: row.latencyMs } });
          }
          const plan = importedPlan(
            opts.space,
            rows.map((r) => r.arch),
          );
          mkdirSync(opts.out, { recursive: true });
          for (const resolution of plan.resolutions) {
            const result: BlockProfile = planProfile({ plan, device: opts.device, resolution, accuracySource: 'table', metrics, depthRule: 'held', metricNames });
            const archs = plan.architectures
              .filter(({ arch }) => arch.resolution === resolution)
              .map(({ hash, arch }) => ({ arch, latencyMs: metrics.get(hash)!.latencyMs[opts.device]! }));
            const lines = [`r${resolution}: ${archs.length} architectures; ${identification(result.regression!.latency)}`];
            if (archs.length >= 10) {
              const { train, test } = splitHeldOut(archs);
              const evaluation = evaluateLatencyPredictor(fitLatencyPredictor(train), test);
              lines.push(`  latency predictor on ${train.length}, held out ${evaluation.n}: MAPE ${(100 * evaluation.mape).toFixed(1)}%, Kendall τ ${evaluation.kendallTau.toFixed(3)}`);
            }
            const base = join(opts.out, `profile-r${resolution}`);
            writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
            writeFileSync(`${base}.csv`, profileToCsv(result));
            process.stdout.write(`${lines.join('\n')}\n  wrote ${base}.json and .csv\n`);
          }
        },
      ),
  );
  return profile;
}
