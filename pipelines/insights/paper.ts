/**
 * The paper's hand-derived pruned spaces (design-spaces.md §7, from search/rm_search/ofa_profile/constants.py),
 * written as space documents so they load exactly like the automatically derived ones. Each MBConv space uses
 * the block list, depth type and mutation-probability type the README pairs with it.
 */
import { MB_BLOCKS } from '../spaces/mbconv.js';
import { originalSpace } from '../spaces/registry.js';
import type { SpaceDocument, SpaceId } from '../spaces/types.js';
import { validateSpaceDocument } from '../spaces/validate.js';

interface MbPaperSpace {
  blocks: readonly string[];
  /** Maximum layers per unit, MBv3 (5 units) and PN (6 units); undefined keeps the space's default. */
  maxLayers?: { 'ofa-mbv3'?: number[]; proxylessnas?: number[] };
  mutationProbabilities?: { 'ofa-mbv3'?: number[]; proxylessnas?: number[] };
  /** Spaces that exist for MBv3 only (n10). */
  mbv3Only?: boolean;
  note: string;
}

const MB_PAPER_SPACES: Record<string, MbPaperSpace> = {
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

const SOURCE = 'Mills et al. (CIKM 2021), search/rm_search/ofa_profile/constants.py; design-spaces.md section 7';

/**
 * The paper's pruned spaces for one design space: npu, gpu, cpu, n10 (MBv3 only) and max_acc for MBv3 and
 * PN; max_acc for ResNet. Every document passes validateSpaceDocument.
 */
export function paperInsightSpaces(space: SpaceId): Record<string, SpaceDocument> {
  if (space === 'resnet50') return { max_acc: validateSpaceDocument(resnetMaxAccuracy()) };
  const out: Record<string, SpaceDocument> = {};
  for (const [name, paper] of Object.entries(MB_PAPER_SPACES)) {
    if (paper.mbv3Only && space !== 'ofa-mbv3') continue;
    const doc = originalSpace(space);
    doc.name = name;
    doc.notes = [paper.note, SOURCE];
    const maxLayers = paper.maxLayers?.[space];
    const probabilities = paper.mutationProbabilities?.[space];
    doc.units = doc.units.map((unit, u) => ({
      ...unit,
      blocks: [...paper.blocks],
      maxLayers: maxLayers?.[u] ?? unit.maxLayers,
      mutationProbability: probabilities?.[u] ?? unit.mutationProbability,
    }));
    out[name] = validateSpaceDocument(doc);
  }
  return out;
}

/** ResNet max_acc: units 2 and 3 fixed at their widest width and at maximum depth; stem mutation at half rate. */
function resnetMaxAccuracy(): SpaceDocument {
  const doc = originalSpace('resnet50');
  const widths = [[0, 1, 2], [0, 1, 2], [2], [2]];
  const minLayers = [2, 2, 6, 4];
  doc.name = 'max_acc';
  doc.notes = ['maximum-accuracy insight: units 2 and 3 use width index 2 only and their maximum depth', SOURCE];
  doc.stem = { skipChoices: [true, false], widths: [0, 1, 2], mutationProbability: 0.25 };
  doc.units = doc.units.map((unit, u) => ({ ...unit, widths: widths[u]!, minLayers: minLayers[u]!, mutationProbability: 0.5 }));
  return doc;
}
