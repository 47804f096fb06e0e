/** `blockscope devices`, `measure` and `lut build|import|blocks|export`: the device layer from the command line. */
import { Command, Option } from 'commander';
import {
  DEFAULT_IMPORT_DEVICE,
  DEVICE_ID_PATTERN,
  GENERIC_FORMATS,
  LUT_IMPORT_FORMATS,
  LUT_STATISTICS,
  buildLookupTable,
  createMeasurer,
  DeviceError,
  distinctBlocks,
  exportLookupTableFile,
  fingerprintHash,
  importLookupTableFiles,
  loadDevices,
  loadLookupTable,
  saveLookupTable,
  type GenericFormat,
  type LookupTableStatistic,
  type LutImportFormat,
} from '../../activities/devices/index.js';
import { openArtifactStore } from '../../activities/storage/index.js';
import { canonicalJson } from '../../pipelines/hash.js';
import { originalSpace, type SpaceId } from '../../pipelines/spaces/index.js';
import { CliError } from '../errors.js';
import { CountProgress } from '../progress.js';
import { checkResolution, parseIntegerOption, parseResolutionOption, spaceOption, readArchitecture } from '../input.js';
import { storeConfig } from '../runtime-options.js';

const devicesFileOption = ['--devices <file>', 'device config file, YAML or JSON (env BLOCKSCOPE_DEVICES; cpu-local is built in; see docs/devices.md)'] as const;
const devicesFile = (opts: { devices?: string }) => opts.devices ?? process.env.BLOCKSCOPE_DEVICES;

export function devicesCommand(): Command {
  return new Command('devices')
    .description('List the configured devices with their backend and fingerprint')
    .option(...devicesFileOption)
    .option('--json', 'one JSON object per device')
    .action(async (opts: { devices?: string; json?: boolean }) => {
      const registry = await loadDevices(devicesFile(opts));
      for (const device of registry.devices) {
        const measurer = createMeasurer(device);
        try {
          const fingerprint = await measurer.fingerprint();
          process.stdout.write(
            opts.json
              ? `${canonicalJson({ id: device.id, backend: device.backend, description: device.description ?? '', fingerprint, fingerprintHash: fingerprintHash(fingerprint) })}\n`
              : `${device.id}\t${device.backend}\t${fingerprintHash(fingerprint).slice(0, 12)}\t${device.description ?? ''}\n`,
          );
        } finally {
          await measurer.close();
        }
      }
    });
}

export function measureCommand(): Command {
  return new Command('measure')
    .description('Measure the latency of one architecture on a device; prints median and spread (ms), runs, protocol, fingerprint and whether it came from the cache')
    .requiredOption('--device <id>', 'device id (see `blockscope devices`)')
    .addOption(spaceOption())
    .requiredOption('--arch <json|@file>', 'architecture JSON, or @file')
    .option('--resolution <r>', "input resolution (overrides the architecture's)", parseResolutionOption)
    .option(...devicesFileOption)
    .option('--no-cache', 'measure even if this architecture was measured before with the same protocol')
    .action(async (opts: { device: string; space: SpaceId; arch: string; resolution?: number; devices?: string; cache: boolean }) => {
      const arch = readArchitecture(opts.arch, opts.space, { resolution: opts.resolution });
      const device = (await loadDevices(devicesFile(opts))).get(opts.device);
      const measurer = createMeasurer(device, opts.cache ? { cache: openArtifactStore(storeConfig()) } : {});
      try {
        const measurement = await measurer.measure(arch, {
          onProgress: (p) => process.stderr.write(`${p.device}: ${p.phase}${p.runs ? ` (${p.runs} runs)` : ''}\n`),
        });
        process.stdout.write(`${JSON.stringify(measurement, null, 2)}\n`);
      } finally {
        await measurer.close();
      }
    });
}

