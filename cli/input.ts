/** Parsing of CLI argument values, each failure naming the argument and what it accepts. */
import { readFileSync } from 'node:fs';
import { Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import {
  SpaceValidationError,
  isRecord,
  originalSpace,
  parseSpaceDefinition,
  parseSpaceId,
  registerSpace,
  validateArchitecture,
  type Architecture,
  type DesignSpace,
  type SpaceDefinition,
  type SpaceDocument,
  type SpaceId,
} from '../pipelines/spaces/index.js';
import { CliError } from './errors.js';

/** A space's id, or a space definition file (YAML or JSON, docs/spaces.md), which is validated and registered. */
export function parseSpaceOption(value: string): SpaceId {
  return isSpaceDefinitionPath(value) ? registerSpaceFile(value, '--space').id : parseSpaceId(value, '--space');
}

/** Whether a `space` value names a definition file rather than a registered space id. */
export function isSpaceDefinitionPath(value: string): boolean {
  return /\.(ya?ml|json)$/i.test(value);
}

/** Reads, validates and registers a space definition file; problems name `field` and the file. */
export function registerSpaceFile(path: string, field: string): DesignSpace {
  return registerSpace(readSpaceDefinitionFile(path, field));
}

/** A file's text as JSON (a .json file) or YAML; a syntax error names `field`, the file and the parser's first line. */
export function parseYamlOrJson(text: string, path: string, field: string): unknown {
  const json = path.endsWith('.json');
  try {
    return json ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new CliError(`${field}: ${path} is not valid ${json ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`);
  }
}

export function readSpaceDefinitionFile(path: string, field: string): SpaceDefinition {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`${field}: cannot read the space definition ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const raw = parseYamlOrJson(text, path, field);
  try {
    return parseSpaceDefinition(raw);
  } catch (error) {
    if (error instanceof SpaceValidationError) throw new CliError(`${field}: ${path}: ${error.message}`);
    throw error;
  }
}

export function parseIntegerOption(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new CliError(`${name}: expected an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/** Reads `JSON` or `@file` (a file holding JSON). */
export function readJsonArgument(name: string, value: string): unknown {
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (error) {
      throw new CliError(`${name}: cannot read ${value.slice(1)} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${name}: not valid JSON (give a JSON object or @file)`);
  }
}

/**
 * An architecture from --arch, checked against --space (and a space document when given). A `resolution`
 * (a --resolution flag) replaces the architecture's own before it is validated, so an architecture whose own
 * resolution is not allowed is accepted with a valid flag, and a flag that is not allowed names --resolution.
 */
export function readArchitecture(value: string, space: SpaceId, options: { document?: SpaceDocument; resolution?: number } = {}): Architecture {
  const { document, resolution } = options;
  let raw = readJsonArgument('--arch', value);
  if (resolution !== undefined) {
    checkResolution(space, resolution, document);
    if (isRecord(raw)) raw = { ...raw, resolution };
  }
  if (isRecord(raw) && !('space' in raw)) {
    return validateArchitecture({ space, ...raw }, document);
  }
  const arch = validateArchitecture(raw, document);
  if (arch.space !== space) throw new CliError(`--arch: architecture is of space ${arch.space}, but --space is ${space}`);
  return arch;
}

export function parseResolutionOption(value: string): number {
  return parseIntegerOption('--resolution', 1)(value);
}

/** A --resolution value checked against the space's resolutions (the document's when given); the error names the flag and the allowed values. */
export function checkResolution(space: SpaceId, resolution: number, document?: SpaceDocument): number {
  const allowed = (document ?? originalSpace(space)).resolutions;
  if (!allowed.includes(resolution)) throw new CliError(`--resolution: ${resolution} is not allowed in ${space}; allowed: ${allowed.join(', ')}`);
  return resolution;
}

/** The mandatory --space option every space-specific command takes. */
export function spaceOption(): Option {
  return new Option('--space <space>', 'design space: ofa-mbv3 | proxylessnas | resnet50, or a space definition file (.yaml/.json, docs/spaces.md)')
    .argParser(parseSpaceOption)
    .makeOptionMandatory();
}
