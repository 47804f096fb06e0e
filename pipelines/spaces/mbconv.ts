/**
 * The two MBConv spaces: OFA-MobileNetV3 (width 1.2) and OFA-ProxylessNAS (width 1.3), §1.4, §2, §3.
 */
import { NetworkChain, buildBlock, type IRBlock, type NetworkIR, type Shape } from '../network/ir.js';
import { makeDivisible } from './common.js';
import type { Activation, MbArchitecture, MbSpaceId } from './types.js';

export const MB_KERNELS = [3, 5, 7] as const;
export const MB_EXPANDS = [3, 4, 6] as const;
/** The 9 block names, in the paper's order: expand 3, 4, 6, then kernel 3, 5, 7. */
export const MB_BLOCKS: readonly string[] = MB_EXPANDS.flatMap((e) => MB_KERNELS.map((k) => mbBlockName(e, k)));

export function mbBlockName(expand: number, kernel: number): string {
  return `e${expand}k${kernel}`;
}

export function parseMbBlock(name: string): { expand: number; kernel: number } | undefined {
  const match = /^e(\d)k(\d)$/.exec(name);
  if (!match) return undefined;
  const expand = Number(match[1]);
  const kernel = Number(match[2]);
  if (!MB_EXPANDS.includes(expand as 3) || !MB_KERNELS.includes(kernel as 3)) return undefined;
  return { expand, kernel };
}

interface MbUnitMacro {
  cout: number;
  stride: number;
  activation: Activation;
  se: boolean;
  minLayers: number;
  maxLayers: number;
}

export interface MbMacro {
  space: MbSpaceId;
  stem: { cout: number; activation: Activation };
  first: { cout: number; activation: Activation; residual: boolean };
  units: MbUnitMacro[];
  head:
    | { kind: 'mbv3'; expand: number; mix: number }
    | { kind: 'proxyless'; mix: number };
  numClasses: number;
}

function mbUnits(
  couts: number[],
  strides: number[],
  activations: Activation[],
  se: boolean[],
  layers: [number, number][],
): MbUnitMacro[] {
  return couts.map((cout, i) => ({
    cout,
    stride: strides[i]!,
    activation: activations[i]!,
    se: se[i]!,
    minLayers: layers[i]![0],
    maxLayers: layers[i]![1],
  }));
}

const MBV3_WIDTH = 1.2;
const PN_WIDTH = 1.3;
const w = (base: number, mult: number) => makeDivisible(base * mult);

export const MBV3_MACRO: MbMacro = {
  space: 'ofa-mbv3',
  stem: { cout: w(16, MBV3_WIDTH), activation: 'hswish' },
  first: { cout: w(16, MBV3_WIDTH), activation: 'relu', residual: true },
  units: mbUnits(
    [24, 40, 80, 112, 160].map((b) => w(b, MBV3_WIDTH)),
    [2, 2, 2, 1, 2],
    ['relu', 'relu', 'hswish', 'hswish', 'hswish'],
    [false, true, false, true, true],
    [[2, 4], [2, 4], [2, 4], [2, 4], [2, 4]],
  ),
  head: { kind: 'mbv3', expand: w(960, MBV3_WIDTH), mix: w(1280, MBV3_WIDTH) },
  numClasses: 1000,
};

export const PROXYLESS_MACRO: MbMacro = {
  space: 'proxylessnas',
  stem: { cout: w(32, PN_WIDTH), activation: 'relu6' },
  first: { cout: w(16, PN_WIDTH), activation: 'relu6', residual: false },
  units: mbUnits(
    [24, 40, 80, 96, 192, 320].map((b) => w(b, PN_WIDTH)),
    [2, 2, 2, 1, 2, 1],
    Array<Activation>(6).fill('relu6'),
    Array<boolean>(6).fill(false),
    [[2, 4], [2, 4], [2, 4], [2, 4], [2, 4], [1, 1]],
  ),
  head: { kind: 'proxyless', mix: w(1280, PN_WIDTH) },
  numClasses: 1000,
};

