// The revisions capability's error texts and errors, in one place (all through the platform's
// AppError, so they leave as JSON { code, message, details } like every other error).
import { AppError, badRequest, notFound } from '../platform/errors';

export const revisionMessages = {
  unknownRevision: (layerId: string, revision: number) => `revision ${revision} of layer '${layerId}' does not exist; see /api/layers/${layerId}/revisions`,
  contentNotKept: (layerId: string, revision: number) =>
    `revision ${revision} of layer '${layerId}' was recorded before revision contents were kept; only its count and area are known`,
  layerBusy: (layerId: string, seconds: number) => `another revision of layer '${layerId}' is being committed; it did not finish within ${seconds} s, try again`,
  rejected: (layerId: string, why: string) => `the features were refused by layer '${layerId}' and nothing was written: ${why}`,
  badMeta: (field: string, expected: string, got: unknown) => `revision ${field}: expected ${expected}, got ${JSON.stringify(got)}`,
} as const;

export const unknownRevision = (layerId: string, revision: number) =>
  notFound('unknown_revision', revisionMessages.unknownRevision(layerId, revision), { layerId, revision });

export const contentNotKept = (layerId: string, revision: number) =>
  notFound('revision_content_not_kept', revisionMessages.contentNotKept(layerId, revision), { layerId, revision });

/** The layer stayed locked by another commit for longer than the lock timeout. */
export const layerBusy = (layerId: string, ms: number) => new AppError(409, 'layer_busy', revisionMessages.layerBusy(layerId, Math.round(ms / 1000)), { layerId });

/** PostgreSQL refused a feature (data exception or constraint): nothing was written. */
export const featuresRejected = (layerId: string, why: string, pgCode: string) =>
  new AppError(422, 'features_rejected', revisionMessages.rejected(layerId, why), { layerId, sqlstate: pgCode });

export const badMeta = (field: string, expected: string, got: unknown) => badRequest('invalid_revision', revisionMessages.badMeta(field, expected, got), { field });
