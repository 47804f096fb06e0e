/** Block specifications (u, l, b): the list the paper profiles (§6.3), ids, labels and parsing. */
import { MB_BLOCKS, parseMbBlock } from './mbconv.js';
import { originalSpace } from './registry.js';
import { RESNET_BLOCKS, RESNET_MAX_DEPTHS, RESNET_STEM_HIDDEN_WIDTHS, RESNET_STEM_OUT_WIDTHS, RESNET_UNIT_WIDTHS, parseResNetBlock } from './resnet.js';
import { SpaceValidationError, type Architecture, type BlockSpec, type SpaceId } from './types.js';

/** Every block specification of a space, in the paper's order (MBv3 180, PN 189, ResNet 169). */
export function blockSpecs(space: SpaceId): BlockSpec[] {
  if (space === 'resnet50') {
    const specs: BlockSpec[] = [
      { kind: 'stem-skip', skip: true },
      { kind: 'stem-skip', skip: false },
      { kind: 'stem-width', stem: 0, width: 0 },
      { kind: 'stem-width', stem: 0, width: 2 },
      { kind: 'stem-width', stem: 1, width: 0 },
      { kind: 'stem-width', stem: 1, width: 1 },
      { kind: 'stem-width', stem: 1, width: 2 },
    ];
    RESNET_MAX_DEPTHS.forEach((maxDepth, unit) => {
      for (let width = 0; width < 3; width++) {
        for (let layer = 0; layer < maxDepth; layer++) {
          for (const block of RESNET_BLOCKS) specs.push({ kind: 'bottleneck', unit, layer, block, width });
        }
      }
    });
    return specs;
  }
  return originalSpace(space).units.flatMap((unit, u) =>
    Array.from({ length: unit.maxLayers }, (_, layer) => MB_BLOCKS.map((block): BlockSpec => ({ kind: 'mbconv', unit: u, layer, block }))).flat(),
  );
}

/** A short stable id, e.g. "u1.l2.e6k7", "stem.skip-on", "stem.out.w2", "u2.l3.e0.25.w1". */
export function blockSpecId(spec: BlockSpec): string {
  switch (spec.kind) {
    case 'mbconv':
      return `u${spec.unit}.l${spec.layer}.${spec.block}`;
    case 'stem-skip':
      return `stem.skip-${spec.skip ? 'on' : 'off'}`;
    case 'stem-width':
      return `stem.${spec.stem === 0 ? 'hidden' : 'out'}.w${spec.width}`;
    case 'bottleneck':
      return `u${spec.unit}.l${spec.layer}.${spec.block}.w${spec.width}`;
  }
}

/** The paper's human-readable label (§6.2). */
export function blockSpecLabel(spec: BlockSpec): string {
  switch (spec.kind) {
    case 'mbconv': {
      const { expand, kernel } = parseMbBlock(spec.block)!;
      return `Unit ${spec.unit} Layer ${spec.layer} as MBConv${expand}_${kernel}x${kernel}`;
    }
    case 'stem-skip':
      return spec.skip ? 'Stem skipping enabled' : 'Stem skipping disabled';
    case 'stem-width':
      return `Stem ${spec.stem + 1} with channels ${(spec.stem === 0 ? RESNET_STEM_HIDDEN_WIDTHS : RESNET_STEM_OUT_WIDTHS)[spec.width]}`;
    case 'bottleneck':
      return `U${spec.unit} with ${RESNET_UNIT_WIDTHS[spec.unit]![spec.width]} C and L${spec.layer} with ratio ${parseResNetBlock(spec.block)}`;
  }
}

/** Where a spec sits in the profile grid: unit ("stem" or "u0".."u5"), layer and block label. */
export function blockSpecCoordinates(spec: BlockSpec): { unit: string; layer: number; block: string } {
  switch (spec.kind) {
    case 'mbconv':
      return { unit: `u${spec.unit}`, layer: spec.layer, block: spec.block };
    case 'stem-skip':
      return { unit: 'stem', layer: 0, block: spec.skip ? 'skip-on' : 'skip-off' };
    case 'stem-width':
      return { unit: 'stem', layer: spec.stem, block: `w${spec.width}` };
    case 'bottleneck':
      return { unit: `u${spec.unit}`, layer: spec.layer, block: `${spec.block}.w${spec.width}` };
  }
}

/**
 * Parses a spec from an id ("u1.l2.e6k7") or the CLI's comma form: "U,L,BLOCK" for MBConv spaces,
 * "U,L,BLOCK,W" for ResNet units, "stem-skip,on|off" and "stem-width,0|1,W".
 */
export function parseBlockSpec(space: SpaceId, text: string, field = 'fix'): BlockSpec {
  const known = new Map(blockSpecs(space).map((spec) => [blockSpecId(spec), spec]));
  const byId = known.get(text.trim());
  if (byId) return byId;
  const parts = text.split(',').map((p) => p.trim());
  let candidate: BlockSpec | undefined;
  if (space !== 'resnet50' && parts.length === 3) {
    candidate = { kind: 'mbconv', unit: Number(parts[0]), layer: Number(parts[1]), block: parts[2]! };
  } else if (space === 'resnet50' && parts[0] === 'stem-skip' && parts.length === 2) {
    candidate = { kind: 'stem-skip', skip: parts[1] === 'on' };
    if (parts[1] !== 'on' && parts[1] !== 'off') candidate = undefined;
  } else if (space === 'resnet50' && parts[0] === 'stem-width' && parts.length === 3) {
    candidate = { kind: 'stem-width', stem: Number(parts[1]) as 0 | 1, width: Number(parts[2]) };
  } else if (space === 'resnet50' && parts.length === 4) {
    candidate = { kind: 'bottleneck', unit: Number(parts[0]), layer: Number(parts[1]), block: parts[2]!, width: Number(parts[3]) };
  }
  const found = candidate && known.get(blockSpecId(candidate));
  if (found) return found;
  const form =
    space === 'resnet50'
      ? 'U,L,BLOCK,W (BLOCK one of e0.2, e0.25, e0.35; W 0..2), stem-skip,on|off, stem-width,0|1,W, or an id from `blockscope arch blocks`'
      : `U,L,BLOCK (U 0..${originalSpace(space).units.length - 1}, L within the unit's layers, BLOCK one of ${MB_BLOCKS.join(', ')}) or an id from \`blockscope arch blocks\``;
  throw new SpaceValidationError(field, `not a block specification of ${space}: ${JSON.stringify(text)}; expected ${form}`);
}

/** Whether an architecture contains the specified block (legacy depth forcing can leave it out). */
export function architectureHasBlock(arch: Architecture, spec: BlockSpec): boolean {
  switch (spec.kind) {
    case 'mbconv':
      return arch.units[spec.unit]?.[spec.layer] === spec.block;
    case 'stem-skip':
      return arch.space === 'resnet50' && arch.stem.skip === spec.skip;
    case 'stem-width':
      return arch.space === 'resnet50' && (spec.stem === 0 ? arch.stem.hiddenWidth : arch.stem.outWidth) === spec.width;
    case 'bottleneck':
      return arch.space === 'resnet50' && arch.units[spec.unit]?.[spec.layer] === spec.block && arch.widths[spec.unit] === spec.width;
  }
}
