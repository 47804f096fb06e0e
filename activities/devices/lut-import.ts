/**
 * Importing published per-block latency tables into blockscope's lookup-table format (docs/devices.md,
 * "Importing published tables"):
 *
 * - `ofa`: the OFA project's `LatencyTable` YAML files (one per resolution; rows
 *   `<op>-input:HxWxC-output:HxWxC[-expand:MID-kernel:K-stride:S-idskip:0|1-se:0|1-hs:0|1]` with `count`, `mean`, `std`),
 *   mapped onto the blocks of an MBConv space with relu / h-swish activations such as `ofa-mbv3`;
 * - `csv` / `json`: a generic form for tables from other sources, one row per blockscope block key.
 *
 * The mapping is pure (text in, a table out, every problem in one LookupTableImportError); only
 * `importLookupTableFiles` and `exportLookupTableFile` touch files.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { sha256Hex } from '../../pipelines/hash.js';
import type { BlockDescriptor, IRBlock, Shape } from '../../pipelines/network/ir.js';
import { originalSpace, type SpaceDocument, type SpaceId } from '../../pipelines/spaces/index.js';
import { parseWith, strictObject } from './config.js';
import { DeviceConfigError, errorMessage } from './errors.js';
import { LUT_KIND, distinctBlocks, type LookupTable, type LookupTableEntry, type LookupTableStatistic } from './lookup-table.js';

export const LUT_IMPORT_FORMATS = ['ofa', 'csv', 'json'] as const;
export type LutImportFormat = (typeof LUT_IMPORT_FORMATS)[number];
export const GENERIC_FORMATS = ['csv', 'json'] as const;
export type GenericFormat = (typeof GENERIC_FORMATS)[number];
/** The columns of the generic CSV form; `block` and `ms` are required, `ci95_low` and `ci95_high` come together. */
export const CSV_COLUMNS = ['block', 'ms', 'std', 'count', 'ci95_low', 'ci95_high'] as const;
/** The device an imported table names when none is given. */
export const DEFAULT_IMPORT_DEVICE = 'imported';

const Z95 = 1.959963984540054;
/** How many missing blocks a refusal lists per source file before it counts the rest. */
const MAX_LISTED = 20;

/** A source that cannot become a complete table for the space; the message names every problem. */
export class LookupTableImportError extends DeviceConfigError {
  constructor(
    message: string,
    /** The blockscope keys of the blocks the source has no row for. */
    readonly missingKeys: readonly string[] = [],
  ) {
    super(message);
  }
}

/** A source file as read: a name for messages and the table's `source`, its text and its sha256. */
export interface SourceFile {
  path: string;
  text: string;
  sha256?: string;
}

/** One row of a source: its statistic (ms) and, where the source gives them, the runs' spread and count. */
export interface SourceStat {
  ms: number;
  std?: number;
  count?: number;
  /** The 95% interval as the source gives it (generic form only). */
  ci95?: [number, number];
}

export interface SourceRow extends SourceStat {
  /** The row's key in the source: an OFA row key, or a blockscope block key for the generic form. */
  key: string;
  file: string;
  /** Where it is, for messages: `224.yaml: row "<key>"`, `table.csv:12` or `table.json: [3]`. */
  at: string;
}

export interface LutImportOptions {
  space: SpaceId | SpaceDocument;
  /** The device the source measured (the table's `device`). */
  device?: string;
  /** ISO time for `createdAt` (now when absent). */
  createdAt?: string;
}

/** A converted table and what the conversion noticed. */
export interface LutImportResult {
  table: LookupTable;
  /** Blocks per resolution and the file that gave them. */
  resolutions: { resolution: number; blocks: number; files: string[] }[];
  /** Source rows read. */
  rows: number;
  /** Source rows no block of the space (at the table's resolutions) uses. */
  unused: SourceRow[];
  /**
   * OFA: entries whose rows appear in two files (blocks whose shapes coincide at two resolutions, e.g. the
   * 7x7 ones at 208 and 224), pooled into one entry; `disagree` when the files' means differ beyond their intervals.
   */
  pooled: { key: string; row: string; means: number[]; files: string[]; disagree: boolean }[];
}

// ---------------------------------------------------------------------------------------------------------
// OFA LatencyTable rows

/** A parsed OFA row key: `op-input:HxWxC-output:HxWxC[-expand:..-kernel:..-stride:..-idskip:..-se:..-hs:..]`. */
export interface OfaRowKey {
  op: string;
  /** Shapes as OFA writes them: [H, W, C], or [N] for the classifier's output. */
  input: number[];
  output: number[];
  expand?: number;
  kernel?: number;
  stride?: number;
  idskip?: number;
  se?: number;
  hs?: number;
}

const OFA_FIELDS = ['expand', 'kernel', 'stride', 'idskip', 'se', 'hs'] as const;
const OFA_KEY_FORM = '<op>-input:HxWxC-output:HxWxC[-expand:N-kernel:N-stride:N-idskip:0|1-se:0|1-hs:0|1]';

