// The demo's first release of the one map (成果版本), so that the public map at `/` shows something on
// a first `npm start`: prepared by 市规划局's demo plan editor and published by its demo reviewer (four
// eyes, as always) with a demo map review number. Only into a database without releases.
import type { Knex } from 'knex';
import type { Account } from '../accounts/accounts';
import type { RuleSet } from '../conflicts/rules';
import type { Registry } from '../layers/registry';
import { Releases } from '../releases/store';

export async function loadDemoRelease(knex: Knex, registry: Registry, rules: RuleSet): Promise<number> {
  if (await knex('releases').first('number')) return 0;
  const releases = new Releases(knex, registry, rules);
  const account = async (name: string): Promise<Account> => knex('accounts').where({ name }).first('id', 'name', 'display_name', 'department', 'roles');
  const [editor, reviewer] = await Promise.all(['planning.editor', 'planning.reviewer'].map(account));
  const { number } = await releases.prepare(editor, {
    title: '大同市五规合一一张图（2015年版，示例数据）',
    notes: '示例数据：五规合一规划成果首次发布（国民经济和社会发展规划、土地利用总体规划、城市总体规划、环境保护规划、产业园区规划，现状与审批数据）。',
    approvalNumber: '同政函〔2015〕示例1号',
  });
  await releases.publish(reviewer, number, { reviewNumber: '晋S(2015)示例001号' });
  return 1;
}
