/**
 * A problem with what the user gave the accuracy layer (a table file, a dataset, a model, a source that
 * cannot be scored here). The message names the file, line and field; retrying cannot fix it.
 */
export class AccuracyInputError extends Error {
  readonly userFacing = true;

  constructor(message: string) {
    super(message);
    // Temporal reports an error's constructor name as its type; the study's activities never retry this one.
    this.name = new.target.name;
  }
}
