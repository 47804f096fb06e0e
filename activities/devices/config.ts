/**
 * Device definitions: the documented devices file (YAML or JSON, see docs/devices.md) and the built-in
 * `cpu-local` device. A device id becomes the Temporal task queue `device.<id>`.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DeviceConfigError, UnknownDeviceError, errorMessage } from './errors.js';
import { formatIssuePath } from '../../pipelines/zod-issues.js';

export const DEVICE_ID_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
export const BACKENDS = ['onnxruntime', 'lookup-table', 'command'] as const;
export const REFERENCE_MODES = ['none', 'interleaved'] as const;
export type DeviceBackend = (typeof BACKENDS)[number];
/** Placeholders a `command` device's template may use; each is substituted shell-quoted. */
export const COMMAND_PLACEHOLDERS = ['model', 'resolution', 'device', 'threads'] as const;
/** Named groups a `command` device's pattern may use; the group's name is the unit of the number it captures. */
export const LATENCY_UNITS = { ms: 1, us: 1e-3, s: 1e3 } as const;
export type LatencyUnit = keyof typeof LATENCY_UNITS;

/** A strict object whose "unknown field" error lists the allowed fields. */
export function strictObject<S extends z.ZodRawShape>(shape: S) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; allowed: ${allowed}` : undefined),
  });
}

const deviceId = z.string().regex(DEVICE_ID_PATTERN, 'must match [a-z0-9][a-z0-9-]* (lower-case letters, digits and dashes; it names the task queue device.<id>)');
/** Free-form facts about the target that the host cannot probe (e.g. { soc: "Exynos 9825" }); part of the fingerprint. */
const identity = z.record(z.string(), z.string()).optional();

const protocolSchema = strictObject({
  warmupRuns: z.number().int().min(0).default(5),
  minRuns: z.number().int().min(1).default(10),
  maxRuns: z.number().int().min(1).default(50),
  /** Stop once the 95% confidence interval of the median is narrower than ± this fraction of it. */
  targetRelativeHalfWidth: z.number().gt(0).lt(1).default(0.02),
  /** No further runs are added after this many seconds of warm-up and timed runs (minRuns always run). */
  maxSeconds: z.number().positive().default(30),
  /**
   * 'interleaved': every run of the model is followed by a run of the space's reference architecture at the same
   * resolution, and the latency is the median model/reference ratio times the reference's calibrated latency.
   * Slow changes of the host's speed (other tenants, frequency) cancel in the ratio; the reference runs double the time.
   */
  reference: z.enum(REFERENCE_MODES).default('none'),
}).refine((p) => p.minRuns <= p.maxRuns, { error: 'maxRuns must be at least minRuns', path: ['maxRuns'] });

const onnxRuntimeDeviceSchema = strictObject({
  id: deviceId,
  description: z.string().optional(),
  identity,
  backend: z.literal('onnxruntime'),
  executionProvider: z.enum(['cpu', 'cuda']).default('cpu'),
  threads: strictObject({
    intraOp: z.number().int().min(1).default(1),
    interOp: z.number().int().min(1).default(1),
  }).prefault({}),
  /** Whether idle intra-op threads busy-wait; off by default so measurements do not steal each other's cores. */
  allowSpinning: z.boolean().default(false),
  protocol: protocolSchema.prefault({}),
});

const lookupTableDeviceSchema = strictObject({
  id: deviceId,
  description: z.string().optional(),
  identity,
  backend: z.literal('lookup-table'),
  /** Path of the table (JSON or YAML), relative to the devices file. */
  table: z.string().min(1),
});

const commandDeviceSchema = strictObject({
  id: deviceId,
  description: z.string().optional(),
  identity,
  backend: z.literal('command'),
  command: z
    .string()
    .min(1)
    .superRefine((template, ctx) => {
      for (const [, name] of template.matchAll(/\{([a-z]+)\}/g)) {
        if (!(COMMAND_PLACEHOLDERS as readonly string[]).includes(name!)) {
          ctx.addIssue({ code: 'custom', message: `unknown placeholder {${name}}; allowed: ${COMMAND_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}` });
        }
      }
    }),
  pattern: z
    .string()
    .min(1)
    .superRefine((pattern, ctx) => {
      try {
        new RegExp(pattern);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${errorMessage(error)}` });
        return;
      }
      const units = [...pattern.matchAll(/\(\?<(ms|us|s)>/g)];
      if (units.length !== 1) {
        ctx.addIssue({ code: 'custom', message: 'must contain exactly one named group (?<ms>…), (?<us>…) or (?<s>…) capturing the latency number in that unit' });
      }
    }),
  /** 'last': the output's last match is the latency; 'all': every match is one timed run. */
  match: z.enum(['last', 'all']).default('last'),
  /** How many times the command runs per architecture; the result is the median over all timed values. */
  repeats: z.number().int().min(1).default(1),
  timeoutSeconds: z.number().positive().default(600),
  /** Resolutions the target accepts; any resolution when absent. */
  resolutions: z.array(z.number().int().positive()).min(1).optional(),
  /** Substituted for {threads}. */
  threads: z.number().int().min(1).optional(),
  /** A command whose output identifies the target (e.g. `adb shell getprop ro.product.model`); part of the fingerprint. */
  probe: z.string().min(1).optional(),
  /** Working directory of the commands, relative to the devices file. */
  cwd: z.string().min(1).optional(),
}).refine((d) => !d.command.includes('{threads}') || d.threads !== undefined, { error: 'the command uses {threads}, so threads must be set', path: ['threads'] });

