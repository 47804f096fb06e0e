/**
 * A search's state in the store, one record per step (pipelines/search SearchStepRecord), so that its workflow
 * carries only the step number and its activities read and write by key: no payload grows with the search.
 *
 * Each worker keeps the latest state of the searches it drives in memory, so a step costs one record's write, not
 * a read of the whole search; a worker that restarts, or another one that takes over, rebuilds the state from the
 * records. Records are immutable and a step is a pure function of the state before it, so a retried step writes the
 * same record again.
 */
import { applyStepRecord, startSearch, stepRecord, type SearchConfig, type SearchObjective, type SearchState, type SearchStepRecord } from '../../pipelines/search/index.js';
import { armKey, type SearchArm } from '../../pipelines/search/arms.js';
import type { Architecture } from '../../pipelines/spaces/types.js';
import type { ArtifactStore } from '../storage/index.js';
import { studyKeys } from './keys.js';

/** Which search: what its workflow passes to every step activity (small, fixed size). */
export interface SearchLocator {
  studyId: string;
  planKey: string;
  device: string;
  objective: SearchObjective;
  arm: SearchArm;
  seed: number;
  /** A whole state stored by an earlier version when its workflow continued as new: the records continue from it. */
  checkpointKey?: string;
}

/** One step of a stored search. */
export interface SearchStepInput {
  search: SearchLocator;
  step: number;
}

/** States kept per worker: a study runs its searches one after another per device, so a few suffice. */
const CACHED_SEARCHES = 16;

const searchId = (s: SearchLocator) => `${s.studyId}/${s.device}/${s.objective}/${armKey(s.arm)}/${s.seed}`;

export class StoredSearches {
  private readonly latest = new Map<string, { state: SearchState; batch?: Architecture[] }>();

  constructor(private readonly store: ArtifactStore) {}

  private keys(s: SearchLocator) {
    const keys = studyKeys(s.studyId);
    return {
      config: keys.searchConfig(s.device, s.objective, armKey(s.arm), s.seed),
      step: (step: number) => keys.searchStep(s.device, s.objective, armKey(s.arm), s.seed, step),
    };
  }

  /** Stores a new search's configuration and returns its first state. */
  async create(search: SearchLocator, config: SearchConfig): Promise<SearchState> {
    const state = startSearch(config);
    await this.store.putJson(this.keys(search).config, state.config);
    this.remember(search, state);
    return state;
  }

  /** The state before `step`: from memory, else from the configuration (or the old checkpoint) and the step records. */
  async load(search: SearchLocator, step: number): Promise<SearchState> {
    const cached = this.latest.get(searchId(search));
    if (cached?.state.step === step) return cached.state;
    const keys = this.keys(search);
    let state = search.checkpointKey ? await this.store.getJson<SearchState>(search.checkpointKey) : startSearch(await this.store.getJson<SearchConfig>(keys.config));
    if (state.step > step) throw new RangeError(`search ${searchId(search)}: step ${step} is before its checkpoint (step ${state.step})`);
    while (state.step < step) state = applyStepRecord(state, await this.store.getJson<SearchStepRecord>(keys.step(state.step)));
    this.remember(search, state);
    return state;
  }

  /** The candidates of the state's step (nextBatch), computed once per state and worker. */
  batch(search: SearchLocator, state: SearchState, next: (state: SearchState) => Architecture[]): Architecture[] {
    const cached = this.latest.get(searchId(search));
    if (cached?.state === state) return (cached.batch ??= next(state));
    return next(state);
  }

  /** Stores the step that took `before` to `after`. */
  async advance(search: SearchLocator, before: SearchState, after: SearchState): Promise<void> {
    await this.store.putJson(this.keys(search).step(before.step), stepRecord(before, after));
    this.remember(search, after);
  }

  private remember(search: SearchLocator, state: SearchState): void {
    const id = searchId(search);
    this.latest.delete(id);
    this.latest.set(id, { state });
    if (this.latest.size > CACHED_SEARCHES) this.latest.delete(this.latest.keys().next().value!);
  }
}
