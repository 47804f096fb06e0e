import { SpaceValidationError } from '../pipelines/spaces/types.js';

/** A user-facing error: printed as one line naming the argument, never as a stack trace. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** Errors whose message is written for the user (they name the field and the allowed values). */
export function isUserFacing(error: unknown): error is Error {
  return error instanceof CliError || error instanceof SpaceValidationError || (error instanceof Error && 'userFacing' in error);
}
