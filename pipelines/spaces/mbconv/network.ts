/** The MBConv family's network (§1.4, §2, §3): stem, first block, units of MBConv layers, head; sized by a space definition. */
import { NetworkChain, buildBlock, type IRBlock, type NetworkIR, type Shape } from '../../network/ir.js';
import { makeDivisible } from '../common.js';
import type { MbSpaceDefinition } from '../definition.js';
import type { Activation, MbArchitecture } from '../types.js';

export function mbBlockName(expand: number, kernel: number): string {
  return `e${expand}k${kernel}`;
}

/** The expand ratio and kernel a block name says ("e6k7" → 6, 7); membership in a space is the space's check. */
export function parseMbBlock(name: string): { expand: number; kernel: number } | undefined {
  const match = /^e(\d+)k(\d+)$/.exec(name);
  return match ? { expand: Number(match[1]), kernel: Number(match[2]) } : undefined;
}

interface MbUnitMacro {
  cout: number;
  stride: number;
  activation: Activation;
  se: boolean;
}

/** A definition's channel counts after the width multiplier. */
export interface MbMacro {
  stem: { cout: number; activation: Activation };
  first: { cout: number; activation: Activation; residual: boolean };
  units: MbUnitMacro[];
  head: { kind: 'mbv3'; expand: number; mix: number } | { kind: 'proxyless'; mix: number };
  numClasses: number;
}

export function mbMacro(definition: MbSpaceDefinition): MbMacro {
  const w = (channels: number) => makeDivisible(channels * definition.widthMultiplier);
  const { stem, first, head } = definition;
  return {
    stem: { cout: w(stem.channels), activation: stem.activation },
    first: { cout: w(first.channels), activation: first.activation, residual: first.residual },
    units: definition.units.map((unit) => ({ cout: w(unit.channels), stride: unit.stride, activation: unit.activation, se: unit.se })),
    head: head.kind === 'mbv3' ? { kind: 'mbv3', expand: w(head.expand), mix: w(head.channels) } : { kind: 'proxyless', mix: w(head.channels) },
    numClasses: definition.classes,
  };
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

export function buildMbNetwork(arch: MbArchitecture, macro: MbMacro): NetworkIR {
  const chain = new NetworkChain([3, arch.resolution, arch.resolution]);

  chain.push(
    buildBlock('stem', chain.current, (b) => {
      b.conv({ cout: macro.stem.cout, kernel: 3, stride: 2, activation: macro.stem.activation });
      return { type: 'stem', kernel: 3, stride: 2, activation: macro.stem.activation };
    }),
  );
  chain.push(
    mbconvBlock('first', chain.current, { cout: macro.first.cout, kernel: 3, expand: 1, stride: 1, activation: macro.first.activation, se: false }, 'first', macro.first.residual),
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
  return chain.network(arch.space, arch.resolution, macro.numClasses);
}
