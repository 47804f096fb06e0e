/**
 * Per-block latency lookup tables (format `blockscope.lut/v1`, docs/devices.md) for devices that cannot be
 * attached. An architecture's latency is the sum of its blocks' entries, stem and head included; each entry
 * is keyed by the block's descriptor, so a block has the same key wherever it sits in a network.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { sha256Hex } from '../../pipelines/hash.js';
import type { BlockDescriptor, IRBlock } from '../../pipelines/network/ir.js';
import { designSpace, SpaceValidationError, architectureHash, buildNetwork, originalSpace, type Architecture, type SpaceDocument, type SpaceId } from '../../pipelines/spaces/index.js';
import { BACKENDS, parseWith, strictObject, type LookupTableDevice, type OnnxRuntimeDevice } from './config.js';
import { DeviceConfigError, LookupTableMissingEntryError, errorMessage } from './errors.js';
import { fingerprintHash, onnxRuntimeFingerprint, type DeviceFingerprint } from './fingerprint.js';
import { withDeviceLock } from './lock.js';
import type { MeasurementEngine } from './measure.js';
import { OnnxRuntimeRunner, sessionSettings } from './onnxruntime-runner.js';
import { summarizeTimings } from './protocol.js';
import { correctForDrift, driftResidualStd, driftSeries, midpointMs, type DriftProbe } from '../../pipelines/drift.js';
import { Rng, deriveSeed, type Seed } from '../../pipelines/rng.js';

export const LUT_KIND = 'blockscope.lut/v1';
/** What an entry's `ms` is: the median of its runs (every table `lut build` writes, and the default) or their mean (OFA's published tables). */
export const LUT_STATISTICS = ['median', 'mean'] as const;
export type LookupTableStatistic = (typeof LUT_STATISTICS)[number];

const entrySchema = strictObject({
  /** Latency of the block in milliseconds, the table's `statistic` of its runs (the median unless it says mean): the number that is summed. */
  ms: z.number().nonnegative(),
  /** Standard deviation of the block's runs (ms), where the source gives it; for an entry summed from several rows, the square root of their summed variances. */
  stdMs: z.number().nonnegative().optional(),
  p10Ms: z.number().nonnegative().optional(),
  p90Ms: z.number().nonnegative().optional(),
  cv: z.number().nonnegative().optional(),
  runs: z.number().int().nonnegative().optional(),
  /** Where the block was taken from when it was measured, e.g. "u2.l0" (informative). */
  block: z.string().optional(),
  /** The median as measured, before the drift correction that gave `ms`. */
  rawMs: z.number().nonnegative().optional(),
  /** The 95% interval of `ms`: the median's interval, drift-corrected like it (`lut build`), or the mean's (an imported table of means). */
  ci95Ms: z.tuple([z.number(), z.number()]).optional(),
});

const driftSchema = strictObject({
  /** The entry key of the block probed (the table's middle block in canonical order). */
  referenceKey: z.string(),
  referenceMs: z.number().positive(),
  /** Slowest / fastest probe. */
  range: z.number().positive(),
  probes: z.array(strictObject({ at: z.string(), ms: z.number().positive() })),
});

/** Two entries whose order contradicts physics beyond their intervals: a larger kernel or expand ratio measured faster. */
const contradictionSchema = strictObject({
  dimension: z.enum(['kernel', 'expand']),
  /** The entry with the larger kernel (or expand ratio), measured faster... */
  larger: z.string(),
  /** ...than this one, with everything else equal. */
  smaller: z.string(),
  message: z.string(),
});

const settingValue = z.union([z.string(), z.number(), z.boolean()]);

const fingerprintSchema = strictObject({
  device: z.string(),
  backend: z.enum(BACKENDS),
  host: strictObject({ cpuModel: z.string(), logicalCores: z.number(), platform: z.string(), arch: z.string() }).optional(),
  runtime: strictObject({ name: z.literal('onnxruntime-node'), version: z.string(), node: z.string() }).optional(),
  settings: z.record(z.string(), settingValue),
  identity: z.record(z.string(), z.string()).optional(),
});

