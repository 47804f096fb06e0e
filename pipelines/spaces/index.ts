export * from './types.js';
export * from './common.js';
export * from './registry.js';
export * from './validate.js';
export * from './specs.js';
export { MB_BLOCKS, MB_EXPANDS, MB_KERNELS, mbBlockName, parseMbBlock, mbMacro } from './mbconv.js';
export {
  RESNET_BLOCKS,
  RESNET_EXPANDS,
  RESNET_STEM_HIDDEN_WIDTHS,
  RESNET_STEM_OUT_WIDTHS,
  RESNET_UNIT_WIDTHS,
  parseResNetBlock,
} from './resnet.js';
import type { NetworkIR } from '../network/ir.js';
import { networkCounts, type Counts } from '../network/counts.js';
import { buildMbNetwork } from './mbconv.js';
import { buildResNetNetwork } from './resnet.js';
import type { Architecture } from './types.js';

export function buildNetwork(arch: Architecture): NetworkIR {
  return arch.space === 'resnet50' ? buildResNetNetwork(arch) : buildMbNetwork(arch);
}

export function architectureCounts(arch: Architecture): Counts {
  return networkCounts(buildNetwork(arch));
}
