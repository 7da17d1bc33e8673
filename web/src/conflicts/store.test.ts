import { describe, expect, test } from 'vitest';
import type { CaseDetail, Summary } from './api';
import { draftAsComment, draftProblems, problemText, transitionRequest } from './actions';
import { emptyDraft, severityCount, stripDetail, withFilter } from './store';

const draft = (over: Partial<ReturnType<typeof emptyDraft>>) => ({ ...emptyDraft(), ...over });

describe('conflicts panel: state', () => {
  test('a filter change drops what is set back to "any" and keeps the rest', () => {
    expect(withFilter({ status: 'open', rule: 'r1' }, { rule: undefined, adcode: '140211' })).toEqual({ status: 'open', adcode: '140211' });
    expect(withFilter({ status: 'open' }, { status: undefined })).toEqual({});
    // '' is a value: outside every district.
    expect(withFilter({}, { adcode: '' })).toEqual({ adcode: '' });
  });

  test('the list keeps a case without its geometry and history', () => {
    const c = { id: 'x', fid: 1, geometry: null, events: [] } as unknown as CaseDetail;
    expect(stripDetail(c)).toEqual({ id: 'x', fid: 1 });
  });

  test('current patches by severity from the summary', () => {
    const s = { rows: [{ severity: 'critical', count: 2 }, { severity: 'minor', count: 5 }, { severity: 'critical', count: 3 }], totals: {} } as unknown as Summary;
    expect(severityCount(s, 'critical')).toBe(5);
    expect(severityCount(s, 'major')).toBe(0);
    expect(severityCount(undefined, 'critical')).toBeUndefined();
  });
});

describe('conflicts panel: a status change before it is sent', () => {
  test('a coordination needs its decision and reason, and a date that exists', () => {
    expect([...draftProblems('coordinated', draft({}))]).toEqual(['decision', 'reason']);
    expect([...draftProblems('coordinated', draft({ decision: 'follow_b', reason: '调出', effective_date: '2026-02-30' }))]).toEqual(['effective_date']);
    expect(draftProblems('coordinated', draft({ decision: 'follow_b', reason: '调出', effective_date: '2026-12-01' })).size).toBe(0);
    expect([...draftProblems('pending', draft({ reason: '  ' }))]).toEqual(['reason']);
    expect(draftProblems('verified', draft({})).size).toBe(0);
    expect(problemText('coordinated', new Set(['reason']))).toBe('请选择协调方式并填写协调理由');
    expect(problemText('pending', new Set(['reason']))).toBe('请填写退回理由');
    expect(problemText('coordinated', new Set(['effective_date']))).toContain('YYYY-MM-DD');
  });

  test('the request carries the fields of its transition only', () => {
    const d = draft({ decision: 'adjust_both', reason: '两规调整', district_opinion: '同意', comment: '备注' });
    expect(transitionRequest('coordinated', d)).toEqual({ to: 'coordinated', comment: '备注', decision: 'adjust_both', reason: '两规调整', district_opinion: '同意', city_opinion: '', effective_date: '' });
    expect(transitionRequest('pending', d)).toEqual({ to: 'pending', comment: '备注', reason: '两规调整' });
    expect(transitionRequest('verified', d)).toEqual({ to: 'verified', comment: '备注' });
  });

  test('a draft no longer possible becomes a comment, line by line', () => {
    const d = draft({ decision: 'adjust_both', reason: ' 两规调整 ', comment: '已与南郊区电话确认' });
    expect(draftAsComment(d, 'coordinated', () => '两规共同调整')).toBe('协调方式：两规共同调整\n协调理由：两规调整\n已与南郊区电话确认');
    expect(draftAsComment(draft({ reason: '重新协调' }), 'pending', (c) => c)).toBe('退回理由：重新协调');
    expect(draftAsComment(emptyDraft(), 'pending', (c) => c)).toBe('');
  });
});

