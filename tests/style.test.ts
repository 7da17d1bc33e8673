import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../server/layers/registry';
import { asStaff } from './helpers/auth';
import { expectError, getJson } from './helpers/http';
import { useFileServer } from './helpers/setup';

const srv = useFileServer();

describe('MapLibre style', () => {
  it('passes the MapLibre style-spec validator', async () => {
    const { body } = await getJson(`${srv.baseUrl}/style.json`, asStaff());
    expect(validateStyleMin(body)).toEqual([]);
  });

  it('has one source per registry layer and colours every class from the registry', async () => {
    const registry = loadRegistry();
    const { body } = await getJson(`${srv.baseUrl}/style.json`, asStaff());
    expect(Object.keys(body.sources).sort()).toEqual(registry.layers.map((l) => l.id).sort());
    const fill = body.layers.find((l: any) => l.id === 'landuse_plan:fill');
    for (const c of registry.byId.get('landuse_plan')!.classification.classes) {
      const i = fill.paint['fill-color'].indexOf(c.code);
      expect(fill.paint['fill-color'][i + 1]).toBe(c.color);
    }
    for (const l of body.layers.filter((x: any) => x.type !== 'background')) expect(registry.byId.has(l.metadata['onemap:layer'])).toBe(true);
  });

  it('references only resources the service itself serves (offline): TileJSON, tiles and glyphs', async () => {
    const { body } = await getJson(`${srv.baseUrl}/style.json`, asStaff());
    for (const s of Object.values<any>(body.sources)) {
      expect(s.url.startsWith(srv.baseUrl)).toBe(true);
      expect((await fetch(s.url, asStaff())).status).toBe(200);
    }
    expect(body.glyphs.startsWith(srv.baseUrl)).toBe(true);
    const glyphs = await fetch(body.glyphs.replace('{fontstack}', encodeURIComponent('Noto Sans Regular')).replace('{range}', '0-255'));
    expect(glyphs.status).toBe(200);
    expect((await glyphs.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  });

  it('is staff only (the working layers); the glyphs are public', async () => {
    await expectError(`${srv.baseUrl}/style.json`, 401, 'unauthenticated');
    expect((await fetch(`${srv.baseUrl}/fonts/${encodeURIComponent('Noto Sans Regular')}/0-255.pbf`)).status).toBe(200);
  });
});
