/** One wording for schema problems everywhere (study specs, space definitions, device configs): "field: what is wrong". */
import type { z } from 'zod';

/** ['devices', 0, 'protocol', 'minRuns'] → "devices[0].protocol.minRuns"; `top` names the empty path. */
export function formatIssuePath(path: readonly PropertyKey[], top: string): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), '') || top;
}

/** One problem as "field: message", naming the allowed values where the schema has them. */
export function describeZodIssue(issue: z.core.$ZodIssue, top: string): string {
  const field = formatIssuePath(issue.path, top);
  switch (issue.code) {
    case 'invalid_value':
      return `${field}: got an invalid value; allowed: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `${field === top ? '' : `${field}.`}${issue.keys.join(', ')}: unknown field`;
    case 'invalid_type':
      return `${field}: expected ${issue.expected}`;
    default:
      return `${field}: ${issue.message}`;
  }
}