export function parseOfaRowKey(key: string): OfaRowKey | undefined {
  const [op, ...parts] = key.split('-');
  if (!op || !/^[A-Za-z][A-Za-z0-9_]*$/.test(op) || parts.length < 2) return undefined;
  const dims = (text: string) => (/^\d+(x\d+)*$/.test(text) ? text.split('x').map(Number) : undefined);
  const [input, output] = [parts[0]!, parts[1]!].map((part, i) => (part.startsWith(i === 0 ? 'input:' : 'output:') ? dims(part.slice(part.indexOf(':') + 1)) : undefined));
  if (!input || !output) return undefined;
  const row: OfaRowKey = { op, input, output };
  for (const part of parts.slice(2)) {
    const match = /^([a-z]+):(\d+)$/.exec(part);
    const name = match?.[1] as (typeof OFA_FIELDS)[number] | undefined;
    if (!match || !name || !OFA_FIELDS.includes(name) || row[name] !== undefined) return undefined;
    row[name] = Number(match[2]);
  }
  return row;
}

export function formatOfaRowKey(row: OfaRowKey): string {
  const parts = [row.op, `input:${row.input.join('x')}`, `output:${row.output.join('x')}`];
  for (const name of OFA_FIELDS) if (row[name] !== undefined) parts.push(`${name}:${row[name]}`);
  return parts.join('-');
}

/** OFA writes shapes H x W x C; blockscope's are [C, H, W]. */
const hwc = (shape: Shape) => [shape[1], shape[2], shape[0]];

/**
 * The OFA rows whose sum is a block's latency, or why OFA's MobileNetV3 rows cannot express the block.
 * The stem is `Conv`; the first block and every MBConv layer one `expanded_conv` row (`expand` is the hidden
 * width, `idskip` the residual, `hs` h-swish against relu); the head `Conv_1` + `AvgPool2D` + `Conv_2` + `Logits`,
 * whose widths are read from the head block's own nodes.
 */
export function ofaRowsOfBlock(block: IRBlock): { rows: OfaRowKey[] } | { reason: string } {
  const d = block.descriptor;
  switch (d.type) {
    case 'stem':
      if (d.kernel !== 3 || d.stride !== 2 || d.activation !== 'hswish') {
        return { reason: `OFA's MobileNetV3 stem row (Conv) is a 3x3 stride-2 convolution with h-swish; this stem is k=${d.kernel} s=${d.stride} act=${d.activation}` };
      }
      return { rows: [{ op: 'Conv', input: hwc(d.inShape), output: hwc(d.outShape) }] };
    case 'first':
    case 'mbconv': {
      if (d.activation !== 'relu' && d.activation !== 'hswish') {
        return { reason: `OFA's MobileNetV3 rows have hs:0 (relu) or hs:1 (h-swish); this ${d.type} block has act=${d.activation}` };
      }
      return {
        rows: [
          {
            op: 'expanded_conv',
            input: hwc(d.inShape),
            output: hwc(d.outShape),
            expand: d.mid,
            kernel: d.kernel,
            stride: d.stride,
            idskip: d.residual ? 1 : 0,
            se: d.se ? 1 : 0,
            hs: d.activation === 'hswish' ? 1 : 0,
          },
        ],
      };
    }
    case 'head': {
      const ops = block.nodes.map((n) => n.op);
      const [expand, pool, mix, , classifier] = block.nodes;
      if (ops.join(',') !== 'conv,globalAvgPool,conv,flatten,linear' || expand?.op !== 'conv' || pool?.op !== 'globalAvgPool' || mix?.op !== 'conv' || classifier?.op !== 'linear') {
        return { reason: `OFA's MobileNetV3 head rows are Conv_1 + AvgPool2D + Conv_2 + Logits (1x1 conv, pooling, 1x1 conv, classifier); this head is ${ops.join(' + ')}` };
      }
      const [c, h, w] = d.inShape;
      return {
        rows: [
          { op: 'Conv_1', input: [h, w, c], output: [h, w, expand.cout] },
          { op: 'AvgPool2D', input: [h, w, expand.cout], output: [1, 1, expand.cout] },
          { op: 'Conv_2', input: [1, 1, expand.cout], output: [1, 1, mix.cout] },
          { op: 'Logits', input: [1, 1, mix.cout], output: [classifier.cout] },
        ],
      };
    }
    default:
      return { reason: `OFA's MobileNetV3 rows describe MBConv networks; this space has ${d.type} blocks` };
  }
}

const ofaRowValueSchema = strictObject({
  count: z.number().int().min(1),
  mean: z.number().nonnegative(),
  std: z.number().nonnegative(),
});

export interface OfaSourceRow extends SourceRow {
  parsed: OfaRowKey;
}