const deviceSchema = z.discriminatedUnion('backend', [onnxRuntimeDeviceSchema, lookupTableDeviceSchema, commandDeviceSchema]);
const devicesFileSchema = strictObject({ devices: z.array(deviceSchema) });

export type DeviceConfig = z.infer<typeof deviceSchema>;
export type OnnxRuntimeDevice = z.infer<typeof onnxRuntimeDeviceSchema>;
export type LookupTableDevice = z.infer<typeof lookupTableDeviceSchema>;
export type CommandDevice = z.infer<typeof commandDeviceSchema>;
export type OnnxRuntimeProtocol = z.infer<typeof protocolSchema>;

/** The built-in device: this host's CPU through onnxruntime-node with one intra-op and one inter-op thread. */
export const CPU_LOCAL: OnnxRuntimeDevice = onnxRuntimeDeviceSchema.parse({
  id: 'cpu-local',
  description: "this host's CPU through onnxruntime-node (CPU execution provider, 1 intra-op thread)",
  backend: 'onnxruntime',
});

/** An onnxruntime device with the defaults filled in, e.g. for tests and tools: `onnxRuntimeDevice({ id: 'x', protocol: { minRuns: 3 } })`. */
export function onnxRuntimeDevice(raw: Omit<z.input<typeof onnxRuntimeDeviceSchema>, 'backend'>): OnnxRuntimeDevice {
  return parseWith(onnxRuntimeDeviceSchema, { ...raw, backend: 'onnxruntime' }, 'device');
}

export function commandDevice(raw: Omit<z.input<typeof commandDeviceSchema>, 'backend'>): CommandDevice {
  return parseWith(commandDeviceSchema, { ...raw, backend: 'command' }, 'device');
}

/** The devices known to a process: the built-in `cpu-local` plus a devices file's devices. */
export class DeviceRegistry {
  constructor(
    readonly devices: readonly DeviceConfig[],
    /** Where the definitions came from, for messages. */
    readonly source: string,
  ) {}

  ids(): string[] {
    return this.devices.map((d) => d.id);
  }

  get(id: string): DeviceConfig {
    const device = this.devices.find((d) => d.id === id);
    if (!device) throw new UnknownDeviceError(id, this.ids());
    return device;
  }
}

/**
 * Validates a parsed devices file. Relative `table` and `cwd` paths are resolved against `baseDir`.
 * A file's `cpu-local` replaces the built-in one.
 */
export function parseDevices(raw: unknown, options: { source: string; baseDir: string }): DeviceRegistry {
  const file = parseWith(devicesFileSchema, raw, options.source);
  const seen = new Map<string, number>();
  file.devices.forEach((device, i) => {
    const previous = seen.get(device.id);
    if (previous !== undefined) throw new DeviceConfigError(`${options.source}: devices[${i}].id: duplicate id ${JSON.stringify(device.id)} (also devices[${previous}])`);
    seen.set(device.id, i);
  });
  const devices = file.devices.map((device): DeviceConfig => {
    if (device.backend === 'lookup-table') return { ...device, table: resolve(options.baseDir, device.table) };
    if (device.backend === 'command' && device.cwd !== undefined) return { ...device, cwd: resolve(options.baseDir, device.cwd) };
    return device;
  });
  const builtIn = seen.has(CPU_LOCAL.id) ? [] : [CPU_LOCAL];
  return new DeviceRegistry([...builtIn, ...devices], options.source);
}

/** Reads a devices file (YAML or JSON; YAML is a superset of JSON); without a path only `cpu-local` exists. */
export async function loadDevices(path?: string): Promise<DeviceRegistry> {
  if (path === undefined) return new DeviceRegistry([CPU_LOCAL], 'built-in');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new DeviceConfigError(`cannot read devices file ${path}: ${errorMessage(error)}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new DeviceConfigError(`${path}: not valid YAML or JSON: ${errorMessage(error)}`);
  }
  return parseDevices(raw, { source: path, baseDir: dirname(resolve(path)) });
}

/** Parses with a zod schema; failures become one DeviceConfigError with one line per problem. */
export function parseWith<T extends z.ZodType>(schema: T, raw: unknown, source: string): z.output<T> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `${source}: ${formatPath(issue.path)}: ${describeIssue(issue)}`);
  throw new DeviceConfigError(lines.join('\n'));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) return `required field missing (expected ${issue.expected})`;
  return issue.message;
}

function formatPath(path: readonly PropertyKey[]): string {
  return formatIssuePath(path, '(top level)');
}
