/** Study specs from presets (presets/NAME.yaml) or YAML/JSON files. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseStudySpec, type StudySpec } from '../pipelines/study/spec.js';
import { CliError } from './errors.js';
import { isSpaceDefinitionPath, parseYamlOrJson, readSpaceDefinitionFile } from './input.js';

const PRESETS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../presets');

export function presetNames(): string[] {
  return readdirSync(PRESETS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

/**
 * The raw (unvalidated) spec behind a preset name or a file path. `space: path/to/space.yaml` (relative to the spec's
 * folder) is read and carried in the spec as `spaceDefinition`, under the space's id, so that every worker of the
 * study gets the same space.
 */
export function readRawSpec(nameOrPath: string): unknown {
  const { raw, file } = readSpecFile(nameOrPath);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const space = (raw as Record<string, unknown>).space;
  if (typeof space !== 'string' || !isSpaceDefinitionPath(space)) return raw;
  const definition = readSpaceDefinitionFile(resolve(dirname(resolve(file)), space), 'space');
  return { ...raw, space: definition.id, spaceDefinition: definition };
}

function readSpecFile(nameOrPath: string): { raw: unknown; file: string } {
  const preset = resolve(PRESETS_DIR, `${nameOrPath}.yaml`);
  const file = /^[a-z0-9-]+$/.test(nameOrPath) && existsSync(preset) ? preset : nameOrPath;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`SPEC: ${JSON.stringify(nameOrPath)} is neither a preset (${presetNames().join(', ')}) nor a readable file`);
  }
  return { raw: parseYamlOrJson(text, file, 'SPEC'), file };
}

export function loadSpec(nameOrPath: string): StudySpec {
  return parseStudySpec(readRawSpec(nameOrPath));
}