/** Parses one OFA LatencyTable file (YAML): every row's key and `{count, mean, std}`; problems name the file and the row. */
export function parseOfaTable(text: string, file: string): OfaSourceRow[] {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new LookupTableImportError(`${file}: not valid YAML: ${errorMessage(error).split('\n')[0]}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new LookupTableImportError(`${file}: expected OFA LatencyTable rows (a mapping of "${OFA_KEY_FORM}" to {count, mean, std})`);
  }
  const problems: string[] = [];
  const rows: OfaSourceRow[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const parsed = parseOfaRowKey(key);
    if (!parsed) {
      problems.push(`${file}: row "${key}": not an OFA row key; expected ${OFA_KEY_FORM}`);
      continue;
    }
    try {
      const stat = parseWith(ofaRowValueSchema, value, `${file}: row "${key}"`);
      rows.push({ key, file, at: `${file}: row "${key}"`, ms: stat.mean, std: stat.std, count: stat.count, parsed });
    } catch (error) {
      problems.push(errorMessage(error));
    }
  }
  if (problems.length > 0) throw new LookupTableImportError(problems.join('\n'));
  return rows;
}

/**
 * Converts OFA LatencyTable files, one per resolution, into a lookup table of the space: every distinct block
 * at every file's resolution gets its row (the head the sum of its four rows). A file's resolution is its stem
 * row's input size. An incomplete source is refused with every missing block, the row that was looked for and
 * how the source's nearest rows differ from the space.
 */
export function convertOfaTables(sources: readonly SourceFile[], options: LutImportOptions): LutImportResult {
  const doc = typeof options.space === 'string' ? originalSpace(options.space) : options.space;
  const spaceId = doc.space;
  if (sources.length === 0) throw new LookupTableImportError('no OFA table files given');
  const files = sources.map((source) => ({ source, rows: parseOfaTable(source.text, source.path) }));

  // Every block of the space at some allowed resolution, with its OFA rows: the space must be expressible at all.
  const reasons = new Set<string>();
  const expectedAt = new Map<number, { key: string; block: IRBlock; rows: OfaRowKey[] }[]>();
  for (const resolution of doc.resolutions) {
    const blocks = distinctBlocks(doc, [resolution]).map(({ key, block }) => {
      const mapped = ofaRowsOfBlock(block);
      if ('reason' in mapped) reasons.add(mapped.reason);
      return { key, block, rows: 'rows' in mapped ? mapped.rows : [] };
    });
    expectedAt.set(resolution, blocks);
  }
  if (reasons.size > 0) {
    throw new LookupTableImportError(
      `--format ofa cannot fill a table of ${spaceId}: ${[...reasons].join('; ')}. Convert such a table to the generic form (--format csv or json; \`blockscope lut blocks --space ${spaceId}\` lists the keys it needs)`,
    );
  }

  // Each file's resolution: its stem row's input size (or, without a stem row, the allowed resolution whose rows it holds most of).
  const byResolution = new Map<number, { source: SourceFile; rows: OfaSourceRow[] }>();
  const problems: string[] = [];
  for (const { source, rows } of files) {
    const resolution = ofaResolution(source.path, rows, doc, expectedAt);
    const other = byResolution.get(resolution);
    if (other) {
      problems.push(`${source.path}: is at resolution ${resolution}, as ${other.source.path} is; give one file per resolution`);
      continue;
    }
    byResolution.set(resolution, { source, rows });
  }
  if (problems.length > 0) throw new LookupTableImportError(problems.join('\n'));
  const resolutions = [...byResolution.keys()].sort((a, b) => a - b);

  // Which rows each block uses; a missing row is a problem, with the source's nearest rows described.
  const missingKeys: string[] = [];
  const unused: SourceRow[] = [];
  const samples = new Map<string, { block: IRBlock; rows: Map<string, OfaSourceRow[]> }>();
  for (const resolution of resolutions) {
    const { source, rows } = byResolution.get(resolution)!;
    const byKey = new Map(rows.map((row) => [row.key, row]));
    const used = new Set<string>();
    const missing: string[] = [];
    const expected = expectedAt.get(resolution)!;
    for (const { key, block, rows: wanted } of expected) {
      const found = wanted.map((want) => byKey.get(formatOfaRowKey(want)));
      const absent = wanted.filter((_, i) => !found[i]);
      if (absent.length > 0) {
        missingKeys.push(key);
        const looked = absent.map((want) => `${formatOfaRowKey(want)}${describeOfaNearest(want, block.descriptor, rows, spaceId)}`);
        missing.push(`  ${key}: no row ${looked.join('; no row ')}`);
        continue;
      }
      const entry = samples.get(key) ?? { block, rows: new Map<string, OfaSourceRow[]>() };
      for (const row of found as OfaSourceRow[]) {
        used.add(row.key);
        entry.rows.set(row.key, [...(entry.rows.get(row.key) ?? []), row]);
      }
      samples.set(key, entry);
    }
    if (missing.length > 0) {
      problems.push(
        `${source.path} (resolution ${resolution}): ${missing.length} of ${expected.length} blocks of ${spaceId} have no row`,
        ...missing.slice(0, MAX_LISTED),
        ...(missing.length > MAX_LISTED
          ? [`  … and ${missing.length - MAX_LISTED} more (\`blockscope lut blocks --space ${spaceId} --resolution ${resolution}\` lists every block)`]
          : []),
      );
    }
    unused.push(...rows.filter((row) => !used.has(row.key)));
  }
  if (problems.length > 0) {
    throw new LookupTableImportError(`the OFA table is incomplete for ${spaceId}; no table was written:\n${problems.join('\n')}`, missingKeys);
  }

  const entries: Record<string, LookupTableEntry> = {};
  const pooled: LutImportResult['pooled'] = [];
  for (const [key, { block, rows }] of samples) {
    const stats = [...rows.values()].map((same) => poolStats(same));
    entries[key] = { ...sumEntry(stats), block: block.name };
    for (const [rowKey, same] of rows) {
      if (same.length < 2) continue;
      pooled.push({ key, row: rowKey, means: same.map((r) => r.ms), files: same.map((r) => r.file), disagree: !intervalsOverlap(same) });
    }
  }
  const sourceText = resolutions.map((r) => describeFile(byResolution.get(r)!.source, r)).join(', ');
  return {
    table: {
      kind: LUT_KIND,
      device: options.device ?? DEFAULT_IMPORT_DEVICE,
      space: spaceId,
      resolutions,
      statistic: 'mean',
      source: `OFA LatencyTable rows, mean of count runs${pooled.length > 0 ? ' (a row in two files pools both)' : ''}: ${sourceText}`,
      createdAt: options.createdAt ?? new Date().toISOString(),
      entries,
    },
    resolutions: resolutions.map((r) => ({ resolution: r, blocks: expectedAt.get(r)!.length, files: [byResolution.get(r)!.source.path] })),
    rows: files.reduce((n, f) => n + f.rows.length, 0),
    unused,
    pooled,
  };
}

