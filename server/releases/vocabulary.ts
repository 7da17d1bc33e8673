// The words of releases (成果版本), pure so that the viewer reads the same ones: the lifecycle and
// who may see a release in each state.
//   draft 草稿       prepared, not yet public; staff only
//   published 已发布  the current public map (at most one)
//   superseded 已替代 an earlier published release: still public, listed as history
//   withdrawn 已撤回  taken back with a reason: readable by staff, 410 to the public; never deleted
export const RELEASE_STATUSES = ['draft', 'published', 'superseded', 'withdrawn'] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

export const RELEASE_STATUS_ZH: Record<ReleaseStatus, string> = { draft: '草稿', published: '已发布', superseded: '已替代', withdrawn: '已撤回' };

/** The statuses anyone may read without an account. */
export const PUBLIC_STATUSES: readonly ReleaseStatus[] = ['published', 'superseded'];

export const isPublic = (s: ReleaseStatus): boolean => PUBLIC_STATUSES.includes(s);

/** The department that issues the one map (市规划局). */
export const ISSUING_DEPARTMENT = 'planning';