const lookupTableSchema = strictObject({
  kind: z.literal(LUT_KIND),
  /** The device the entries were measured on. */
  device: z.string().min(1),
  /** A built-in space's id or a user space's (its definition registered by the study or `lut build --space FILE`). */
  space: z.string().min(1),
  resolutions: z.array(z.number().int().positive()).min(1),
  /** What every entry's `ms` is: absent or 'median' for a median, 'mean' for a mean (a converted table's source may give only means). */
  statistic: z.enum(LUT_STATISTICS).optional(),
  /** Absent for tables converted from elsewhere (e.g. OFA's published Note10 table); `source` says where from. */
  fingerprint: fingerprintSchema.optional(),
  fingerprintHash: z.string().optional(),
  protocol: z.record(z.string(), settingValue).optional(),
  source: z.string().optional(),
  createdAt: z.string().optional(),
  entries: z.record(z.string(), entrySchema),
  /** `lut build`: how the host drifted while the table was measured, and what that corrected. */
  drift: driftSchema.optional(),
  /** `lut build`: entries that contradict their neighbours beyond their intervals (should be none). */
  contradictions: z.array(contradictionSchema).optional(),
});

export type LookupTable = z.infer<typeof lookupTableSchema>;
export type LookupTableEntry = z.infer<typeof entrySchema>;
export type LookupTableContradiction = z.infer<typeof contradictionSchema>;

/**
 * The entry key of a block: its type and shapes, then each descriptor field it has, in a fixed order, e.g.
 * "mbconv:in=32x56x56:out=48x28x28:k=5:e=6:mid=192:s=2:se=1:act=relu:res=0".
 */
export function blockKey(descriptor: BlockDescriptor): string {
  const d = descriptor;
  const parts = [d.type, `in=${d.inShape.join('x')}`, `out=${d.outShape.join('x')}`];
  if (d.kernel !== undefined) parts.push(`k=${d.kernel}`);
  if (d.expand !== undefined) parts.push(`e=${d.expand}`);
  if (d.mid !== undefined) parts.push(`mid=${d.mid}`);
  if (d.stride !== undefined) parts.push(`s=${d.stride}`);
  if (d.se !== undefined) parts.push(`se=${d.se ? 1 : 0}`);
  if (d.activation !== undefined) parts.push(`act=${d.activation}`);
  if (d.residual !== undefined) parts.push(`res=${d.residual ? 1 : 0}`);
  return parts.join(':');
}

export function parseLookupTable(raw: unknown, source: string): LookupTable {
  return parseWith(lookupTableSchema, raw, source);
}

/** Reads a table file (JSON or YAML); also returns the file's sha256, which identifies the table. */
export async function loadLookupTable(path: string): Promise<{ table: LookupTable; sha256: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new DeviceConfigError(`cannot read lookup table ${path}: ${errorMessage(error)}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(bytes.toString('utf8'));
  } catch (error) {
    throw new DeviceConfigError(`${path}: not valid YAML or JSON: ${errorMessage(error)}`);
  }
  return { table: parseLookupTable(raw, path), sha256: sha256Hex(bytes) };
}

/** Writes a table as JSON, or YAML for a .yaml/.yml path, entries sorted by key. */
export async function saveLookupTable(path: string, table: LookupTable): Promise<void> {
  const sorted: LookupTable = { ...table, entries: Object.fromEntries(Object.entries(table.entries).sort(([a], [b]) => a.localeCompare(b))) };
  const text = /\.ya?ml$/i.test(path) ? stringifyYaml(sorted) : `${JSON.stringify(sorted, null, 2)}\n`;
  await writeFile(path, text);
}

export interface BlockLatency {
  /** Position in the network, e.g. "u2.l0". */
  name: string;
  key: string;
  ms: number;
}

/** The latency of an architecture from a table: the sum of its blocks' entries. */
export function lookupLatency(table: LookupTable, arch: Architecture): { totalMs: number; blocks: BlockLatency[] } {
  const where = `lookup table of device ${table.device} (${table.space}, resolutions ${table.resolutions.join(', ')})`;
  if (arch.space !== table.space) throw new LookupTableMissingEntryError([], `${where} cannot estimate an architecture of space ${arch.space}`);
  const blocks = buildNetwork(arch).blocks.map((block) => ({ name: block.name, key: blockKey(block.descriptor), entry: table.entries[blockKey(block.descriptor)] }));
  const missing = blocks.filter((b) => b.entry === undefined);
  if (missing.length > 0) {
    const resolutionHint = table.resolutions.includes(arch.resolution) ? '' : `; the architecture is at resolution ${arch.resolution}, which the table does not cover`;
    const list = missing.map((b) => `${b.name}: ${b.key}`).join('; ');
    throw new LookupTableMissingEntryError(
      missing.map((b) => b.key),
      `${where} has no entry for ${missing.length} block(s) of architecture ${architectureHash(arch).slice(0, 12)}${resolutionHint}: ${list}` +
        ` (rebuild the table for this space and resolution with \`blockscope lut build\`)`,
    );
  }
  const found = blocks.map((b) => ({ name: b.name, key: b.key, ms: b.entry!.ms }));
  return { totalMs: found.reduce((total, b) => total + b.ms, 0), blocks: found };
}

