/** Writes test/fixtures/space-golden.json: the paper spaces' outputs the space-family refactor must keep byte-identical. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { GOLDEN_SPACES, spaceGolden } from '../test/helpers/space-golden.js';

const golden = Object.fromEntries(GOLDEN_SPACES.map((space) => [space, spaceGolden(space)]));
writeFileSync(resolve(import.meta.dirname, '../test/fixtures/space-golden.json'), `${JSON.stringify(golden, null, 2)}\n`);
console.log('wrote test/fixtures/space-golden.json');
