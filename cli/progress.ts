/** Progress output for long commands: a bar with counts and ETA on a TTY, plain periodic lines otherwise. */
import type { CampaignProgress } from '../workflows/definitions.js';

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

export function progressBar(done: number, total: number, width = 24): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function campaignLine(c: CampaignProgress): string {
  const label = c.kind === 'accuracy' ? 'accuracy' : c.target;
  return `${label.padEnd(16)} ${progressBar(c.done, c.total)} ${String(c.done).padStart(6)}/${c.total} ${c.state.padEnd(9)} eta ${formatDuration(c.etaSeconds)} (${c.computed} computed, ${c.cached} cached)`;
}

/** Writes a block of lines: redrawn in place on a TTY, appended otherwise. */
export class ProgressPrinter {
  private previousLines = 0;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  get interactive(): boolean {
    return Boolean(this.stream.isTTY);
  }

  show(lines: string[]): void {
    if (this.interactive && this.previousLines > 0) this.stream.write(`\x1b[${this.previousLines}F\x1b[J`);
    this.stream.write(`${lines.join('\n')}\n`);
    this.previousLines = this.interactive ? lines.length : 0;
  }
}

/** Progress of a counted job (lut build, search): bar, counts and ETA from the pace so far. */
export class CountProgress {
  private readonly printer = new ProgressPrinter();
  private readonly started = performance.now();
  private lastLine = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number, detail = ''): void {
    const elapsed = (performance.now() - this.started) / 1000;
    const eta = done > 0 ? ((this.total - done) * elapsed) / done : null;
    // Plain output (a log file, CI) gets a line every 10 s and the last one, not a redraw per item.
    if (!this.printer.interactive && done < this.total && performance.now() - this.lastLine < 10_000) return;
    this.lastLine = performance.now();
    this.printer.show([`${this.label} ${progressBar(done, this.total)} ${done}/${this.total} eta ${formatDuration(eta)}${detail ? ` ${detail}` : ''}`]);
  }
}