export function mbMacro(space: MbSpaceId): MbMacro {
  return space === 'ofa-mbv3' ? MBV3_MACRO : PROXYLESS_MACRO;
}

/** An MBConv layer (§1.4): optional 1x1 expansion, depthwise, optional SE, 1x1 projection, residual. */
function mbconvBlock(
  name: string,
  input: { tensor: string; shape: Shape },
  layer: { cout: number; kernel: number; expand: number; stride: number; activation: Activation; se: boolean },
  type: 'first' | 'mbconv',
  allowResidual = true,
): IRBlock {
  return buildBlock(name, input, (b) => {
    const cin = input.shape[0];
    const mid = layer.expand === 1 ? cin : makeDivisible(Math.round(cin * layer.expand), 8);
    const residual = allowResidual && layer.stride === 1 && cin === layer.cout;
    if (layer.expand !== 1) b.conv({ cout: mid, kernel: 1, activation: layer.activation });
    const depthwise = b.conv({ cout: mid, kernel: layer.kernel, stride: layer.stride, groups: mid, activation: layer.activation });
    if (layer.se) {
      const seMid = makeDivisible(Math.floor(mid / 4), 8);
      const dwShape = b.shape;
      b.globalAvgPool();
      b.conv({ cout: seMid, kernel: 1, norm: false, bias: true, activation: 'relu' });
      const gate = b.conv({ cout: mid, kernel: 1, norm: false, bias: true, activation: 'hsigmoid' });
      b.binary('mul', depthwise, gate, dwShape);
    }
    const projected = b.conv({ cout: layer.cout, kernel: 1, initGain: residual ? 0.5 : 1 });
    if (residual) b.binary('add', projected, input.tensor, b.shape);
    return {
      type,
      kernel: layer.kernel,
      expand: layer.expand,
      mid,
      stride: layer.stride,
      se: layer.se,
      activation: layer.activation,
      residual,
    };
  });
}

export function buildMbNetwork(arch: MbArchitecture): NetworkIR {
  const macro = mbMacro(arch.space);
  const chain = new NetworkChain([3, arch.resolution, arch.resolution]);

  chain.push(
    buildBlock('stem', chain.current, (b) => {
      b.conv({ cout: macro.stem.cout, kernel: 3, stride: 2, activation: macro.stem.activation });
      return { type: 'stem', kernel: 3, stride: 2, activation: macro.stem.activation };
    }),
  );
  chain.push(
    mbconvBlock(
      'first',
      chain.current,
      { cout: macro.first.cout, kernel: 3, expand: 1, stride: 1, activation: macro.first.activation, se: false },
      'first',
      macro.first.residual,
    ),
  );
  arch.units.forEach((blocksOfUnit, u) => {
    const unit = macro.units[u]!;
    blocksOfUnit.forEach((blockName, l) => {
      const parsed = parseMbBlock(blockName);
      if (!parsed) throw new Error(`internal: unvalidated block ${blockName}`);
      chain.push(
        mbconvBlock(
          `u${u}.l${l}`,
          chain.current,
          { cout: unit.cout, kernel: parsed.kernel, expand: parsed.expand, stride: l === 0 ? unit.stride : 1, activation: unit.activation, se: unit.se },
          'mbconv',
        ),
      );
    });
  });
  chain.push(
    buildBlock('head', chain.current, (b) => {
      if (macro.head.kind === 'mbv3') {
        b.conv({ cout: macro.head.expand, kernel: 1, activation: 'hswish' });
        b.globalAvgPool();
        b.conv({ cout: macro.head.mix, kernel: 1, norm: false, bias: false, activation: 'hswish' });
      } else {
        b.conv({ cout: macro.head.mix, kernel: 1, activation: 'relu6' });
        b.globalAvgPool();
      }
      b.flatten();
      b.linear(macro.numClasses);
      return { type: 'head' };
    }),
  );
  return {
    space: arch.space,
    resolution: arch.resolution,
    input: 'input',
    inputShape: chain.inputShape,
    output: chain.current.tensor,
    numClasses: macro.numClasses,
    blocks: chain.blocks,
  };
}
