// Valid values for the OpenAPI document's parameters, for the tests that walk every operation
// (contracts.test.ts calls each documented GET with them; hostile-input.test.ts mixes them with
// garbage): on a demo copy, the demo applications are loaded, two releases published (a comparison
// needs two) and the first one's archive built, and the parameters sampled from the rows.
import type { Knex } from 'knex';
import { expect } from 'vitest';
import { loadRules } from '../../server/conflicts/rules';
import { loadDemoApplications } from '../../server/demo/applications';
import { loadRegistry } from '../../server/layers/registry';
import { tileContaining } from '../../server/tiles/mvt';
import { publishRelease, releaseCall } from './releases';

/** The layer the samples name (a plan layer with demo features). */
export const SAMPLE_LAYER = 'landuse_plan';

/** A sample of a path parameter: by name, or by name and the path (an `id` is a case's or an application's). */
export type PathSample = string | ((path: string) => string | undefined);

export interface Samples {
  /** Path parameters by name. */
  path: Record<string, PathSample>;
  /** Required query parameters by name. */
  query: Record<string, string>;
}

/** The sample of a path parameter for the path, or undefined when there is none. */
export const pathSample = (samples: Samples, name: string, path: string): string | undefined => {
  const s = samples.path[name];
  return typeof s === 'function' ? s(path) : s;
};

/**
 * Loads the demo applications, publishes two releases (the first one's archive built: run the
 * service with ONEMAP_ARCHIVE_MINZOOM/MAXZOOM at one zoom to keep it small) and returns samples
 * of the parameters taken from the rows.
 */
export async function buildSamples(baseUrl: string, knex: Knex): Promise<Samples> {
  const registry = loadRegistry();
  /** A tile over the centre of Datong (城区) at zoom 12. */
  const [tileX, tileY] = tileContaining(113.3, 40.08, 12);
  await loadDemoApplications(knex, registry, loadRules(registry));
  const first = async (table: string, column: string) => String((await knex(table).orderBy(column).first(column))[column]);
  const caseId = await first('conflict_cases', 'id');
  const applicationId = await first('applications', 'id');
  const runId = await first('conflict_runs', 'id');
  const featureId = await first(`plan.${SAMPLE_LAYER}`, 'fid');
  const release = (await publishRelease(baseUrl, knex, { title: '契约测试' })).number;
  const other = (await publishRelease(baseUrl, knex, { title: '契约测试二' })).number;
  expect((await releaseCall(baseUrl, knex, 'planning.reviewer', 'POST', `/api/releases/${release}/archive`)).status).toBe(201);
  const releaseFeature = String((await knex('release_features').where({ release, layer_id: SAMPLE_LAYER }).orderBy('fid').first('fid')).fid);
  return {
    path: {
      layerId: SAMPLE_LAYER,
      collectionId: SAMPLE_LAYER,
      revision: '1',
      featureId: (p) => (p.startsWith('/releases/') ? releaseFeature : featureId),
      release: String(release),
      number: String(release),
      file: `release-${release}.pmtiles`,
      z: '12',
      x: String(tileX),
      y: String(tileY),
      fontstack: 'Noto Sans Regular',
      range: '0-255',
      runId,
      version: '1',
      id: (p) => (p.startsWith('/api/conflicts/cases/') ? caseId : p.startsWith('/api/conflicts/runs/') ? runId : p.startsWith('/api/applications/') ? applicationId : undefined),
    },
    query: { lon: '113.3', lat: '40.08', zoom: '12', layers: SAMPLE_LAYER, layer: SAMPLE_LAYER, from: '1', adcode: '140212', with: String(other) },
  };
}