function ofaResolution(file: string, rows: readonly OfaSourceRow[], doc: SpaceDocument, expectedAt: ReadonlyMap<number, { rows: OfaRowKey[] }[]>): number {
  const stems = rows.filter((row) => row.parsed.op === 'Conv' && row.parsed.input.length === 3 && row.parsed.input[2] === 3);
  const sizes = [...new Set(stems.map((row) => row.parsed.input[0]!))];
  if (sizes.length > 1) {
    throw new LookupTableImportError(`${file}: stem rows at ${sizes.length} resolutions (${stems.map((r) => r.key).join(', ')}); give one file per resolution`);
  }
  if (sizes.length === 1) {
    const [resolution] = sizes as [number];
    const stem = stems[0]!;
    if (stem.parsed.input[1] !== resolution) throw new LookupTableImportError(`${file}: stem row "${stem.key}" is not square; ${doc.space}'s inputs are R x R`);
    if (!doc.resolutions.includes(resolution)) {
      throw new LookupTableImportError(`${file}: resolution ${resolution} (its stem row "${stem.key}") is not allowed in ${doc.space}; allowed: ${doc.resolutions.join(', ')}`);
    }
    return resolution;
  }
  // No stem row: the allowed resolution whose rows the file holds most of, so the stem is then reported missing.
  const keys = new Set(rows.map((row) => row.key));
  let best: { resolution: number; hits: number } | undefined;
  for (const [resolution, blocks] of expectedAt) {
    const hits = blocks.flatMap((b) => b.rows).filter((row) => keys.has(formatOfaRowKey(row))).length;
    if (hits > 0 && (!best || hits > best.hits)) best = { resolution, hits };
  }
  if (!best) {
    throw new LookupTableImportError(
      `${file}: no stem row (Conv-input:RxRx3-output:...) gives its resolution, and none of its ${rows.length} rows is a block of ${doc.space} at ${doc.resolutions.join(', ')}`,
    );
  }
  return best.resolution;
}

/** OFA field → the blockscope key field it corresponds to, for messages. */
function blockscopeField(name: string, d: BlockDescriptor): string | undefined {
  switch (name) {
    case 'input':
      return `in=${d.inShape.join('x')}`;
    case 'output':
      return `out=${d.outShape.join('x')}`;
    case 'expand':
      return d.mid === undefined ? undefined : `mid=${d.mid}`;
    case 'kernel':
      return d.kernel === undefined ? undefined : `k=${d.kernel}`;
    case 'stride':
      return d.stride === undefined ? undefined : `s=${d.stride}`;
    case 'idskip':
      return d.residual === undefined ? undefined : `res=${d.residual ? 1 : 0}`;
    case 'se':
      return d.se === undefined ? undefined : `se=${d.se ? 1 : 0}`;
    case 'hs':
      return d.activation === undefined ? undefined : `act=${d.activation}`;
    default:
      return undefined;
  }
}

function ofaFields(row: OfaRowKey): [string, string][] {
  const fields: [string, string][] = [
    ['input', row.input.join('x')],
    ['output', row.output.join('x')],
  ];
  for (const name of OFA_FIELDS) if (row[name] !== undefined) fields.push([name, String(row[name])]);
  return fields;
}

/** How the source's rows nearest to a missing one differ from it, as "; the source has se:1 where ofa-mbv3 has se=0 (row ...)". */
function describeOfaNearest(want: OfaRowKey, descriptor: BlockDescriptor, rows: readonly OfaSourceRow[], spaceId: string): string {
  const sameOp = rows.filter((row) => row.parsed.op === want.op);
  if (sameOp.length === 0) {
    const ops = [...new Set(rows.map((row) => row.parsed.op))].sort();
    return ` (the source has no ${want.op} row at all; its rows are ${ops.join(', ')}${want.op === 'Conv' ? '' : descriptor.type === 'head' ? ': another head' : ''})`;
  }
  const nearest = nearestRow(
    ofaFields(want),
    sameOp.map((row) => ({ fields: ofaFields(row.parsed), label: `row ${row.key}` })),
    (a, b) => spatialOf(a) === spatialOf(b),
  );
  if (!nearest) return '';
  const source = nearest.differ.map((name) => `${name}:${nearest.fields.get(name) ?? '(none)'}`).join(' ');
  const ours =
    descriptor.type === 'head'
      ? `${spaceId}'s head needs ${nearest.differ.map((name) => `${name}:${new Map(ofaFields(want)).get(name) ?? '(none)'}`).join(' ')}`
      : `${spaceId} has ${nearest.differ.map((name) => blockscopeField(name, descriptor) ?? `${name}:${new Map(ofaFields(want)).get(name)}`).join(' ')}`;
  return ` (the source has ${source} where ${ours}${nearest.kind === 'width' ? (descriptor.type === 'head' ? ': another head' : ': another width') : ''}; ${nearest.label})`;
}