/** A lookup-table device as a measurement engine: computed, so it needs neither the device lock nor the cache. */
export function createLookupTableEngine(device: LookupTableDevice): MeasurementEngine {
  let loading: Promise<{ table: LookupTable; fingerprint: DeviceFingerprint }> | undefined;
  const load = () =>
    (loading ??= loadLookupTable(device.table).then(
      ({ table, sha256 }) => ({ table, fingerprint: lookupTableFingerprint(device, table, sha256) }),
      (error: unknown) => {
        loading = undefined;
        throw error;
      },
    ));
  return {
    measuresDevice: false,
    async identity() {
      const { table, fingerprint } = await load();
      return { fingerprint, protocol: table.protocol ?? {} };
    },
    async run(arch) {
      const { table } = await load();
      const { totalMs, blocks } = lookupLatency(table, arch);
      return {
        // An estimate has no spread of its own; each entry's spread is in the table.
        summary: { medianMs: totalMs, meanMs: totalMs, p10Ms: totalMs, p90Ms: totalMs, iqrMs: 0, cv: 0, medianCi95Ms: [totalMs, totalMs], relativeHalfWidth: 0 },
        runs: 0,
        timingsMs: [],
        stopReason: 'lookup-table',
        breakdown: { exportMs: 0, sessionCreateMs: 0, warmupMs: 0, timedMs: 0 },
        blocks,
      };
    },
    close: () => Promise.resolve(),
  };
}

function lookupTableFingerprint(device: LookupTableDevice, table: LookupTable, sha256: string): DeviceFingerprint {
  const settings: DeviceFingerprint['settings'] = { tableSha256: sha256, tableDevice: table.device };
  if (table.fingerprintHash !== undefined) settings.tableFingerprintHash = table.fingerprintHash;
  const fingerprint: DeviceFingerprint = { device: device.id, backend: 'lookup-table', settings };
  if (device.identity) fingerprint.identity = { ...device.identity };
  return fingerprint;
}

export interface DistinctBlock {
  key: string;
  block: IRBlock;
  resolution: number;
}

/**
 * Every distinct block of a space at the given resolutions, found by building a covering set of architectures.
 * In the MBConv spaces a block's shapes depend only on its unit and on whether it is the unit's first layer,
 * so one architecture per block choice (every layer that block, two layers per unit) covers them. In ResNet
 * they also depend on the unit's width and the previous unit's (or the stem's) width, so every width pair of
 * every unit is built, plus every stem.
 */
