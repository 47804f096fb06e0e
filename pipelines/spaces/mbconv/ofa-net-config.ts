/**
 * Imports a network published by Once-for-All (its `net.config` JSON: `first_conv`, `blocks`, `final_expand_layer`,
 * `feature_mix_layer`, `classifier`) as an architecture of an MBConv-family space, and proves it is one: the candidate
 * architecture's network (buildNetwork) must agree with the net.config block by block (channels and spatial size in
 * and out, kernel, expand, mid channels, stride, SE, activation, residual) and in the stem and head widths. Any
 * difference is a refusal naming the net.config field. Pure: the caller reads the files (the resolution is
 * run.config's `image_size`, or an override).
 */
import { z } from 'zod';
import { convOutSize, type BlockDescriptor, type IRBlock } from '../../network/ir.js';
import { describeZodIssue } from '../../zod-issues.js';
import type { MbSpaceDefinition } from '../definition.js';
import { designSpace } from '../registry.js';
import { SpaceValidationError, type MbArchitecture, type SpaceId } from '../types.js';
import { validateArchitecture } from '../validate.js';
import { mbBlockName, mbMacro } from './network.js';

export const OFA_NET_CONFIG_FORMAT = 'ofa-net-config';

/** A net.config or run.config that is not the JSON OFA writes (a missing or mistyped field); `field` names it. */
export class OfaNetConfigFormatError extends SpaceValidationError {
  constructor(field: string, message: string) {
    super(field, message);
    this.name = 'OfaNetConfigFormatError';
  }
}

const positiveInt = z.number().int().min(1);
const convLayer = z.object({ in_channels: positiveInt, out_channels: positiveInt, kernel_size: positiveInt, stride: positiveInt, act_func: z.string().nullish() });
const netConfigSchema = z.object({
  name: z.string().optional(),
  first_conv: convLayer,
  blocks: z
    .array(
      z.object({
        mobile_inverted_conv: z.object({
          in_channels: positiveInt,
          out_channels: positiveInt,
          kernel_size: positiveInt,
          stride: positiveInt,
          expand_ratio: z.number().positive(),
          mid_channels: positiveInt.nullish(),
          act_func: z.string(),
          use_se: z.boolean(),
        }),
        shortcut: z.object({ name: z.string() }).nullish(),
      }),
    )
    .min(1),
  final_expand_layer: convLayer.nullish(),
  feature_mix_layer: convLayer,
  classifier: z.object({ in_features: positiveInt, out_features: positiveInt }),
});
type NetConfig = z.output<typeof netConfigSchema>;

function parse<T>(schema: z.ZodType<T>, raw: unknown, top: string): T {
  const result = schema.safeParse(raw);
  if (!result.success) {
    // describeZodIssue's one wording, "field: what is wrong", split back into the error's two parts.
    const problem = describeZodIssue(result.error.issues[0]!, top);
    const at = problem.indexOf(': ');
    throw new OfaNetConfigFormatError(problem.slice(0, at), problem.slice(at + 2));
  }
  return result.data;
}

/** The input resolution a run.config gives (`image_size`, one integer; OFA's training configs may list several). */
export function ofaRunConfigResolution(raw: unknown): number {
  return parse(z.object({ image_size: z.number().int().min(1) }), raw, 'run.config').image_size;
}

/** OFA's activation names as blockscope's; an unknown one stays as written, so it differs from every space's. */
const ACTIVATIONS: Record<string, string> = { relu: 'relu', relu6: 'relu6', h_swish: 'hswish' };
const activationOf = (name: string | null | undefined) => (name ? (ACTIVATIONS[name] ?? name) : 'none');

export interface OfaNetConfigImport {
  /** The parsed net.config. */
  net: unknown;
  /** The input resolution: run.config's image_size, or an override. */
  resolution: number;
  /** Where the resolution came from, as refusals name it; default "run.config image_size". */
  resolutionSource?: string;
}

/**
 * The architecture of `spaceId` (an MBConv-family space) that an OFA net.config describes; throws
 * SpaceValidationError naming the first difference (OfaNetConfigFormatError where the file is not a net.config).
 */