/** "112x112x24" → "112x112" (OFA's H x W x C), "24x112x112" → "112x112" (blockscope's C x H x W): the spatial part of a shape. */
function spatialOf(value: string, channelsFirst = false): string {
  const dims = value.split('x');
  if (dims.length !== 3) return value;
  return (channelsFirst ? dims.slice(1) : dims.slice(0, 2)).join('x');
}

const FLAG_FIELDS = new Set(['idskip', 'se', 'hs', 'res', 'act']);
const SHAPE_FIELDS = new Set(['input', 'output', 'in', 'out']);
const WIDTH_FIELDS = new Set(['expand', 'mid', 'e']);
/** A block's own choices (kernel, expand ratio): a row that differs only in them is another block, not another structure. */
const CHOICE_FIELDS = new Set(['expand', 'mid', 'e', 'kernel', 'k']);

/**
 * Of a set of candidate rows (same op or block type), the one whose difference from the wanted one says how
 * the source's structure differs from the space: only in flags (se, activation, residual), else only in widths
 * (channels at the same spatial sizes, with the hidden width). A candidate that differs only in the block's own
 * choices (kernel, expand) is another block of the same structure, and one that differs in more is another layer:
 * neither is named.
 */
function nearestRow(
  wanted: [string, string][],
  candidates: { fields: [string, string][]; label: string }[],
  sameSpatial: (a: string, b: string) => boolean,
): { kind: 'flags' | 'width'; differ: string[]; fields: Map<string, string>; label: string } | undefined {
  const want = new Map(wanted);
  let best: { rank: number; kind: 'flags' | 'width'; differ: string[]; fields: Map<string, string>; label: string } | undefined;
  for (const candidate of candidates) {
    const fields = new Map(candidate.fields);
    const names = [...new Set([...want.keys(), ...fields.keys()])];
    const differ = names.filter((name) => want.get(name) !== fields.get(name));
    if (differ.length === 0 || differ.every((name) => CHOICE_FIELDS.has(name))) continue;
    const shapes = differ.filter((name) => SHAPE_FIELDS.has(name));
    let kind: 'flags' | 'width';
    if (differ.every((name) => FLAG_FIELDS.has(name))) kind = 'flags';
    else if (
      shapes.length > 0 &&
      shapes.every((name) => sameSpatial(want.get(name) ?? '', fields.get(name) ?? '')) &&
      differ.every((name) => SHAPE_FIELDS.has(name) || WIDTH_FIELDS.has(name))
    )
      kind = 'width';
    else continue;
    const rank = (kind === 'flags' ? 0 : 100) + differ.length;
    if (!best || rank < best.rank) best = { rank, kind, differ, fields, label: candidate.label };
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------
// The generic form: one row per blockscope block key

const BLOCK_KEY_FORM =
  'TYPE:in=CxHxW:out=CxHxW[:k=K][:e=E][:mid=M][:s=S][:se=0|1][:act=ACT][:res=0|1] with TYPE one of stem, first, mbconv, resnet-stem, bottleneck, head (`blockscope lut blocks` lists them)';
const KEY_FIELDS: readonly [string, RegExp][] = [
  ['k', /^\d+$/],
  ['e', /^\d+(\.\d+)?$/],
  ['mid', /^\d+$/],
  ['s', /^\d+$/],
  ['se', /^[01]$/],
  ['act', /^(relu|relu6|hswish|hsigmoid)$/],
  ['res', /^[01]$/],
];

/** A blockscope block key's fields in order ([['type', 'mbconv'], ['in', '32x56x56'], ...]), or undefined when it is not one. */
export function parseBlockKey(key: string): [string, string][] | undefined {
  const [type, inPart, outPart, ...rest] = key.split(':');
  if (!type || !['stem', 'first', 'mbconv', 'resnet-stem', 'bottleneck', 'head'].includes(type)) return undefined;
  const shape = (part: string | undefined, name: string) => (part && new RegExp(`^${name}=\\d+x\\d+x\\d+$`).test(part) ? part.slice(name.length + 1) : undefined);
  const [input, output] = [shape(inPart, 'in'), shape(outPart, 'out')];
  if (!input || !output) return undefined;
  const fields: [string, string][] = [
    ['type', type],
    ['in', input],
    ['out', output],
  ];
  let next = 0;
  for (const part of rest) {
    const [name, value] = part.split('=');
    const at = KEY_FIELDS.findIndex(([field]) => field === name);
    if (at < next || value === undefined || !KEY_FIELDS[at]![1].test(value)) return undefined;
    fields.push([name!, value]);
    next = at + 1;
  }
  return fields;
}

/** Parses the generic CSV form: a header naming `block`, `ms` and any of `std`, `count`, `ci95_low`, `ci95_high`, then one row per block. */
export function parseGenericCsv(text: string, file: string): SourceRow[] {
  const lines = text.split(/\r?\n/).map((line, i) => ({ line: line.trim(), number: i + 1 }));
  const content = lines.filter(({ line }) => line !== '' && !line.startsWith('#'));
  const header = content[0];
  if (!header) throw new LookupTableImportError(`${file}: empty; expected a header line "block,ms[,std][,count][,ci95_low,ci95_high]" and one row per block`);
  const columns = header.line.split(',').map((c) => c.trim());
  const problems: string[] = [];
  for (const column of columns) {
    if (!(CSV_COLUMNS as readonly string[]).includes(column)) problems.push(`${file}:${header.number}: unknown column "${column}"; allowed: ${CSV_COLUMNS.join(', ')}`);
  }
  for (const column of ['block', 'ms'])
    if (!columns.includes(column))
      problems.push(`${file}:${header.number}: required column "${column}" missing (the header names block, ms and any of std, count, ci95_low, ci95_high)`);
  if (columns.includes('ci95_low') !== columns.includes('ci95_high')) problems.push(`${file}:${header.number}: ci95_low and ci95_high come together`);
  const repeated = columns.filter((c, i) => columns.indexOf(c) !== i);
  if (repeated.length > 0) problems.push(`${file}:${header.number}: column "${repeated[0]}" appears twice`);
  if (problems.length > 0) throw new LookupTableImportError(problems.join('\n'));
  const rows: SourceRow[] = [];
  for (const { line, number: lineNumber } of content.slice(1)) {
    const at = `${file}:${lineNumber}`;
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== columns.length) {
      problems.push(`${at}: ${cells.length} fields where the header has ${columns.length} (${columns.join(', ')})`);
      continue;
    }
    const cell = (name: string) => {
      const value = cells[columns.indexOf(name)];
      return value === undefined || value === '' ? undefined : value;
    };
    const number = (name: string, integer = false) => {
      const value = cell(name);
      if (value === undefined) return undefined;
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0 || (integer && (!Number.isInteger(n) || n < 1))) {
        problems.push(`${at}: ${name}: expected ${integer ? 'an integer ≥ 1 (the number of runs)' : 'a number ≥ 0 (milliseconds)'}, got ${JSON.stringify(value)}`);
      }
      return n;
    };
    const block = cell('block');
    if (block === undefined) problems.push(`${at}: block: required field missing (a block key: ${BLOCK_KEY_FORM})`);
    if (cell('ms') === undefined) problems.push(`${at}: ms: required field missing (the block's latency in milliseconds)`);
    const [ms, std, count, low, high] = [number('ms'), number('std'), number('count', true), number('ci95_low'), number('ci95_high')];
    if ((low === undefined) !== (high === undefined)) problems.push(`${at}: ci95_low and ci95_high: give both or neither`);
    if (block === undefined || ms === undefined) continue;
    rows.push({
      key: block,
      file,
      at,
      ms,
      ...(std !== undefined ? { std } : {}),
      ...(count !== undefined ? { count } : {}),
      ...(low !== undefined && high !== undefined ? { ci95: [low, high] as [number, number] } : {}),
    });
  }
  if (problems.length > 0) throw new LookupTableImportError(problems.join('\n'));
  return rows;
}

