/** What every figure module exports; bench/run.ts adds timing, load averages and identity. */
import type { BenchContext } from '../context.js';
import type { FigureId, FigureResult } from '../results.js';

export type FigureOutput = Pick<FigureResult, 'method' | 'checks' | 'headlines' | 'summary' | 'notes' | 'details'>;

export interface Figure {
  id: FigureId;
  number: number;
  title: string;
  run(ctx: BenchContext): Promise<FigureOutput>;
}