export function importOfaNetConfig(spaceId: SpaceId, input: OfaNetConfigImport): MbArchitecture {
  const space = designSpace(spaceId);
  if (space.definition.family !== 'mbconv') {
    throw new SpaceValidationError('space', `${space.id} is a ${space.definition.family} space; an OFA net.config (MBConv blocks) imports into an MBConv-family space`);
  }
  const definition: MbSpaceDefinition = space.definition;
  const macro = mbMacro(definition);
  const id = space.id;
  const net = parse(netConfigSchema, input.net, 'net.config');
  const { resolution } = input;
  const resolutionSource = input.resolutionSource ?? 'run.config image_size';
  if (!Number.isInteger(resolution) || resolution < 1) throw new OfaNetConfigFormatError(resolutionSource, `expected a positive integer, got ${JSON.stringify(resolution)}`);
  checkChain(net);

  // The macro structure first: the kind of head, then the widths (a net of another width names its multiplier).
  const expandLayer = net.final_expand_layer ?? undefined;
  const netName = net.name ?? 'OFA';
  if (Boolean(expandLayer) !== (macro.head.kind === 'mbv3')) {
    const mix = net.feature_mix_layer.out_channels;
    const theirs = expandLayer
      ? `expands to ${expandLayer.out_channels} (final_expand_layer) before a feature mix to ${mix}`
      : `is a feature mix to ${mix} only (no final_expand_layer)`;
    const ours = macro.head.kind === 'mbv3' ? `expands to ${macro.head.expand} before a feature mix to ${macro.head.mix}` : `is a feature mix to ${macro.head.mix} only`;
    throw new SpaceValidationError('head', `this ${netName} net's head ${theirs}, ${id}'s ${ours}: a different network structure`);
  }
  const units = groupUnits(net);
  if (net.first_conv.out_channels !== macro.stem.cout) {
    const multiplier = widthMultiplierOf(net, units, definition);
    const hint = multiplier === undefined ? '' : ` (a ${netName} w${multiplier} net; ${id} is w${formatMultiplier(definition.widthMultiplier)})`;
    throw new SpaceValidationError('first_conv', `stem width ${net.first_conv.out_channels}, ${id} has ${macro.stem.cout}${hint}`);
  }
  if (units.length !== macro.units.length) {
    throw new SpaceValidationError(
      'blocks',
      `${units.length} units by output width (${units.map((u) => u.width).join(', ')}), ${id} has ${macro.units.length} (${macro.units.map((u) => u.cout).join(', ')})`,
    );
  }

  // The candidate architecture, checked against the space's units (at the net's own resolution, checked last).
  const original = space.original();
  const candidate = { space: id, resolution, units: units.map((unit) => unit.blocks.map((i) => blockId(net, i))) };
  units.forEach((unit, u) => {
    const rule = original.units[u]!;
    const depth = unit.blocks.length;
    if (depth < rule.minLayers || depth > rule.maxLayers) {
      const allowed = rule.minLayers === rule.maxLayers ? `${rule.minLayers}` : `${rule.minLayers} to ${rule.maxLayers}`;
      throw new SpaceValidationError(`unit ${u} (${span(unit.blocks)})`, `${depth} layers, ${id}'s unit ${u} has ${allowed}`);
    }
    unit.blocks.forEach((i, l) => {
      const block = candidate.units[u]![l]!;
      if (!rule.blocks.includes(block)) {
        const conv = net.blocks[i]!.mobile_inverted_conv;
        throw new SpaceValidationError(
          `blocks[${i}]`,
          `${block} (expand_ratio ${conv.expand_ratio}, kernel_size ${conv.kernel_size}) is not a block of ${id}'s unit ${u}; allowed: ${rule.blocks.join(', ')}`,
        );
      }
    });
  });
  validateArchitecture(candidate, { ...original, resolutions: [resolution] });

  // Membership for real: blockscope's network of the candidate (what buildNetwork builds) against the net.config, block by block.
  const network = space.build(candidate);
  const [stem, ...rest] = network.blocks;
  const head = rest.pop()!;
  compareStem(net, stem!, resolution, id);
  let size = convOutSize(resolution, net.first_conv.kernel_size, net.first_conv.stride);
  net.blocks.forEach((block, i) => {
    const conv = block.mobile_inverted_conv;
    const outSize = convOutSize(size, conv.kernel_size, conv.stride);
    const ours = rest[i]!;
    compareBlock(`blocks[${i}]`, `${id}'s ${where(ours.name)}`, ours.descriptor, {
      'in channels': conv.in_channels,
      'in size': `${size}x${size}`,
      'out channels': conv.out_channels,
      'out size': `${outSize}x${outSize}`,
      kernel: conv.kernel_size,
      stride: conv.stride,
      expand: conv.expand_ratio,
      'mid channels': conv.mid_channels ?? conv.in_channels,
      se: conv.use_se ? 1 : 0,
      activation: activationOf(conv.act_func),
      residual: block.shortcut ? 1 : 0,
    });
    size = outSize;
  });
  compareHead(net, head, id);

  if (!original.resolutions.includes(resolution)) {
    throw new SpaceValidationError(
      resolutionSource,
      `resolution ${resolution} is not in ${id} (${original.resolutions.join(', ')}); every block and width matches, only the resolution is outside the space`,
    );
  }
  return validateArchitecture(candidate) as MbArchitecture;
}

