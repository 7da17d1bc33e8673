import { describe, expect, test } from 'vitest';
import type { Application, Opinion } from './api';
import { amendBody, amendDraftOf, amendProblems, emptyOpinion, opinionBody, opinionProblemKey, opinionProblems, permissionsOf } from './detail-state';

const app = (over: Partial<Application> = {}): Application => ({
  id: 7, number: 'DT-2026-00002', status: 'under_review', version: 2, submitted_by: 'window',
  current: {
    version: 2, name: '塔山光伏电站二期', project_type: 'energy', investor: '大同光伏', requested_area_m2: 90_000, submitted_by: 'window',
    required: [{ department: 'land', zh: '市国土局', en: 'Land' }],
  },
  ...over,
} as unknown as Application);

const account = (name: string, roles: string[], department: string | null) => ({ name, roles, department });

describe('applications: an opinion before it is signed', () => {
  test('a decision, conditions for a conditional consent, a reason for a rejection, a note for a correction', () => {
    expect([...opinionProblems(emptyOpinion(), false)]).toEqual(['decision']);
    expect([...opinionProblems({ ...emptyOpinion(), decision: 'conditional' }, false)]).toEqual(['conditions']);
    expect([...opinionProblems({ ...emptyOpinion(), decision: 'reject', reason: ' ' }, true)]).toEqual(['reason', 'note']);
    expect(opinionProblems({ ...emptyOpinion(), decision: 'approve' }, false).size).toBe(0);
    expect(opinionProblemKey(new Set(['conditions', 'note']))).toBe('apNeedConditions');
    expect(opinionProblemKey(new Set(['note']))).toBe('apNeedNote');
  });

  test('the body carries what its decision needs only', () => {
    const d = { ...emptyOpinion(), conditions: ' 补划耕地 ', reason: '占用基本农田' };
    expect(opinionBody({ ...d, decision: 'conditional' })).toEqual({ decision: 'conditional', conditions: '补划耕地' });
    expect(opinionBody({ ...d, decision: 'reject' })).toEqual({ decision: 'reject', reason: '占用基本农田' });
    expect(opinionBody({ ...d, decision: 'approve' })).toEqual({ decision: 'approve' });
  });
});

describe('applications: an amendment', () => {
  test('filled in from the current version; only what differs is sent', () => {
    const a = app();
    const d = amendDraftOf(a.current);
    expect(d).toMatchObject({ name: '塔山光伏电站二期', type: 'energy', investor: '大同光伏', area: '9', newSite: true });
    expect([...amendProblems(d, undefined)]).toEqual(['note', 'site']);
    d.note = '避让基本农田';
    d.newSite = false;
    expect(amendProblems(d, undefined).size).toBe(0);
    expect(amendBody(d, a, undefined)).toEqual({ note: '避让基本农田', expected_version: 2 });
    d.area = '10';
    d.name = '塔山光伏电站二期（调整）';
    expect(amendBody(d, a, undefined)).toEqual({ note: '避让基本农田', expected_version: 2, name: '塔山光伏电站二期（调整）', requested_area_m2: 100_000 });
    d.area = 'x';
    expect([...amendProblems(d, undefined)]).toEqual(['area']);
  });
});

describe('applications: what an account may do (the server\'s needs)', () => {
  test('a reviewer of a department the version goes to signs; others are told why not', () => {
    expect(permissionsOf(account('land.reviewer', ['reviewer'], 'land'), app()).sign.req?.department).toBe('land');
    expect(permissionsOf(account('ndrc.reviewer', ['reviewer'], 'ndrc'), app()).sign).toEqual({ why: 'apNotRequired' });
    expect(permissionsOf(account('window', ['reviewer'], 'land'), app()).sign).toEqual({ why: 'apOwnApplication' });
    expect(permissionsOf(account('admin', ['admin'], null), app()).sign).toEqual({});
    expect(permissionsOf(account('land.reviewer', ['reviewer'], 'land'), app({ status: 'approved' })).sign).toEqual({});
  });

  test('the window withdraws and amends; an admin withdraws; nobody amends an approved one', () => {
    const w = permissionsOf(account('window', ['window_clerk'], 'service'), app());
    expect([w.withdraw, w.amend]).toEqual([true, true]);
    const admin = permissionsOf(account('admin', ['admin'], null), app());
    expect([admin.withdraw, admin.amend]).toEqual([true, false]);
    expect(permissionsOf(account('window', ['window_clerk'], 'service'), app({ status: 'approved' })).amend).toBe(false);
    expect(permissionsOf(null, app()).withdraw).toBe(false);
  });

  test('a correction: the effective opinion of the reviewer\'s department on the current version', () => {
    const o = { id: 3, department: 'land', version: 2, corrected_by: null } as unknown as Opinion;
    const p = permissionsOf(account('land.reviewer', ['reviewer'], 'land'), app());
    expect(p.correct(o)).toBe(true);
    expect(p.correct({ ...o, version: 1 })).toBe(false);
    expect(p.correct({ ...o, corrected_by: 9 } as unknown as Opinion)).toBe(false);
    expect(permissionsOf(account('ndrc.reviewer', ['reviewer'], 'ndrc'), app()).correct(o)).toBe(false);
  });
});
