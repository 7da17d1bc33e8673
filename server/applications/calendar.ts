// Working days for review deadlines (layers/calendar.json): Monday to Friday, minus the public
// holidays, plus the make-up working days on weekends, in Beijing time.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../platform/config';
import { expected, parseDate } from '../platform/values';

const day = z.string().refine((d) => parseDate(d) === d, `expected ${expected.date}`);
const schema = z.object({ $comment: z.string().optional(), years: z.array(z.number().int()), holidays: z.array(day), workdays: z.array(day) }).strict();

export class WorkCalendar {
  private readonly holidays: Set<string>;
  private readonly workdays: Set<string>;
  constructor(cal: { holidays: string[]; workdays: string[] }) {
    this.holidays = new Set(cal.holidays);
    this.workdays = new Set(cal.workdays);
  }

  static load(file = path.join(PROJECT_ROOT, 'layers', 'calendar.json')): WorkCalendar {
    const parsed = schema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    if (!parsed.success) throw new Error(`working-day calendar is invalid:\n  ${parsed.error.issues.map((i) => `calendar.json: ${i.path.join('.')}: ${i.message}`).join('\n  ')}`);
    return new WorkCalendar(parsed.data);
  }

  isWorkday(d: string): boolean {
    if (this.workdays.has(d)) return true;
    if (this.holidays.has(d)) return false;
    const wd = new Date(`${d}T00:00:00Z`).getUTCDay();
    return wd !== 0 && wd !== 6;
  }

  /** The date n working days after `from` (not counting `from` itself). */
  addWorkdays(from: string, n: number): string {
    let d = from;
    for (let left = n; left > 0; ) {
      d = nextDay(d);
      if (this.isWorkday(d)) left--;
    }
    return d;
  }

  /** Working days from today until the deadline (0 on the day itself, negative when overdue). */
  workdaysLeft(today: string, deadline: string): number {
    if (deadline === today) return 0;
    const sign = deadline > today ? 1 : -1;
    let [d, n] = [today, 0];
    while (d !== deadline) {
      d = sign > 0 ? nextDay(d) : prevDay(d);
      if (this.isWorkday(sign > 0 ? d : nextDay(d))) n += sign;
    }
    return n;
  }
}

const shift = (d: string, days: number) => new Date(Date.parse(`${d}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
const nextDay = (d: string) => shift(d, 1);
const prevDay = (d: string) => shift(d, -1);

/** Today's date in Beijing time (YYYY-MM-DD). */
export const beijingDate = (at = new Date()): string => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(at);
