/**
 * The published third-party data of ../shared/realdata (its README says what each file is), read in place: never
 * copied into the repository. A test that needs it fails when it is missing, naming where it should be.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { importOfaNetConfig, ofaRunConfigResolution, type MbArchitecture } from '../../pipelines/spaces/index.js';

export const REALDATA = resolve(import.meta.dirname, '../../../shared/realdata');

/** A path under ../shared/realdata; throws when it is not there. */
export function realData(...parts: string[]): string {
  const path = join(REALDATA, ...parts);
  if (!existsSync(path)) throw new Error(`the published data must be at ${path} (../shared/realdata/README.md); it is read in place, never copied into the repository`);
  return path;
}

/** One of OFA's specialized nets (../shared/realdata/ofa-specialized/NAME), through the product's importer. */
export function specializedNet(name: string, space = 'ofa-mbv3'): MbArchitecture {
  const dir = realData('ofa-specialized', name);
  const json = (file: string): unknown => JSON.parse(readFileSync(join(dir, file), 'utf8'));
  return importOfaNetConfig(space, { net: json('net.config'), resolution: ofaRunConfigResolution(json('run.config')) });
}