/** Every layer's input is the previous layer's output (a net.config that is not a chain is malformed). */
function checkChain(net: NetConfig): void {
  let channels = net.first_conv.out_channels;
  let previous = 'first_conv';
  const link = (field: string, inChannels: number, outChannels: number) => {
    if (inChannels !== channels) throw new OfaNetConfigFormatError(field, `${inChannels} input channels, but ${previous} outputs ${channels}`);
    channels = outChannels;
    previous = field.replace(/\.[a-z_]+$/, '');
  };
  net.blocks.forEach((block, i) => link(`blocks[${i}].mobile_inverted_conv.in_channels`, block.mobile_inverted_conv.in_channels, block.mobile_inverted_conv.out_channels));
  if (net.final_expand_layer) link('final_expand_layer.in_channels', net.final_expand_layer.in_channels, net.final_expand_layer.out_channels);
  link('feature_mix_layer.in_channels', net.feature_mix_layer.in_channels, net.feature_mix_layer.out_channels);
  link('classifier.in_features', net.classifier.in_features, net.classifier.out_features);
}

interface NetUnit {
  width: number;
  /** Indices into net.config's blocks. */
  blocks: number[];
}

/** blocks[0] is the first block (expand 1); the rest form units, a unit starting where the output width changes. */
function groupUnits(net: NetConfig): NetUnit[] {
  const units: NetUnit[] = [];
  net.blocks.forEach((block, i) => {
    if (i === 0) return;
    const width = block.mobile_inverted_conv.out_channels;
    const last = units.at(-1);
    if (last && last.width === width) last.blocks.push(i);
    else units.push({ width, blocks: [i] });
  });
  return units;
}

function blockId(net: NetConfig, i: number): string {
  const conv = net.blocks[i]!.mobile_inverted_conv;
  return mbBlockName(conv.expand_ratio, conv.kernel_size);
}

function span(blocks: number[]): string {
  return blocks.length === 1 ? `blocks[${blocks[0]}]` : `blocks[${blocks[0]}..${blocks.at(-1)}]`;
}

/** "u2.l0" → "unit 2 layer 0", "first" → "first block". */
function where(blockName: string): string {
  const match = /^u(\d+)\.l(\d+)$/.exec(blockName);
  return match ? `unit ${match[1]} layer ${match[2]}` : `${blockName} block`;
}

function formatMultiplier(m: number): string {
  return Number.isInteger(m * 10) ? m.toFixed(1) : String(m);
}

/**
 * The width multiplier (0.05 to 4, in steps of 0.05) at which the space's definition has exactly the net's widths
 * (stem, first block, units, head), or undefined: "a MobileNetV3 w1.0 net" in a refusal.
 */
