/** The paper's OFA-ResNet50 as a definition (design-spaces.md §1.5, §4), with its pruned max_acc space (§7). */
import { PAPER_SOURCE, RESOLUTIONS } from '../common.js';
import { SPACE_DEFINITION_KIND, type BottleneckSpaceDefinition } from '../definition.js';
import type { SpaceDocument } from '../types.js';

export const RESNET50_DEFINITION: BottleneckSpaceDefinition = {
  kind: SPACE_DEFINITION_KIND,
  family: 'bottleneck',
  id: 'resnet50',
  title: 'OFA-ResNet50',
  resolutions: [...RESOLUTIONS],
  classes: 1000,
  widthMultipliers: [0.65, 0.8, 1.0],
  expands: [0.2, 0.25, 0.35],
  stem: { channels: 64 },
  units: [
    { channels: 256, stride: 1, layers: [2, 4] },
    { channels: 512, stride: 2, layers: [2, 4] },
    { channels: 1024, stride: 2, layers: [4, 6] },
    { channels: 2048, stride: 2, layers: [2, 4] },
  ],
};

/** max_acc: units 2 and 3 fixed at their widest width and at maximum depth; stem mutation at half rate. */
export function resnetPaperSpaces(original: SpaceDocument): Record<string, SpaceDocument> {
  const widths = [[0, 1, 2], [0, 1, 2], [2], [2]];
  const minLayers = [2, 2, 6, 4];
  return {
    max_acc: {
      ...original,
      name: 'max_acc',
      notes: ['maximum-accuracy insight: units 2 and 3 use width index 2 only and their maximum depth', PAPER_SOURCE],
      stem: { skipChoices: [true, false], widths: [0, 1, 2], mutationProbability: 0.25 },
      units: original.units.map((unit, u) => ({ ...unit, widths: widths[u]!, minLayers: minLayers[u]!, mutationProbability: 0.5 })),
    },
  };
}
