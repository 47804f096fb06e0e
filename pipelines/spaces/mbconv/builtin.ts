/**
 * The paper's two MBConv spaces as definitions (design-spaces.md §2, §3): OFA-MobileNetV3 at width 1.2 and
 * OFA-ProxylessNAS at width 1.3, with their pruned spaces (§7, from search/rm_search/ofa_profile/constants.py).
 */
import { PAPER_SOURCE, RESOLUTIONS } from '../common.js';
import { SPACE_DEFINITION_KIND, type MbSpaceDefinition } from '../definition.js';
import type { SpaceDocument } from '../types.js';

export const OFA_MBV3_DEFINITION: MbSpaceDefinition = {
  kind: SPACE_DEFINITION_KIND,
  family: 'mbconv',
  id: 'ofa-mbv3',
  title: 'OFA-MobileNetV3 (width 1.2)',
  resolutions: [...RESOLUTIONS],
  classes: 1000,
  widthMultiplier: 1.2,
  kernels: [3, 5, 7],
  expands: [3, 4, 6],
  stem: { channels: 16, activation: 'hswish' },
  first: { channels: 16, activation: 'relu', residual: true },
  units: [
    { channels: 24, stride: 2, activation: 'relu', se: false, layers: [2, 4] },
    { channels: 40, stride: 2, activation: 'relu', se: true, layers: [2, 4] },
    { channels: 80, stride: 2, activation: 'hswish', se: false, layers: [2, 4] },
    { channels: 112, stride: 1, activation: 'hswish', se: true, layers: [2, 4] },
    { channels: 160, stride: 2, activation: 'hswish', se: true, layers: [2, 4] },
  ],
  head: { kind: 'mbv3', expand: 960, channels: 1280 },
};

export const PROXYLESSNAS_DEFINITION: MbSpaceDefinition = {
  kind: SPACE_DEFINITION_KIND,
  family: 'mbconv',
  id: 'proxylessnas',
  title: 'OFA-ProxylessNAS (width 1.3)',
  resolutions: [...RESOLUTIONS],
  classes: 1000,
  widthMultiplier: 1.3,
  kernels: [3, 5, 7],
  expands: [3, 4, 6],
  stem: { channels: 32, activation: 'relu6' },
  first: { channels: 16, activation: 'relu6', residual: false },
  units: [
    { channels: 24, stride: 2, activation: 'relu6', se: false, layers: [2, 4] },
    { channels: 40, stride: 2, activation: 'relu6', se: false, layers: [2, 4] },
    { channels: 80, stride: 2, activation: 'relu6', se: false, layers: [2, 4] },
    { channels: 96, stride: 1, activation: 'relu6', se: false, layers: [2, 4] },
    { channels: 192, stride: 2, activation: 'relu6', se: false, layers: [2, 4] },
    { channels: 320, stride: 1, activation: 'relu6', se: false, layers: [1, 1] },
  ],
  head: { kind: 'proxyless', channels: 1280 },
};

interface PaperSpace {
  blocks: readonly string[];
  /** Maximum layers per unit, by space; absent keeps the space's default. */
  maxLayers?: Partial<Record<string, number[]>>;
  mutationProbabilities?: Partial<Record<string, number[]>>;
  /** Spaces that exist for MBv3 only (n10). */
  mbv3Only?: boolean;
  note: string;
}

/** The paper's nine MBConv blocks, expand 3, 4, 6 by kernel 3, 5, 7. */
export const MB_BLOCKS: readonly string[] = ['e3k3', 'e3k5', 'e3k7', 'e4k3', 'e4k5', 'e4k7', 'e6k3', 'e6k5', 'e6k7'];

const PAPER_SPACES: Record<string, PaperSpace> = {
  npu: {
    blocks: ['e3k3', 'e3k5', 'e4k3', 'e4k5', 'e6k3', 'e6k5'],
    mutationProbabilities: { 'ofa-mbv3': [0.25, 0.25, 0.25, 0.5, 0.5], proxylessnas: [0.25, 0.25, 0.25, 0.5, 0.5, 0.5] },
    note: 'NPU insight: every kernel-7 block dropped; NPU mutation probabilities; default depths',
  },
  gpu: {
    blocks: ['e3k5', 'e4k5', 'e4k7', 'e6k3', 'e6k5', 'e6k7'],
    maxLayers: { 'ofa-mbv3': [4, 3, 4, 3, 3], proxylessnas: [3, 3, 3, 4, 4, 1] },
    note: 'GPU insight: e3k3, e3k7 and e4k3 dropped; GPU depth caps; uniform mutation',
  },
  cpu: {
    blocks: MB_BLOCKS,
    maxLayers: { 'ofa-mbv3': [3, 3, 3, 4, 4], proxylessnas: [3, 3, 4, 4, 4, 1] },
    note: 'CPU insight: depth only (all blocks kept); CPU depth caps; uniform mutation',
  },
  n10: {
    blocks: ['e3k3', 'e3k5', 'e4k3', 'e4k5', 'e6k3', 'e6k5', 'e6k7'],
    maxLayers: { 'ofa-mbv3': [3, 4, 4, 4, 4] },
    mbv3Only: true,
    note: 'Note10 insight: e3k7 and e4k7 dropped; Note10 depth caps; uniform mutation',
  },
  max_acc: {
    blocks: ['e4k5', 'e4k7', 'e6k3', 'e6k5', 'e6k7'],
    note: 'maximum-accuracy insight: every expand-3 block and e4k3 dropped; default depths; uniform mutation',
  },
};

/** npu, gpu, cpu, n10 (MBv3 only) and max_acc, each with the block list, depth caps and mutation probabilities the paper pairs with it. */
export function mbPaperSpaces(original: SpaceDocument): Record<string, SpaceDocument> {
  const out: Record<string, SpaceDocument> = {};
  for (const [name, paper] of Object.entries(PAPER_SPACES)) {
    if (paper.mbv3Only && original.space !== 'ofa-mbv3') continue;
    const maxLayers = paper.maxLayers?.[original.space];
    const probabilities = paper.mutationProbabilities?.[original.space];
    out[name] = {
      ...original,
      name,
      notes: [paper.note, PAPER_SOURCE],
      units: original.units.map((unit, u) => ({
        ...unit,
        blocks: [...paper.blocks],
        maxLayers: maxLayers?.[u] ?? unit.maxLayers,
        mutationProbability: probabilities?.[u] ?? unit.mutationProbability,
      })),
    };
  }
  return out;
}