export function distinctBlocks(space: SpaceId | SpaceDocument, resolutions: readonly number[]): DistinctBlock[] {
  const doc = typeof space === 'string' ? originalSpace(space) : space;
  const found = new Map<string, DistinctBlock>();
  for (const resolution of resolutions) {
    if (!doc.resolutions.includes(resolution)) {
      throw new SpaceValidationError('resolutions', `${resolution} is not allowed in ${doc.space}; allowed: ${doc.resolutions.join(', ')}`);
    }
    for (const arch of designSpace(doc.space).coveringArchitectures(doc, resolution)) {
      for (const block of buildNetwork(arch).blocks) {
        const key = blockKey(block.descriptor);
        if (!found.has(key)) found.set(key, { key, block, resolution });
      }
    }
  }
  return [...found.values()];
}

export interface BuildLookupTableOptions {
  /** The space (or a pruned space document) whose blocks the table covers. */
  space: SpaceId | SpaceDocument;
  resolutions: readonly number[];
  lockDir?: string;
  signal?: AbortSignal;
  onProgress?: (progress: { done: number; total: number; key: string; ms: number }) => void;
  /** Seeds the measurement order (default 0): the same seed, the same order. */
  seed?: Seed;
  /** A drift probe after every this many entries (default 10), besides one before the first and one after the last. */
  probeEvery?: number;
}

/**
 * Pairs of entries that differ only in kernel size (or only in expand ratio, with its hidden width) where
 * the larger one's interval lies wholly below the smaller one's: physically impossible on a CPU.
 */
export function lookupTableContradictions(entries: Readonly<Record<string, LookupTableEntry>>, descriptors: ReadonlyMap<string, BlockDescriptor>): LookupTableContradiction[] {
  const out: LookupTableContradiction[] = [];
  for (const dimension of ['kernel', 'expand'] as const) {
    const groups = new Map<string, { key: string; size: number }[]>();
    for (const [key, d] of descriptors) {
      const size = d[dimension];
      if (size === undefined || !entries[key]) continue;
      const rest = blockKey({ ...d, [dimension]: undefined, ...(dimension === 'expand' ? { mid: undefined } : {}) });
      groups.set(rest, [...(groups.get(rest) ?? []), { key, size }]);
    }
    for (const members of groups.values()) {
      for (const larger of members) {
        for (const smaller of members) {
          if (larger.size <= smaller.size) continue;
          const [lo, hi] = [entries[larger.key]!, entries[smaller.key]!];
          const largerHigh = lo.ci95Ms?.[1] ?? lo.ms;
          const smallerLow = hi.ci95Ms?.[0] ?? hi.ms;
          if (largerHigh < smallerLow) {
            out.push({
              dimension,
              larger: larger.key,
              smaller: smaller.key,
              message: `${dimension} ${larger.size} measured faster than ${dimension} ${smaller.size} with everything else equal, beyond their intervals: ${round(lo.ms)} ms (up to ${round(largerHigh)}) vs ${round(hi.ms)} ms (from ${round(smallerLow)})`,
            });
          }
        }
      }
    }
  }
  return out;
}

/**
 * Measures every distinct block of the space on a local onnxruntime device, one block model at a time
 * (exportBlocks), each under the device's lock and with the device's protocol, in a seeded random order so
 * the host's drift does not line up with the blocks. A probe of the table's middle block before the first
 * entry, after every `probeEvery` entries and after the last records the drift, and every entry is
 * corrected by it (pipelines/drift.ts); the table keeps each entry's raw median and interval, the probes,
 * and the entries that contradict their neighbours beyond their intervals.
 */