const genericJsonSchema = z.array(
  strictObject({
    /** A blockscope block key. */
    block: z.string().min(1),
    ms: z.number().nonnegative(),
    std: z.number().nonnegative().optional(),
    count: z.number().int().min(1).optional(),
    ci95: z.tuple([z.number().nonnegative(), z.number().nonnegative()]).optional(),
  }),
);

/** Parses the generic JSON form: `[{ "block": "...", "ms": .., "std"?: .., "count"?: .., "ci95"?: [low, high] }]`. */
export function parseGenericJson(text: string, file: string): SourceRow[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new LookupTableImportError(`${file}: not valid JSON: ${errorMessage(error)}`);
  }
  const entries = parseWith(genericJsonSchema, raw, file);
  return entries.map((entry, i) => ({ key: entry.block, file, at: `${file}: [${i}]`, ms: entry.ms, std: entry.std, count: entry.count, ci95: entry.ci95 }));
}

export function parseGenericTable(format: GenericFormat, text: string, file: string): SourceRow[] {
  return format === 'csv' ? parseGenericCsv(text, file) : parseGenericJson(text, file);
}

/**
 * Converts generic rows (blockscope block keys) into a lookup table of the space. The table covers
 * `resolutions` when given, else every allowed resolution some row names a block of that no other resolution
 * has. `statistic` says what `ms` is (median unless told); a mean with `std` and `count` gets the mean's 95%
 * interval, any row its own `ci95`. An incomplete source is refused like an OFA one.
 */