function widthMultiplierOf(net: NetConfig, units: NetUnit[], definition: MbSpaceDefinition): string | undefined {
  if (units.length !== definition.units.length) return undefined;
  const widths = (m: number) => {
    const macro = mbMacro({ ...definition, widthMultiplier: m });
    return [macro.stem.cout, macro.first.cout, ...macro.units.map((u) => u.cout), macro.head.kind === 'mbv3' ? macro.head.expand : 0, macro.head.mix];
  };
  const ours = [
    net.first_conv.out_channels,
    net.blocks[0]!.mobile_inverted_conv.out_channels,
    ...units.map((u) => u.width),
    net.final_expand_layer?.out_channels ?? 0,
    net.feature_mix_layer.out_channels,
  ].join();
  const matches = Array.from({ length: 80 }, (_, i) => (i + 1) / 20).filter((m) => widths(m).join() === ours);
  // Of several multipliers giving the same widths, the one with the fewest digits (1.0 rather than 0.95 or 1.05).
  return matches.map(formatMultiplier).sort((a, b) => a.length - b.length)[0];
}

const flag = (value: boolean | undefined) => (value ? 1 : 0);

function compareBlock(field: string, ours: string, descriptor: BlockDescriptor, theirs: Record<string, number | string>): void {
  const [c, h, w] = descriptor.inShape;
  const [oc, oh, ow] = descriptor.outShape;
  const expected: Record<string, number | string | undefined> = {
    'in channels': c,
    'in size': `${h}x${w}`,
    'out channels': oc,
    'out size': `${oh}x${ow}`,
    kernel: descriptor.kernel,
    stride: descriptor.stride,
    expand: descriptor.expand,
    'mid channels': descriptor.mid,
    se: flag(descriptor.se),
    activation: descriptor.activation,
    residual: flag(descriptor.residual),
  };
  for (const [name, value] of Object.entries(theirs)) {
    if (expected[name] !== value) throw new SpaceValidationError(field, `${name} ${value}, ${ours} has ${name} ${expected[name]}`);
  }
}

function compareStem(net: NetConfig, stem: IRBlock, resolution: number, id: string): void {
  const conv = net.first_conv;
  const size = convOutSize(resolution, conv.kernel_size, conv.stride);
  const d = stem.descriptor;
  const pairs: [string, number | string, number | string | undefined][] = [
    ['stem width', conv.out_channels, d.outShape[0]],
    ['stem kernel', conv.kernel_size, d.kernel],
    ['stem stride', conv.stride, d.stride],
    ['stem out size', `${size}x${size}`, `${d.outShape[1]}x${d.outShape[2]}`],
    ['stem activation', activationOf(conv.act_func), d.activation],
  ];
  for (const [name, theirs, ours] of pairs) if (theirs !== ours) throw new SpaceValidationError('first_conv', `${name} ${theirs}, ${id} has ${ours}`);
}

/** The head's widths and activations: blockscope's head convolutions (expand, feature mix) and classifier against the net's. */
function compareHead(net: NetConfig, head: IRBlock, id: string): void {
  const convs = head.nodes.filter((node) => node.op === 'conv');
  const linear = head.nodes.find((node) => node.op === 'linear');
  const layers: [string, { out_channels: number; act_func?: string | null }][] = [];
  if (net.final_expand_layer) layers.push(['final_expand_layer', net.final_expand_layer]);
  layers.push(['feature_mix_layer', net.feature_mix_layer]);
  layers.forEach(([field, layer], i) => {
    const ours = convs[i]!;
    if (layer.out_channels !== ours.cout) throw new SpaceValidationError(field, `width ${layer.out_channels}, ${id} has ${ours.cout}`);
    if (activationOf(layer.act_func) !== (ours.activation ?? 'none'))
      throw new SpaceValidationError(field, `activation ${activationOf(layer.act_func)}, ${id} has ${ours.activation ?? 'none'}`);
  });
  if (net.classifier.out_features !== linear?.cout) throw new SpaceValidationError('classifier', `${net.classifier.out_features} classes, ${id} has ${linear?.cout}`);
}
