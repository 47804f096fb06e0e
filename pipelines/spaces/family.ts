/**
 * What a design space is to the rest of blockscope. Every space belongs to a family (MBConv or bottleneck) whose
 * folder implements this interface once, for any definition of that family: the paper's three spaces and a user's
 * space document are all `DesignSpace` objects in the registry (registry.ts). Nothing outside a family's folder
 * branches on which space or family it has: it asks the space.
 */
import type { NetworkIR } from '../network/ir.js';
import type { Rng } from '../rng.js';
import type { SpaceDefinition } from './definition.js';
import type { Architecture, BlockSpec, DepthRule, Encoding, SpaceDocument, SpaceId, UnitRule } from './types.js';

export type FamilyName = 'mbconv' | 'bottleneck';
export type FactorName = 'kernel' | 'expand' | 'width';

/** A family of blocks sharing one value of a factor (e.g. every kernel-7 block), and the choices it covers. */
export interface InsightFactor {
  name: FactorName;
  dimension: 'block' | 'width';
  /** Ordered from cheapest to most expensive by construction (smaller kernel, expand or width first). */
  values: readonly number[];
  valueOfChoice(choice: string): number | undefined;
}

export interface DesignSpace {
  readonly id: SpaceId;
  readonly title: string;
  readonly family: FamilyName;
  /** The document it was built from (a user's space document, or the built-in definition). */
  readonly definition: SpaceDefinition;
  /** Every block name the space allows in some unit, in the paper's order. */
  readonly blocks: readonly string[];

  /** The unpruned space as a document, with the paper's default search settings. */
  original(): SpaceDocument;
  /** The network of an architecture (already validated against the space). */
  build(arch: Architecture): NetworkIR;
  /** The architecture with a fixed key order: the identity hashed for deduplication and caching. */
  canonical(arch: Architecture): Architecture;
  /**
   * The family's part of validating a raw architecture whose space, resolution and units are already checked;
   * throws SpaceValidationError naming the field.
   */
  validateArchitecture(raw: Record<string, unknown>, doc: SpaceDocument, resolution: number, units: string[][]): Architecture;
  /** The family's part of validating a raw space document: the extra fields of a unit rule and the stem rule. */
  validateUnitExtras(raw: Record<string, unknown>, base: UnitRule, field: string, rule: UnitRule): void;
  validateStem(raw: Record<string, unknown>, doc: SpaceDocument): void;

  /** Every block specification, in the paper's order (MBv3 180, PN 189, ResNet 169). */
  blockSpecs(): BlockSpec[];
  /** The paper's human-readable label (§6.2). */
  specLabel(spec: BlockSpec): string;
  /** A spec from the CLI's comma form (e.g. "1,2,e6k7"), or undefined; `specForm` describes the accepted forms. */
  specFromParts(parts: readonly string[]): BlockSpec | undefined;
  readonly specForm: string;

  /** The architecture an encoding describes at a resolution. */
  fromEncoding(enc: Encoding, resolution: number): Architecture;
  /** Fixes a spec's choice in an encoding, raising the unit's depth as the depth rule says. */
  fixInEncoding(doc: SpaceDocument, enc: Encoding, spec: BlockSpec, rule: DepthRule): void;
  /** The depth a spec fixed at `layer` forces under a depth rule. */
  neededDepth(layer: number, rule: DepthRule): number;
  /** One random mutation (§8.3, §8.4); the input is not modified. */
  mutate(arch: Architecture, doc: SpaceDocument, rng: Rng): Architecture;

  /** The structural features of the latency predictor, added through `add(name, value)`. */
  structureFeatures(arch: Architecture, add: (name: string, value?: number) => void): void;
  /** The factors the insights compare (kernel against expand; expand against width). */
  readonly insightFactors: readonly InsightFactor[];
  /** What the insights cannot conclude in this family, as sentences after "<device>: ". */
  readonly insightLimitations: readonly { id: string; sentence: string }[];
  /** Architectures that together hold every distinct block of a document at a resolution (lookup tables). */
  coveringArchitectures(doc: SpaceDocument, resolution: number): Architecture[];
  /** The paper's hand-derived pruned spaces (design-spaces.md §7); none for a user's space. */
  paperSpaces(): Record<string, SpaceDocument>;
}
