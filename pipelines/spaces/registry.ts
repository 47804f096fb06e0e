/**
 * The design spaces blockscope knows: the paper's three, built in, and any space definition registered from a
 * user's document (a study spec carries its definition, so every worker registers the same one).
 */
import { canonicalHashHex, canonicalJson } from '../hash.js';
import { bottleneckSpace } from './bottleneck/space.js';
import { RESNET50_DEFINITION, resnetPaperSpaces } from './bottleneck/builtin.js';
import type { SpaceDefinition } from './definition.js';
import type { DesignSpace } from './family.js';
import { OFA_MBV3_DEFINITION, PROXYLESSNAS_DEFINITION, mbPaperSpaces } from './mbconv/builtin.js';
import { mbconvSpace } from './mbconv/space.js';
import { SpaceValidationError, type SpaceDocument, type SpaceId } from './types.js';

const BUILT_IN: readonly DesignSpace[] = [
  mbconvSpace(OFA_MBV3_DEFINITION, mbPaperSpaces),
  mbconvSpace(PROXYLESSNAS_DEFINITION, mbPaperSpaces),
  bottleneckSpace(RESNET50_DEFINITION, resnetPaperSpaces),
];

/** The paper's spaces, in the paper's order. */
export const BUILT_IN_SPACE_IDS: readonly SpaceId[] = BUILT_IN.map((space) => space.id);

const spaces = new Map<SpaceId, DesignSpace>(BUILT_IN.map((space) => [space.id, space]));
/** The content hash of every user-registered definition, by id (none for the built-in spaces). */
const userDefinitionHashes = new Map<SpaceId, string>();

/** Every registered space id: the built-in ones, then the user's in registration order. */
export function spaceIds(): SpaceId[] {
  return [...spaces.keys()];
}

/** The space of an id; an unknown id is an error that names the field and the known spaces. */
export function designSpace(id: unknown, field = 'space'): DesignSpace {
  const space = typeof id === 'string' ? spaces.get(id) : undefined;
  if (space) return space;
  throw new SpaceValidationError(field, `unknown design space ${JSON.stringify(id)}; allowed: ${spaceIds().join(', ')}, or a space definition document (docs/spaces.md)`);
}

/**
 * Registers a validated definition and returns its space. Registering the same definition again is a no-op; another
 * definition under a registered id (a built-in one included) is refused, so one id always means one space.
 */
export function registerSpace(definition: SpaceDefinition): DesignSpace {
  const existing = spaces.get(definition.id);
  if (existing) {
    if (canonicalJson(existing.definition) === canonicalJson(definition)) return existing;
    const why = BUILT_IN_SPACE_IDS.includes(definition.id) ? 'is a built-in space' : 'is already registered with a different definition';
    throw new SpaceValidationError('id', `"${definition.id}" ${why}; give the space another id`);
  }
  const space = definition.family === 'mbconv' ? mbconvSpace(definition) : bottleneckSpace(definition);
  spaces.set(space.id, space);
  userDefinitionHashes.set(space.id, canonicalHashHex(definition));
  return space;
}

/**
 * The content hash of a user-defined space's definition, which its architectures' hashes include: an edited document
 * under the same id gives other hashes, so nothing measured for the old definition (the measurement and accuracy
 * caches are keyed by architecture hash) is ever reused for the new one. Undefined for the paper's spaces, whose
 * architecture hashes are those of their canonical JSON alone.
 */
export function userDefinitionHash(space: SpaceId): string | undefined {
  return userDefinitionHashes.get(space);
}

export function parseSpaceId(value: unknown, field = 'space'): SpaceId {
  return designSpace(value, field).id;
}

export function spaceTitle(space: SpaceId): string {
  return designSpace(space).title;
}

/** The unpruned space, with the paper's default search settings (uniform 0.5 mutation, stem 0.25). */
export function originalSpace(space: SpaceId): SpaceDocument {
  return designSpace(space).original();
}

/** Every block name the original space allows in any unit. */
export function allBlocks(space: SpaceId): readonly string[] {
  return designSpace(space).blocks;
}
