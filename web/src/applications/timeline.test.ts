import { describe, expect, test } from 'vitest';
import { describeEvent } from './timeline';

const names = { department: (id: string) => ({ land: '市国土局', ndrc: '市发改委' }[id] ?? id), type: (c: string) => (c === 'energy' ? '能源/光伏项目' : c) };

describe('applications: timeline words', () => {
  test('each kind of event in Chinese', () => {
    expect(describeEvent({ kind: 'submitted', detail: { name: '光伏项目', project_type: 'energy', site_area_m2: 49121.47 } }, names))
      .toEqual(['光伏项目 · 能源/光伏项目 · 4.9121 公顷（73.68 亩）']);
    expect(describeEvent({ kind: 'opinion', detail: { opinion: 7, decision: 'reject', conditions: null, reason: '占用基本农田' } }, names))
      .toEqual(['审查结论：不同意', '不同意理由：占用基本农田']);
    expect(describeEvent({ kind: 'correction', detail: { decision: 'approve', note: '条件已满足', corrects: 3 } }, names))
      .toEqual(['审查结论：同意', '更正说明：条件已满足']);
    expect(describeEvent({ kind: 'resubmitted', detail: { note: '调整选址', site_changed: true, previous_outcome: 'rejected' } }, names))
      .toEqual(['修改说明：调整选址', '调整了选址 · 原状态：未通过']);
    expect(describeEvent({ kind: 'rejected', detail: { by: 'land.reviewer', departments: ['land'] } }, names)).toEqual(['不同意：市国土局']);
    expect(describeEvent({ kind: 'approved', detail: { by: 'x', conditions: 1 } }, names)).toEqual(['其中 1 个部门有条件同意']);
    expect(describeEvent({ kind: 'approved', detail: { by: 'x', conditions: 0 } }, names)).toEqual([]);
    expect(describeEvent({ kind: 'withdrawn', detail: { reason: '建设单位撤回' } }, names)).toEqual(['撤回原因：建设单位撤回']);
  });

  test('a plain string as it is; nothing for no detail', () => {
    expect(describeEvent({ kind: 'opinion', detail: '同意' }, names)).toEqual(['同意']);
    expect(describeEvent({ kind: 'opinion' }, names)).toEqual([]);
  });
});
