// The joint review (联动审批) and where each part of it lives:
//   the words (statuses, decisions, event kinds, verdicts, project types)   vocabulary.ts
//   the site, drawn, uploaded or typed as boundary points, and its checks   site.ts
//   the compliance check against every plan, and the routing             check.ts (types.ts: the project types)
//   the commands: submit, amend and resubmit, withdraw; sign, correct      commands.ts
//   the outcome, derived from the effective opinions; an approved site
//   joining the approval data of the map                                 outcome.ts
//   the reads: an application, a version, lists and inboxes, the map     queries.ts
//   a check run again, against its recorded revisions or today's plans   recheck.ts
//   the printable report                                                  report.ts
//   the HTTP contract (schemas.ts) and the routes                         routes.ts
// Who may do what is declared in accounts/needs.ts and checked by accounts/authorize.ts.
import type { Knex } from 'knex';
import type { Registry } from '../layers/registry';
import type { WorkCalendar } from './calendar';
import type { ProjectTypes } from './types';

/** What every part of the joint review works with: the database, the registry, the project types and the working days. */
export class Applications {
  constructor(
    readonly knex: Knex,
    readonly registry: Registry,
    readonly types: ProjectTypes,
    readonly calendar: WorkCalendar,
  ) {}

  /** A department with its names (the id itself for one the registry does not know). */
  department(id: string): { id: string; zh: string; en: string } {
    return this.registry.departments.find((d) => d.id === id) ?? { id, zh: id, en: id };
  }

  /** A department's Chinese name. */
  deptZh(id: string): string {
    return this.department(id).zh;
  }
}
