/** The uniform architectures of the design-space reference's §9 table, built by depth, block and width. */
import type { MbArchitecture, BottleneckArchitecture } from '../../pipelines/spaces/index.js';

/** Every unit at `depth` layers of `block` (ProxylessNAS unit 5 always has one layer). */
export const uniformMb = (space: 'ofa-mbv3' | 'proxylessnas', depth: number, block: string, resolution = 224): MbArchitecture => ({
  space,
  resolution,
  units: (space === 'ofa-mbv3' ? [depth, depth, depth, depth, depth] : [depth, depth, depth, depth, depth, 1]).map((d) => Array<string>(d).fill(block)),
});

/** OFA's d list (d[0] = 2: full stem), one expand ratio everywhere, one width index everywhere. */
export const uniformResNet = (d: number[], expand: string, width: number): BottleneckArchitecture => ({
  space: 'resnet50',
  resolution: 224,
  stem: { skip: d[0] !== 2, hiddenWidth: width, outWidth: width },
  units: [2, 2, 4, 2].map((base, u) => Array<string>(base + d[u + 1]!).fill(expand)),
  widths: [width, width, width, width],
});
