/** The OFA-ResNet50 space (§1.5, §4): elastic depth, expand ratio and width. */
import { NetworkChain, buildBlock, type NetworkIR } from '../network/ir.js';
import { makeDivisible } from './common.js';
import type { ResNetArchitecture } from './types.js';

export const RESNET_WIDTH_MULTS = [0.65, 0.8, 1.0] as const;
export const RESNET_EXPANDS = [0.2, 0.25, 0.35] as const;
export const RESNET_BLOCKS: readonly string[] = RESNET_EXPANDS.map(resnetBlockName);
export const RESNET_BASE_DEPTHS = [2, 2, 4, 2] as const;
export const RESNET_MAX_DEPTHS = [4, 4, 6, 4] as const;
export const RESNET_STRIDES = [1, 2, 2, 2] as const;
const RESNET_BASE_WIDTHS = [256, 512, 1024, 2048] as const;
/** Where each unit's expand slots start in OFA's 18-slot e list. */
export const RESNET_SLOT_STARTS = [0, 4, 8, 14] as const;

export function resnetBlockName(expand: number): string {
  return `e${expand}`;
}

export function parseResNetBlock(name: string): number | undefined {
  const match = /^e(0\.\d+)$/.exec(name);
  if (!match) return undefined;
  const expand = Number(match[1]);
  return RESNET_EXPANDS.includes(expand as 0.2) ? expand : undefined;
}

export const RESNET_STEM_OUT_WIDTHS: readonly number[] = RESNET_WIDTH_MULTS.map((m) => makeDivisible(64 * m));
export const RESNET_STEM_HIDDEN_WIDTHS: readonly number[] = RESNET_STEM_OUT_WIDTHS.map((o) => makeDivisible(Math.floor(o / 2)));
export const RESNET_UNIT_WIDTHS: readonly (readonly number[])[] = RESNET_BASE_WIDTHS.map((base) =>
  RESNET_WIDTH_MULTS.map((m) => makeDivisible(base * m)),
);

export function bottleneckMid(unitWidth: number, expand: number): number {
  return makeDivisible(Math.round(unitWidth * expand), 8);
}

export function buildResNetNetwork(arch: ResNetArchitecture): NetworkIR {
  const chain = new NetworkChain([3, arch.resolution, arch.resolution]);
  const hidden = RESNET_STEM_HIDDEN_WIDTHS[arch.stem.hiddenWidth]!;
  const out = RESNET_STEM_OUT_WIDTHS[arch.stem.outWidth]!;

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
    const width = RESNET_UNIT_WIDTHS[u]![arch.widths[u]!]!;
    blocksOfUnit.forEach((blockName, l) => {
      const expand = parseResNetBlock(blockName);
      if (expand === undefined) throw new Error(`internal: unvalidated block ${blockName}`);
      const stride = l === 0 ? RESNET_STRIDES[u]! : 1;
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
      b.linear(1000);
      return { type: 'head' };
    }),
  );
  return { space: 'resnet50', resolution: arch.resolution, input: 'input', inputShape: chain.inputShape, output: chain.current.tensor, numClasses: 1000, blocks: chain.blocks };
}
