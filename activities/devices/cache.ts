/**
 * The measurement cache: one stored measurement per (device, fingerprint, protocol, architecture, resolution),
 * so no architecture is measured twice on the same device with the same protocol, across studies and restarts.
 */
import type { LatencyMeasurement } from './types.js';

/** The part of the artifact store the cache needs (activities/storage's stores satisfy it). */
export interface MeasurementStore {
  exists(key: string): Promise<boolean>;
  getJson<T>(key: string): Promise<T>;
  putJson(key: string, value: unknown): Promise<unknown>;
}

export interface MeasurementKeyParts {
  device: string;
  fingerprintHash: string;
  protocolHash: string;
  archHash: string;
  resolution: number;
}

export function measurementKey(parts: MeasurementKeyParts): string {
  return `measurements/${parts.device}/${parts.fingerprintHash}/${parts.protocolHash}/${parts.archHash}@${parts.resolution}.json`;
}

export class MeasurementCache {
  constructor(readonly store: MeasurementStore) {}

  async get(key: string): Promise<LatencyMeasurement | undefined> {
    if (!(await this.store.exists(key))) return undefined;
    const stored = await this.store.getJson<LatencyMeasurement>(key);
    return { ...stored, fromCache: true };
  }

  /**
   * Stores a fresh measurement. Stored artifacts are immutable, so if another host with the same fingerprint
   * stored one first, that one wins and is returned (marked fromCache).
   */
  async put(key: string, measurement: LatencyMeasurement): Promise<LatencyMeasurement> {
    try {
      await this.store.putJson(key, measurement);
      return measurement;
    } catch (error) {
      const stored = await this.get(key);
      if (stored) return stored;
      throw error;
    }
  }
}
