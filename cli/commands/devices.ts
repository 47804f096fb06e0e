/** `blockscope devices`, `measure` and `lut build`: the device layer from the command line. */
import { Command } from 'commander';
import { buildLookupTable, createMeasurer, DeviceError, fingerprintHash, loadDevices, saveLookupTable } from '../../activities/devices/index.js';
import { openArtifactStore } from '../../activities/storage/index.js';
import { canonicalJson } from '../../pipelines/hash.js';
import type { SpaceId } from '../../pipelines/spaces/index.js';
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
  return lut;
}