export function convertGenericRows(
  rows: readonly SourceRow[],
  sources: readonly SourceFile[],
  options: LutImportOptions & { format: GenericFormat; resolutions?: readonly number[]; statistic?: LookupTableStatistic },
): LutImportResult {
  const doc = typeof options.space === 'string' ? originalSpace(options.space) : options.space;
  const spaceId = doc.space;
  const statistic = options.statistic ?? 'median';
  const problems: string[] = [];
  const byKey = new Map<string, SourceRow>();
  for (const row of rows) {
    const at = fieldAt(row, 'block');
    if (!parseBlockKey(row.key)) {
      problems.push(`${at}: "${row.key}" is not a block key; expected ${BLOCK_KEY_FORM}`);
      continue;
    }
    const first = byKey.get(row.key);
    if (first) {
      problems.push(`${at}: "${row.key}" appears again (first at ${first.at}); give one row per block`);
      continue;
    }
    if (row.ci95 && !(row.ci95[0] <= row.ms && row.ms <= row.ci95[1])) {
      problems.push(`${fieldAt(row, 'ci95')}: [${row.ci95.join(', ')}] does not hold ms ${row.ms}; expected low ≤ ms ≤ high`);
    }
    byKey.set(row.key, row);
  }
  if (problems.length > 0) throw new LookupTableImportError(problems.join('\n'));

  const blocksAt = new Map(doc.resolutions.map((r) => [r, distinctBlocks(doc, [r])]));
  let resolutions: number[];
  if (options.resolutions && options.resolutions.length > 0) {
    for (const r of options.resolutions) {
      if (!doc.resolutions.includes(r)) throw new LookupTableImportError(`resolution ${r} is not allowed in ${spaceId}; allowed: ${doc.resolutions.join(', ')}`);
    }
    resolutions = [...new Set(options.resolutions)].sort((a, b) => a - b);
  } else {
    const owners = new Map<string, number[]>();
    for (const [r, blocks] of blocksAt) for (const { key } of blocks) owners.set(key, [...(owners.get(key) ?? []), r]);
    resolutions = doc.resolutions.filter((r) => [...byKey.keys()].some((key) => owners.get(key)?.length === 1 && owners.get(key)![0] === r));
    if (resolutions.length === 0) {
      throw new LookupTableImportError(
        `${sources.map((s) => s.path).join(', ')}: no row names a block of ${spaceId} at any of its resolutions (${doc.resolutions.join(', ')}); ` +
          `\`blockscope lut blocks --space ${spaceId}\` lists the keys, e.g. ${blocksAt.get(doc.resolutions[doc.resolutions.length - 1]!)![0]!.key}`,
      );
    }
  }

  const entries: Record<string, LookupTableEntry> = {};
  const missingKeys: string[] = [];
  const needed = new Set<string>();
  for (const resolution of resolutions) {
    const missing: string[] = [];
    const blocks = blocksAt.get(resolution)!;
    for (const { key, block } of blocks) {
      needed.add(key);
      const row = byKey.get(key);
      if (!row) {
        missingKeys.push(key);
        missing.push(`  ${key}${describeGenericNearest(key, [...byKey.values()], spaceId)}`);
        continue;
      }
      entries[key] = { ...genericEntry(row, statistic), block: block.name };
    }
    if (missing.length > 0) {
      problems.push(
        `resolution ${resolution}: ${missing.length} of ${blocks.length} blocks of ${spaceId} have no row`,
        ...missing.slice(0, MAX_LISTED),
        ...(missing.length > MAX_LISTED
          ? [`  … and ${missing.length - MAX_LISTED} more (\`blockscope lut blocks --space ${spaceId} --resolution ${resolution}\` lists every block)`]
          : []),
      );
    }
  }
  if (problems.length > 0) {
    throw new LookupTableImportError(`${sources.map((s) => s.path).join(', ')} is incomplete for ${spaceId}; no table was written:\n${problems.join('\n')}`, missingKeys);
  }
  const columns = [
    'block',
    'ms',
    ...(rows.some((r) => r.std !== undefined) ? ['std'] : []),
    ...(rows.some((r) => r.count !== undefined) ? ['count'] : []),
    ...(rows.some((r) => r.ci95) ? ['ci95'] : []),
  ];
  return {
    table: {
      kind: LUT_KIND,
      device: options.device ?? DEFAULT_IMPORT_DEVICE,
      space: spaceId,
      resolutions,
      ...(statistic === 'mean' ? { statistic } : {}),
      source: `generic ${options.format.toUpperCase()} rows (${columns.join(', ')}; ms is the ${statistic}): ${sources.map((s) => describeFile(s)).join(', ')}`,
      createdAt: options.createdAt ?? new Date().toISOString(),
      entries,
    },
    resolutions: resolutions.map((r) => ({ resolution: r, blocks: blocksAt.get(r)!.length, files: sources.map((s) => s.path) })),
    rows: rows.length,
    unused: [...byKey.values()].filter((row) => !needed.has(row.key)),
    pooled: [],
  };
}

function describeGenericNearest(key: string, rows: readonly SourceRow[], spaceId: string): string {
  const wanted = parseBlockKey(key)!;
  const type = wanted[0]![1];
  const candidates = rows.flatMap((row) => {
    const fields = parseBlockKey(row.key);
    return fields && fields[0]![1] === type ? [{ fields: fields.slice(1), label: `${row.at}: ${row.key}` }] : [];
  });
  if (candidates.length === 0) return ` (the source has no ${type} row at all)`;
  const nearest = nearestRow(wanted.slice(1), candidates, (a, b) => spatialOf(a, true) === spatialOf(b, true));
  if (!nearest) return '';
  const want = new Map(wanted);
  const render = (values: Map<string, string>) => nearest.differ.map((name) => `${name}=${values.get(name) ?? '(none)'}`).join(' ');
  return ` (the source has ${render(nearest.fields)} where ${spaceId} has ${render(want)}${nearest.kind === 'width' ? (type === 'head' ? ': another head' : ': another width') : ''}; ${nearest.label})`;
}

/** A row's field for messages: `table.csv:12: block`, `table.json: [3].block`. */
function fieldAt(row: SourceRow, name: string): string {
  return row.at.endsWith(']') ? `${row.at}.${name}` : `${row.at}: ${name}`;
}

function genericEntry(row: SourceRow, statistic: LookupTableStatistic): LookupTableEntry {
  const entry: LookupTableEntry = { ms: row.ms };
  if (row.std !== undefined) entry.stdMs = row.std;
  if (row.count !== undefined) entry.runs = row.count;
  if (row.ci95) entry.ci95Ms = [row.ci95[0], row.ci95[1]];
  else if (statistic === 'mean' && row.std !== undefined && row.count !== undefined) entry.ci95Ms = meanInterval(row.ms, (row.std * row.std) / row.count);
  return entry;
}