export async function buildLookupTable(device: OnnxRuntimeDevice, options: BuildLookupTableOptions): Promise<LookupTable> {
  if (device.protocol.reference !== 'none') {
    throw new DeviceConfigError(
      `device ${device.id}: protocol.reference is ${JSON.stringify(device.protocol.reference)}, but a lookup table times single blocks, which have no reference model; build it with protocol.reference "none"`,
    );
  }
  const blocks = distinctBlocks(options.space, options.resolutions);
  const fingerprint = onnxRuntimeFingerprint(device);
  const runner = new OnnxRuntimeRunner(device.id, sessionSettings(device));
  const reference = blocks[Math.floor(blocks.length / 2)]!;
  const order = new Rng(deriveSeed(options.seed ?? 0, 'lut-order', device.id)).shuffled(blocks);
  const probeEvery = options.probeEvery ?? 10;
  const measureBlock = async (block: IRBlock) => {
    const startedAt = new Date().toISOString();
    const timing = await withDeviceLock(device.id, { lockDir: options.lockDir, signal: options.signal }, () =>
      runner.measureModel({ kind: 'blocks', blocks: [block], inputShape: block.descriptor.inShape }, device.protocol, { signal: options.signal }),
    );
    return { summary: summarizeTimings(timing.timingsMs), runs: timing.timingsMs.length, startedAt, measuredAt: new Date().toISOString() };
  };
  const probes: DriftProbe[] = [];
  const probe = async () => {
    const measured = await measureBlock(reference.block);
    probes.push({ batchIndex: 0, position: raw.length, at: new Date(midpointMs(measured.startedAt, measured.measuredAt)).toISOString(), medianMs: measured.summary.medianMs });
  };
  const raw: { key: string; block: IRBlock; measured: Awaited<ReturnType<typeof measureBlock>> }[] = [];
  try {
    // A freshly started runtime is slower on its first model: one discarded run before the first probe.
    await measureBlock(reference.block);
    await probe();
    for (const [index, { key, block }] of order.entries()) {
      if (index > 0 && index % probeEvery === 0) await probe();
      const measured = await measureBlock(block);
      raw.push({ key, block, measured });
      options.onProgress?.({ done: index + 1, total: order.length, key, ms: measured.summary.medianMs });
    }
    await probe();
  } finally {
    await runner.close();
  }
  const series = driftSeries(device.id, reference.key, reference.resolution, probes);
  // The median's interval covers the timing runs of one measurement; the host also wanders between probes
  // by about this much, which the correction cannot remove: both widen the entry's interval.
  const wander = driftResidualStd(series);
  const entries: Record<string, LookupTableEntry> = {};
  for (const { key, block, measured } of raw) {
    const { summary } = measured;
    const { factor } = correctForDrift(series, { archHash: key, medianMs: summary.medianMs, startedAt: measured.startedAt, measuredAt: measured.measuredAt });
    const f = factor ?? 1;
    entries[key] = {
      ms: round(summary.medianMs * f),
      rawMs: round(summary.medianMs),
      ci95Ms: entryInterval(summary.medianMs * f, summary.medianCi95Ms[0] * f, summary.medianCi95Ms[1] * f, wander),
      p10Ms: round(summary.p10Ms * f),
      p90Ms: round(summary.p90Ms * f),
      cv: round(summary.cv),
      runs: measured.runs,
      block: block.name,
    };
  }
  const space = typeof options.space === 'string' ? options.space : options.space.space;
  return {
    kind: LUT_KIND,
    device: device.id,
    space,
    resolutions: [...options.resolutions],
    fingerprint,
    fingerprintHash: fingerprintHash(fingerprint),
    protocol: { ...device.protocol },
    createdAt: new Date().toISOString(),
    entries,
    drift: { referenceKey: reference.key, referenceMs: round(series.referenceMs), range: round(series.range), probes: series.probes.map((p) => ({ at: p.at, ms: round(p.medianMs) })) },
    contradictions: lookupTableContradictions(entries, new Map(blocks.map((b) => [b.key, b.block.descriptor]))),
  };
}

/** The median's own interval widened, on the log scale in quadrature, by the drift's relative wander. */
function entryInterval(ms: number, low: number, high: number, wander: number): [number, number] {
  const z = 1.959963984540054;
  const widen = (bound: number) => Math.sqrt(Math.log(bound / ms) ** 2 + (z * wander) ** 2);
  return [round(ms * Math.exp(-widen(low))), round(ms * Math.exp(widen(high)))];
}

/** Four decimals (0.1 µs) keep tables readable and far below measurement noise. */
function round(value: number): number {
  return Math.round(value * 1e4) / 1e4;
}