export function lutCommand(): Command {
  const lut = new Command('lut').description('Per-block latency lookup tables (docs/devices.md)');
  lut
    .command('build')
    .description('Build a lookup table for a local onnxruntime device by measuring every distinct block of a space')
    .requiredOption('--device <id>', 'an onnxruntime device')
    .addOption(spaceOption())
    .option('--resolution <r...>', 'input resolution(s)', ['224'])
    .requiredOption('--out <file>', 'where to write the table (.json, or .yaml/.yml)')
    .option('--seed <seed>', 'seeds the random measurement order', '0')
    .option('--probe-every <n>', 'a drift probe after every n entries', parseIntegerOption('--probe-every', 1), 10)
    .option(...devicesFileOption)
    .action(async (opts: { device: string; space: SpaceId; resolution: string[]; out: string; seed: string; probeEvery: number; devices?: string }) => {
      const resolutions = opts.resolution.map((r) => checkResolution(opts.space, parseResolutionOption(r)));
      const device = (await loadDevices(devicesFile(opts))).get(opts.device);
      if (device.backend !== 'onnxruntime') throw new DeviceError(`--device: ${device.id} is a ${device.backend} device; lookup tables are built on onnxruntime devices`);
      const started = performance.now();
      let progress: CountProgress | undefined;
      const table = await buildLookupTable(device, {
        space: opts.space,
        resolutions,
        seed: /^-?\d+$/.test(opts.seed) ? Number(opts.seed) : opts.seed,
        probeEvery: opts.probeEvery,
        onProgress: (p) => {
          progress ??= new CountProgress(`lut ${device.id}`, p.total);
          progress.update(p.done, `${p.key.split(':')[0]} ${p.ms.toFixed(2)} ms`);
        },
      });
      await saveLookupTable(opts.out, table);
      process.stderr.write(`wrote ${opts.out}: ${Object.keys(table.entries).length} entries in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
      const drift = table.drift!;
      process.stderr.write(
        `drift: ${drift.probes.length} probes of ${drift.referenceKey.split(':')[0]}, slowest / fastest ${drift.range.toFixed(3)}; entries corrected by it (raw medians kept as rawMs)\n`,
      );
      const contradictions = table.contradictions ?? [];
      process.stderr.write(
        `${contradictions.length} entr${contradictions.length === 1 ? 'y contradicts' : 'ies contradict'} a neighbour beyond the intervals${contradictions.length ? ':' : ''}\n`,
      );
      for (const c of contradictions) process.stderr.write(`  ${c.larger} vs ${c.smaller}: ${c.message}\n`);
    });
  lut
    .command('import')
    .description(
      "Convert a published per-block latency table into a lookup table: OFA's LatencyTable YAML (one file per resolution), or the generic CSV/JSON form keyed by blockscope's block keys",
    )
    .addOption(new Option('--format <format>', 'ofa (OFA LatencyTable YAML) | csv | json (the generic form, docs/devices.md)').choices([...LUT_IMPORT_FORMATS]).makeOptionMandatory())
    .addOption(spaceOption())
    .requiredOption('--in <file...>', "the source file(s); --format ofa: one per resolution (each file's stem row gives its resolution)")
    .requiredOption('--out <file>', 'where to write the table (.json, or .yaml/.yml)')
    .option('--device <id>', "the device the source measured (the table's device)", parseDeviceId, DEFAULT_IMPORT_DEVICE)
    .option('--resolution <r...>', 'csv/json: the resolutions the table covers (default: those its rows name)')
    .addOption(new Option('--statistic <statistic>', 'csv/json: what ms is, the median or the mean of the runs (default median); OFA tables give means').choices([...LUT_STATISTICS]))
    .action(async (opts: { format: LutImportFormat; space: SpaceId; in: string[]; out: string; device: string; resolution?: string[]; statistic?: LookupTableStatistic }) => {
      if (opts.format === 'ofa' && opts.resolution) throw new CliError("--resolution: not used with --format ofa (each file's resolution is its stem row's input size)");
      if (opts.format === 'ofa' && opts.statistic && opts.statistic !== 'mean') throw new CliError(`--statistic: OFA tables give means; ${opts.statistic} is not what they hold`);
      const resolutions = opts.resolution?.map((r) => checkResolution(opts.space, parseResolutionOption(r)));
      const result = await importLookupTableFiles(opts.in, { format: opts.format, space: opts.space, device: opts.device, resolutions, statistic: opts.statistic, field: '--in' });
      await saveLookupTable(opts.out, result.table);
      const { table } = result;
      const perResolution = result.resolutions.map((r) => `${r.blocks} at ${r.resolution}`).join(', ');
      process.stderr.write(
        `wrote ${opts.out}: ${Object.keys(table.entries).length} entries for ${table.space} (blocks per resolution: ${perResolution}) from ${result.rows} source rows; ms is the ${table.statistic ?? 'median'}\n`,
      );
      const pooledKeys = new Set(result.pooled.map((p) => p.key));
      if (pooledKeys.size > 0) {
        process.stderr.write(
          `${pooledKeys.size} entries are blocks with the same shapes at two resolutions: each pools its row(s) of both files (${result.pooled.length} rows; means differ by at most ${(
            100 * Math.max(...result.pooled.map((p) => (Math.max(...p.means) - Math.min(...p.means)) / Math.min(...p.means)))
          ).toFixed(1)}%)\n`,
        );
        for (const p of result.pooled.filter((p) => p.disagree)) {
          process.stderr.write(`  warning: ${p.row}: the files' means ${p.means.join(' and ')} ms differ beyond their 95% intervals (${p.files.join(', ')})\n`);
        }
      }
      const unused = result.unused;
      process.stderr.write(
        `${unused.length} source row${unused.length === 1 ? ' is' : 's are'} used by no block of ${table.space}${
          unused.length > 0
            ? `, e.g. ${unused
                .slice(0, 3)
                .map((r) => r.at)
                .join('; ')}`
            : ''
        }\n`,
      );
    });
  lut
    .command('blocks')
    .description('Print the block keys a complete lookup table of a space needs, one per line (to fill the generic form of `lut import`)')
    .addOption(spaceOption())
    .option('--resolution <r...>', 'input resolution(s) (default: every resolution of the space)')
    .action((opts: { space: SpaceId; resolution?: string[] }) => {
      const resolutions = opts.resolution?.map((r) => checkResolution(opts.space, parseResolutionOption(r))) ?? originalSpace(opts.space).resolutions;
      process.stdout.write(
        distinctBlocks(opts.space, resolutions)
          .map((b) => `${b.key}\n`)
          .join(''),
      );
    });
  lut
    .command('export')
    .description('Write a lookup table in the generic form (CSV or JSON: block, ms, std, count, 95% interval) to edit or to convert back with `lut import`')
    .requiredOption('--table <file>', 'a lookup table (JSON or YAML)')
    .requiredOption('--out <file>', 'where to write it (.csv or .json)')
    .addOption(new Option('--format <format>', 'csv | json (default: from the --out extension)').choices([...GENERIC_FORMATS]))
    .action(async (opts: { table: string; out: string; format?: GenericFormat }) => {
      const format = opts.format ?? (/\.csv$/i.test(opts.out) ? 'csv' : /\.json$/i.test(opts.out) ? 'json' : undefined);
      if (!format) throw new CliError(`--format: cannot tell it from --out ${opts.out}; allowed: ${GENERIC_FORMATS.join(', ')} (or an --out ending in .csv or .json)`);
      const { table } = await loadLookupTable(opts.table);
      await exportLookupTableFile(opts.out, table, format);
      process.stderr.write(`wrote ${opts.out}: ${Object.keys(table.entries).length} rows (${format})\n`);
    });
  return lut;
}

function parseDeviceId(value: string): string {
  if (!DEVICE_ID_PATTERN.test(value)) throw new CliError(`--device: ${JSON.stringify(value)} must match [a-z0-9][a-z0-9-]* (lower-case letters, digits and dashes)`);
  return value;
}
