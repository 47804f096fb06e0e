/**
 * The measurement cache: one stored measurement per (device, fingerprint, protocol, architecture, resolution),
 * so no architecture is measured twice on the same device with the same protocol, across studies and restarts.
 */
import type { LatencyMeasurement, ReferenceCalibration } from './types.js';

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

/** Where a device's calibration of its reference model is kept, next to the measurements it scales. */
export function calibrationKey(parts: MeasurementKeyParts): string {
  return `measurements/${parts.device}/${parts.fingerprintHash}/${parts.protocolHash}/reference/${parts.archHash}@${parts.resolution}.json`;
}

export class MeasurementCache {
  constructor(readonly store: MeasurementStore) {}

  async get(key: string): Promise<LatencyMeasurement | undefined> {
    const stored = await this.read<LatencyMeasurement>(key);
    return stored && { ...stored, fromCache: true };
  }

  /**
   * Stores a fresh measurement. Stored artifacts are immutable, so if another host with the same fingerprint
   * stored one first, that one wins and is returned (marked fromCache).
   */
  async put(key: string, measurement: LatencyMeasurement): Promise<LatencyMeasurement> {
    const stored = await this.write(key, measurement);
    return stored === measurement ? measurement : { ...stored, fromCache: true };
  }

  getCalibration(key: string): Promise<ReferenceCalibration | undefined> {
    return this.read<ReferenceCalibration>(key);
  }

  /** Stores a calibration; the first one stored wins, so every worker of the device scales by the same number. */
  putCalibration(key: string, calibration: ReferenceCalibration): Promise<ReferenceCalibration> {
    return this.write(key, calibration);
  }

  private async read<T>(key: string): Promise<T | undefined> {
    return (await this.store.exists(key)) ? this.store.getJson<T>(key) : undefined;
  }

  private async write<T>(key: string, value: T): Promise<T> {
    try {
      await this.store.putJson(key, value);
      return value;
    } catch (error) {
      const stored = await this.read<T>(key);
      if (stored) return stored;
      throw error;
    }
  }
}
