/**
 * The paper's hand-derived pruned spaces (design-spaces.md §7), as space documents so they load exactly like the
 * automatically derived ones. Each built-in space defines its own (mbconv/builtin.ts, bottleneck/builtin.ts); a
 * user's space has none.
 */
import { designSpace } from '../spaces/registry.js';
import type { SpaceDocument, SpaceId } from '../spaces/types.js';
import { validateSpaceDocument } from '../spaces/validate.js';

/**
 * The paper's pruned spaces for one design space: npu, gpu, cpu, n10 (MBv3 only) and max_acc for MBv3 and
 * PN; max_acc for ResNet. Every document passes validateSpaceDocument.
 */
export function paperInsightSpaces(space: SpaceId): Record<string, SpaceDocument> {
  return Object.fromEntries(Object.entries(designSpace(space).paperSpaces()).map(([name, doc]) => [name, validateSpaceDocument(doc)]));
}
