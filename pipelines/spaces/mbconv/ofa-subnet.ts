/**
 * Reads an architecture written as Once-for-All's subnet settings, the form OFA's `sample_active_subnet` returns
 * and the published latency and accuracy datasets of OFA spaces use: `ks` and `e`, the kernel size and expand
 * ratio of every layer slot (every unit's maxLayers slots, unit by unit: 20 for OFA-MobileNetV3), `d`, the depth of
 * every unit, and the input resolution. Slots beyond a unit's depth are inactive and ignored, as OFA ignores them.
 * Pure; the result is validated against the space, so a block or depth the space lacks is refused with the reason.
 */
import { designSpace } from '../registry.js';
import { SpaceValidationError, type MbArchitecture, type SpaceId } from '../types.js';
import { validateArchitecture } from '../validate.js';
import { mbBlockName } from './network.js';

export const OFA_SUBNET_FORMAT = 'ofa-subnet';

export interface OfaSubnet {
  ks: unknown;
  e: unknown;
  d: unknown;
  /** The input resolution: a number, or a one-element list as OFA's datasets write it. */
  r: unknown;
}

function integers(raw: unknown, field: string, length: number): number[] {
  if (!Array.isArray(raw) || raw.length !== length || !raw.every((v) => typeof v === 'number' && Number.isInteger(v))) {
    throw new SpaceValidationError(field, `expected a list of ${length} integers, got ${JSON.stringify(raw)}`);
  }
  return raw as number[];
}

/** The architecture of `spaceId` (an MBConv-family space) that OFA subnet settings describe. */
export function ofaSubnetArchitecture(spaceId: SpaceId, subnet: OfaSubnet): MbArchitecture {
  const space = designSpace(spaceId);
  if (space.definition.family !== 'mbconv') {
    throw new SpaceValidationError('space', `${space.id} is a ${space.definition.family} space; OFA subnet settings (ks, e, d) describe MBConv-family spaces`);
  }
  const units = space.original().units;
  const slots = units.reduce((sum, unit) => sum + unit.maxLayers, 0);
  const ks = integers(subnet.ks, 'ks', slots);
  const e = integers(subnet.e, 'e', slots);
  const d = integers(subnet.d, 'd', units.length);
  const resolution = Array.isArray(subnet.r) && subnet.r.length === 1 ? (subnet.r[0] as unknown) : subnet.r;
  let first = 0;
  const blocks = units.map((unit, u) => {
    const active = Array.from({ length: Math.min(d[u]!, unit.maxLayers) }, (_, l) => mbBlockName(e[first + l]!, ks[first + l]!));
    first += unit.maxLayers;
    if (d[u]! > unit.maxLayers) throw new SpaceValidationError(`d[${u}]`, `depth ${d[u]} exceeds unit ${u}'s ${unit.maxLayers} layers in ${space.id}`);
    return active;
  });
  return validateArchitecture({ space: space.id, resolution, units: blocks }) as MbArchitecture;
}
