export * from './types.js';
export * from './common.js';
export * from './registry.js';
export * from './validate.js';
export * from './specs.js';
export * from './definition.js';
export type { DesignSpace, FactorName, FamilyName, InsightFactor } from './family.js';
export { mbBlockName, parseMbBlock } from './mbconv/network.js';
export { OFA_SUBNET_FORMAT, ofaSubnetArchitecture, type OfaSubnet } from './mbconv/ofa-subnet.js';
export { OFA_NET_CONFIG_FORMAT, OfaNetConfigFormatError, importOfaNetConfig, ofaRunConfigResolution, type OfaNetConfigImport } from './mbconv/ofa-net-config.js';
export { MB_BLOCKS } from './mbconv/builtin.js';
export { parseBottleneckBlock } from './bottleneck/network.js';
import type { NetworkIR } from '../network/ir.js';
import { networkCounts, type Counts } from '../network/counts.js';
import { designSpace } from './registry.js';
import type { Architecture } from './types.js';

export function buildNetwork(arch: Architecture): NetworkIR {
  return designSpace(arch.space).build(arch);
}

export function architectureCounts(arch: Architecture): Counts {
  return networkCounts(buildNetwork(arch));
}
