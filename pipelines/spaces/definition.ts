/**
 * Space definitions: a design space as one document (YAML or JSON) of the MBConv or bottleneck family. The paper's
 * three spaces are definitions too (mbconv/builtin.ts, bottleneck/builtin.ts); a user's document is validated here,
 * with errors that name the field and the allowed values, and registered (registry.ts) under its id.
 *
 * Channel counts are written at width 1.0 and scaled by `widthMultiplier` (bottleneck: by each of
 * `widthMultipliers`), rounded as OFA does (makeDivisible: multiples of 8, never more than 10% down).
 */
import { z } from 'zod';
import { describeZodIssue } from '../zod-issues.js';
import { SpaceValidationError } from './types.js';

export const SPACE_DEFINITION_KIND = 'blockscope.space-definition/v1';

const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,47}$/;
const channels = z.number().int().min(1).max(16_384);
const layers = z
  .tuple([z.number().int().min(1).max(12), z.number().int().min(1).max(12)])
  .refine(([min, max]) => min <= max, 'expected [minLayers, maxLayers] with minLayers <= maxLayers');
const stride = z.union([z.literal(1), z.literal(2)]);
const activation = z.enum(['relu', 'relu6', 'hswish']);
const common = {
  kind: z.literal(SPACE_DEFINITION_KIND),
  id: z.string().regex(ID_PATTERN, 'expected lowercase letters, digits and dashes (at most 48), starting with a letter or digit'),
  title: z.string().min(1),
  resolutions: z.array(z.number().int().min(32).max(1024)).min(1),
  classes: z.number().int().min(2).max(100_000).default(1000),
};
const distinct = <T extends z.ZodType<number>>(item: T) =>
  z
    .array(item)
    .min(1)
    .refine((values) => new Set(values).size === values.length, 'expected distinct values');

export const mbSpaceDefinitionSchema = z
  .object({
    ...common,
    family: z.literal('mbconv'),
    widthMultiplier: z.number().gt(0).max(4).default(1),
    /** Depthwise kernel sizes; every unit may use every kernel × expand pair unless the unit lists its own. */
    kernels: distinct(
      z
        .number()
        .int()
        .min(1)
        .max(9)
        .refine((k) => k % 2 === 1, 'expected an odd kernel size'),
    ),
    expands: distinct(z.number().int().min(1).max(9)),
    stem: z.object({ channels, activation }).strict(),
    first: z.object({ channels, activation, residual: z.boolean() }).strict(),
    units: z
      .array(z.object({ channels, stride, activation, se: z.boolean(), layers }).strict())
      .min(1)
      .max(8),
    head: z.discriminatedUnion('kind', [z.object({ kind: z.literal('mbv3'), expand: channels, channels }).strict(), z.object({ kind: z.literal('proxyless'), channels }).strict()]),
  })
  .strict();

export const bottleneckSpaceDefinitionSchema = z
  .object({
    ...common,
    family: z.literal('bottleneck'),
    /** The width choices of the stem and of every unit, as multipliers of the channel counts below. */
    widthMultipliers: distinct(z.number().gt(0).max(4)),
    /** Bottleneck expand ratios (mid channels = unit width × ratio). */
    expands: distinct(z.number().gt(0).max(1)),
    stem: z.object({ channels }).strict(),
    units: z.array(z.object({ channels, stride, layers }).strict()).min(1).max(8),
  })
  .strict();

export type MbSpaceDefinition = z.output<typeof mbSpaceDefinitionSchema>;
export type BottleneckSpaceDefinition = z.output<typeof bottleneckSpaceDefinitionSchema>;
export type SpaceDefinition = MbSpaceDefinition | BottleneckSpaceDefinition;

const FAMILIES = ['mbconv', 'bottleneck'] as const;

/**
 * Validates a parsed space document. `field` prefixes the error paths (e.g. "spaceDefinition" inside a study spec);
 * every problem is listed, each naming its field.
 */
export function parseSpaceDefinition(raw: unknown, field = ''): SpaceDefinition {
  const at = (name: string) => (field ? `${field}.${name}` : name);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SpaceValidationError(field || 'space definition', 'expected a YAML/JSON object');
  const family = (raw as Record<string, unknown>).family;
  if (!(FAMILIES as readonly unknown[]).includes(family)) {
    throw new SpaceValidationError(at('family'), `unknown family ${JSON.stringify(family)}; allowed: ${FAMILIES.join(', ')}`);
  }
  const schema = family === 'mbconv' ? mbSpaceDefinitionSchema : bottleneckSpaceDefinitionSchema;
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => describeZodIssue({ ...issue, path: field ? [field, ...issue.path] : issue.path }, '(space definition)'));
    throw new SpaceValidationError(field || 'space definition', `invalid space definition:\n  ${problems.join('\n  ')}`);
  }
  return result.data;
}
