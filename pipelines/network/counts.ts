/**
 * Analytical MACs and parameters, with the OFA conventions of §9: convolutions and the classifier count
 * MACs; BN, activations, pooling, the SE multiply and residual adds do not. Parameters include BN's
 * gamma and beta (two per channel) but not its running statistics.
 */
import type { IRBlock, IRNode, NetworkIR } from './ir.js';

export interface Counts {
  macs: number;
  params: number;
  bnParams: number;
}

export function nodeCounts(node: IRNode): Counts {
  if (node.op === 'conv') {
    const weights = node.cout * (node.cin / node.groups) * node.kernel * node.kernel;
    const macs = weights * node.outShape[1] * node.outShape[2];
    const bnParams = node.norm ? 2 * node.cout : 0;
    return { macs, params: weights + (node.bias ? node.cout : 0) + bnParams, bnParams };
  }
  if (node.op === 'linear') {
    return { macs: node.cin * node.cout, params: node.cin * node.cout + node.cout, bnParams: 0 };
  }
  return { macs: 0, params: 0, bnParams: 0 };
}

function sum(counts: Counts[]): Counts {
  return counts.reduce((a, b) => ({ macs: a.macs + b.macs, params: a.params + b.params, bnParams: a.bnParams + b.bnParams }), {
    macs: 0,
    params: 0,
    bnParams: 0,
  });
}

export function blockCounts(block: IRBlock): Counts {
  return sum(block.nodes.map(nodeCounts));
}

export function networkCounts(network: NetworkIR): Counts {
  return sum(network.blocks.map(blockCounts));
}
