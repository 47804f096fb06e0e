/** The bottleneck family's network (§1.5, §4): OFA-ResNet's stem, units of bottleneck blocks with elastic expand and width, head. */
import { NetworkChain, buildBlock, type NetworkIR } from '../../network/ir.js';
import { makeDivisible } from '../common.js';
import type { BottleneckSpaceDefinition } from '../definition.js';
import type { BottleneckArchitecture } from '../types.js';

export function bottleneckBlockName(expand: number): string {
  return `e${expand}`;
}

/** The expand ratio a block name says ("e0.25" → 0.25); membership in a space is the space's check. */
export function parseBottleneckBlock(name: string): number | undefined {
  const match = /^e(\d+(?:\.\d+)?)$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** A definition's channel counts by width index: the stem's two convolutions and every unit. */
export interface BottleneckWidths {
  stemHidden: readonly number[];
  stemOut: readonly number[];
  units: readonly (readonly number[])[];
}

export function bottleneckWidths(definition: BottleneckSpaceDefinition): BottleneckWidths {
  const stemOut = definition.widthMultipliers.map((m) => makeDivisible(definition.stem.channels * m));
  return {
    stemOut,
    stemHidden: stemOut.map((o) => makeDivisible(Math.floor(o / 2))),
    units: definition.units.map((unit) => definition.widthMultipliers.map((m) => makeDivisible(unit.channels * m))),
  };
}

export function bottleneckMid(unitWidth: number, expand: number): number {
  return makeDivisible(Math.round(unitWidth * expand), 8);
}

export function buildBottleneckNetwork(arch: BottleneckArchitecture, definition: BottleneckSpaceDefinition, widths: BottleneckWidths): NetworkIR {
  const chain = new NetworkChain([3, arch.resolution, arch.resolution]);
  const hidden = widths.stemHidden[arch.stem.hiddenWidth]!;
  const out = widths.stemOut[arch.stem.outWidth]!;

  chain.push(
    buildBlock('stem', chain.current, (b) => {
      b.conv({ cout: hidden, kernel: 3, stride: 2, activation: 'relu' });
      if (!arch.stem.skip) {
        const identity = b.current;
        const branch = b.conv({ cout: hidden, kernel: 3, activation: 'relu', initGain: 0.5 });
        b.binary('add', branch, identity, b.shape);
      }
      b.conv({ cout: out, kernel: 3, activation: 'relu' });
      b.maxPool(3, 2, 1);
      return { type: 'resnet-stem', kernel: 3, stride: 2, activation: 'relu', residual: !arch.stem.skip, mid: hidden };
    }),
  );

  arch.units.forEach((blocksOfUnit, u) => {
    const width = widths.units[u]![arch.widths[u]!]!;
    blocksOfUnit.forEach((blockName, l) => {
      const expand = parseBottleneckBlock(blockName);
      if (expand === undefined) throw new Error(`internal: unvalidated block ${blockName}`);
      const stride = l === 0 ? definition.units[u]!.stride : 1;
      const input = chain.current;
      chain.push(
        buildBlock(`u${u}.l${l}`, input, (b) => {
          const mid = bottleneckMid(width, expand);
          const identity = stride === 1 && input.shape[0] === width;
          b.conv({ cout: mid, kernel: 1, activation: 'relu' });
          b.conv({ cout: mid, kernel: 3, stride, activation: 'relu' });
          const main = b.conv({ cout: width, kernel: 1, initGain: 0.5 });
          let shortcut = input.tensor;
          if (!identity) {
            const pooled = stride > 1 ? b.avgPoolCeil(stride, input) : input;
            shortcut = b.conv({ cout: width, kernel: 1, from: { tensor: pooled.tensor, shape: pooled.shape } });
          }
          b.binary('add', main, shortcut, [width, b.shape[1], b.shape[2]]);
          b.activation('relu');
          return { type: 'bottleneck', kernel: 3, expand, mid, stride, activation: 'relu', residual: identity };
        }),
      );
    });
  });

  chain.push(
    buildBlock('head', chain.current, (b) => {
      b.globalAvgPool();
      b.flatten();
      b.linear(definition.classes);
      return { type: 'head' };
    }),
  );
  return chain.network(arch.space, arch.resolution, definition.classes);
}
