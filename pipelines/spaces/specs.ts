/** Block specifications (u, l, b): the list the paper profiles (§6.3), ids, labels and parsing. */
import { designSpace } from './registry.js';
import { SpaceValidationError, isBottleneckArchitecture, type Architecture, type BlockSpec, type SpaceId } from './types.js';

/** Every block specification of a space, in the paper's order (MBv3 180, PN 189, ResNet 169). */
export function blockSpecs(space: SpaceId): BlockSpec[] {
  return designSpace(space).blockSpecs();
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
export function blockSpecLabel(space: SpaceId, spec: BlockSpec): string {
  return designSpace(space).specLabel(spec);
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
  const family = designSpace(space);
  const known = new Map(family.blockSpecs().map((spec) => [blockSpecId(spec), spec]));
  const byId = known.get(text.trim());
  if (byId) return byId;
  const candidate = family.specFromParts(text.split(',').map((p) => p.trim()));
  const found = candidate && known.get(blockSpecId(candidate));
  if (found) return found;
  throw new SpaceValidationError(field, `not a block specification of ${space}: ${JSON.stringify(text)}; expected ${family.specForm}`);
}

/** Whether an architecture contains the specified block (legacy depth forcing can leave it out). */
export function architectureHasBlock(arch: Architecture, spec: BlockSpec): boolean {
  switch (spec.kind) {
    case 'mbconv':
      return arch.units[spec.unit]?.[spec.layer] === spec.block;
    case 'stem-skip':
      return isBottleneckArchitecture(arch) && arch.stem.skip === spec.skip;
    case 'stem-width':
      return isBottleneckArchitecture(arch) && (spec.stem === 0 ? arch.stem.hiddenWidth : arch.stem.outWidth) === spec.width;
    case 'bottleneck':
      return isBottleneckArchitecture(arch) && arch.units[spec.unit]?.[spec.layer] === spec.block && arch.widths[spec.unit] === spec.width;
  }
}
