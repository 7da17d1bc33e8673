// Every fixed interface text of the viewer, in Chinese and English: one table (strings.json, data
// rather than code), grouped by the capability that shows the text — common words, the page
// (viewer), measure, imports, conflicts, accounts, the joint review (applications), two
// vocabularies the review panel words its own way (applicationTerms) and releases (成果发布). Keys are flat across groups
// and typed (StringKey): a misspelt or removed key fails the type-check. i18n.ts's t(key, vars)
// reads the table in the interface language, filling in {name} placeholders; term(vocabulary,
// code) names a code (`<vocabulary>_<code>`). A text shared by two panels is one entry, and no key
// stands in two groups (strings.test.ts checks both).
import type { Verdict } from '../../../server/applications/vocabulary';
import type { Severity } from '../../../server/conflicts/vocabulary';
import TABLE from './strings.json';

/** One interface text in both languages. */
export type Text = { readonly zh: string; readonly en: string };

/** The groups of the table, by capability. */
export const GROUPS = TABLE satisfies Record<string, Record<string, Text>>;

// The review panel names every verdict and rule severity the server's vocabularies give: a code
// added there fails the type-check here until it is named. (Its other vocabularies' names are the
// server's own, read with nameOf() from server/applications/vocabulary.ts.)
GROUPS.applicationTerms satisfies Record<`apVerdict_${Verdict}` | `apSeverity_${Severity}`, Text>;

/** Every interface text by key. */
export const STRINGS = {
  ...GROUPS.common, ...GROUPS.viewer, ...GROUPS.measure, ...GROUPS.imports, ...GROUPS.conflicts,
  ...GROUPS.accounts, ...GROUPS.applications, ...GROUPS.applicationTerms, ...GROUPS.releases,
};

/** Name of one interface string. */
export type StringKey = keyof typeof STRINGS;
