/** The three original design spaces as documents, and lookups by space id. */
import { RESOLUTIONS } from './common.js';
import { MB_BLOCKS, mbMacro } from './mbconv.js';
import { RESNET_BASE_DEPTHS, RESNET_BLOCKS, RESNET_MAX_DEPTHS, RESNET_WIDTH_MULTS } from './resnet.js';
import { SPACE_IDS, SpaceValidationError, type SpaceDocument, type SpaceId } from './types.js';

export const SPACE_TITLES: Record<SpaceId, string> = {
  'ofa-mbv3': 'OFA-MobileNetV3 (width 1.2)',
  proxylessnas: 'OFA-ProxylessNAS (width 1.3)',
  resnet50: 'OFA-ResNet50',
};

export function parseSpaceId(value: unknown, field = 'space'): SpaceId {
  if (typeof value === 'string' && (SPACE_IDS as readonly string[]).includes(value)) return value as SpaceId;
  throw new SpaceValidationError(field, `unknown design space ${JSON.stringify(value)}; allowed: ${SPACE_IDS.join(', ')}`);
}

const widthIndices = RESNET_WIDTH_MULTS.map((_, i) => i);

/** The unpruned space, with the paper's default search settings (uniform 0.5 mutation, stem 0.25). */
export function originalSpace(space: SpaceId): SpaceDocument {
  if (space === 'resnet50') {
    return {
      kind: 'blockscope.space/v1',
      space,
      name: 'original',
      resolutions: [...RESOLUTIONS],
      stem: { skipChoices: [true, false], widths: [...widthIndices], mutationProbability: 0.25 },
      units: RESNET_BASE_DEPTHS.map((base, u) => ({
        blocks: [...RESNET_BLOCKS],
        minLayers: base,
        maxLayers: RESNET_MAX_DEPTHS[u]!,
        mutationProbability: 0.5,
        widths: [...widthIndices],
      })),
    };
  }
  return {
    kind: 'blockscope.space/v1',
    space,
    name: 'original',
    resolutions: [...RESOLUTIONS],
    units: mbMacro(space).units.map((unit) => ({
      blocks: [...MB_BLOCKS],
      minLayers: unit.minLayers,
      maxLayers: unit.maxLayers,
      mutationProbability: 0.5,
    })),
  };
}

/** Every block name the original space allows in any unit. */
export function allBlocks(space: SpaceId): readonly string[] {
  return space === 'resnet50' ? RESNET_BLOCKS : MB_BLOCKS;
}