/** The generic form of a table, to edit or to convert back with `lut import --format csv|json`. */
export function lookupTableToGeneric(table: LookupTable, format: GenericFormat): string {
  const keys = Object.keys(table.entries).sort((a, b) => a.localeCompare(b));
  if (format === 'json') {
    const rows = keys.map((block) => {
      const e = table.entries[block]!;
      return { block, ms: e.ms, ...(e.stdMs !== undefined ? { std: e.stdMs } : {}), ...(e.runs !== undefined ? { count: e.runs } : {}), ...(e.ci95Ms ? { ci95: e.ci95Ms } : {}) };
    });
    return `${JSON.stringify(rows, null, 2)}\n`;
  }
  const entries = keys.map((key) => table.entries[key]!);
  const columns = [
    'block',
    'ms',
    ...(entries.some((e) => e.stdMs !== undefined) ? ['std'] : []),
    ...(entries.some((e) => e.runs !== undefined) ? ['count'] : []),
    ...(entries.some((e) => e.ci95Ms) ? ['ci95_low', 'ci95_high'] : []),
  ];
  const cell = (key: string, e: LookupTableEntry, column: string) => {
    const value = { block: key, ms: e.ms, std: e.stdMs, count: e.runs, ci95_low: e.ci95Ms?.[0], ci95_high: e.ci95Ms?.[1] }[column];
    return value === undefined ? '' : String(value);
  };
  return `${[columns.join(','), ...keys.map((key) => columns.map((c) => cell(key, table.entries[key]!, c)).join(','))].join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------
// Statistics of summed and pooled rows

/** Rows of the same block measured in several files (the same row key): one sample of all their runs. */
function poolStats(rows: readonly SourceStat[]): Required<Pick<SourceStat, 'ms' | 'std' | 'count'>> {
  if (rows.length === 1) {
    const [row] = rows as [SourceStat];
    return { ms: row.ms, std: row.std!, count: row.count! };
  }
  const n = rows.reduce((total, r) => total + r.count!, 0);
  const mean = rows.reduce((total, r) => total + r.count! * r.ms, 0) / n;
  const variance = rows.reduce((total, r) => total + r.count! * (r.std! ** 2 + (r.ms - mean) ** 2), 0) / n;
  return { ms: mean, std: Math.sqrt(variance), count: n };
}

/** An entry that is the sum of independent rows' means: summed means and variances, the fewest runs, the sum's 95% interval. */
function sumEntry(rows: readonly Required<Pick<SourceStat, 'ms' | 'std' | 'count'>>[]): LookupTableEntry {
  if (rows.length === 1) {
    const [row] = rows as [Required<Pick<SourceStat, 'ms' | 'std' | 'count'>>];
    return { ms: row.ms, stdMs: row.std, runs: row.count, ci95Ms: meanInterval(row.ms, row.std ** 2 / row.count) };
  }
  const ms = rows.reduce((total, r) => total + r.ms, 0);
  return {
    ms,
    stdMs: Math.sqrt(rows.reduce((total, r) => total + r.std ** 2, 0)),
    runs: Math.min(...rows.map((r) => r.count)),
    ci95Ms: meanInterval(
      ms,
      rows.reduce((total, r) => total + r.std ** 2 / r.count, 0),
    ),
  };
}

/** mean ± 1.96 standard errors (not below 0). */
function meanInterval(mean: number, varianceOfMean: number): [number, number] {
  const half = Z95 * Math.sqrt(varianceOfMean);
  return [Math.max(0, mean - half), mean + half];
}

/** Whether every pair of the rows' 95% intervals of the mean overlaps. */
function intervalsOverlap(rows: readonly SourceStat[]): boolean {
  const intervals = rows.map((r) => meanInterval(r.ms, r.std! ** 2 / r.count!));
  return intervals.every(([lo, hi]) => intervals.every(([lo2, hi2]) => lo <= hi2 && lo2 <= hi));
}

function describeFile(source: SourceFile, resolution?: number): string {
  return `${basename(source.path)}${resolution !== undefined ? ` at ${resolution}` : ''}${source.sha256 ? ` (sha256 ${source.sha256.slice(0, 12)})` : ''}`;
}

// ---------------------------------------------------------------------------------------------------------
// Files

async function readSource(path: string, field: string): Promise<SourceFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new LookupTableImportError(`${field}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? errorMessage(error)})`);
  }
  return { path, text: bytes.toString('utf8'), sha256: sha256Hex(bytes) };
}

/** Reads the source files and converts them (`convertOfaTables` or `convertGenericRows`); `field` names the files in a read error (default "source table"). */
export async function importLookupTableFiles(
  paths: readonly string[],
  options: LutImportOptions & { format: LutImportFormat; resolutions?: readonly number[]; statistic?: LookupTableStatistic; field?: string },
): Promise<LutImportResult> {
  const sources = await Promise.all(paths.map((path) => readSource(path, options.field ?? 'source table')));
  const { format } = options;
  if (format === 'ofa') return convertOfaTables(sources, options);
  const rows = sources.flatMap((source) => parseGenericTable(format, source.text, source.path));
  return convertGenericRows(rows, sources, { ...options, format });
}

/** Writes a table's generic form (CSV or JSON). */
export async function exportLookupTableFile(path: string, table: LookupTable, format: GenericFormat): Promise<void> {
  await writeFile(path, lookupTableToGeneric(table, format));
}
