import type { AppContext } from '../context';
import { createStaff, createTerminal } from './accounts.service';

/**
 * Development only: one account of each kind for Taoyuan County (430725), so that a newcomer can try
 * every role at once. Production seeds nothing (config.seedDemoData is false there).
 */
export const DEMO = {
  admin: { username: 'demo.admin', password: 'demo-admin-pass', name: '演示管理员' },
  townshipOfficer: { username: 'demo.township', password: 'demo-township-pass', name: '演示乡镇审核员', jurisdiction: ['430725101'] },
  countyOfficer: { username: 'demo.county', password: 'demo-county-pass', name: '演示县级审批员', jurisdiction: ['430725'] },
  terminal: { terminalId: 'T430725101-DEMO', secret: 'demo-terminal-secret', name: '演示乡镇便民服务终端', township: '430725101' },
} as const;

export async function seedDemo(ctx: AppContext): Promise<string[]> {
  const lines: string[] = [];
  const staff = [
    { ...DEMO.admin, role: 'admin' as const },
    { ...DEMO.townshipOfficer, role: 'officer' as const, level: 'township' as const, jurisdiction: [...DEMO.townshipOfficer.jurisdiction] },
    { ...DEMO.countyOfficer, role: 'officer' as const, level: 'county' as const, jurisdiction: [...DEMO.countyOfficer.jurisdiction] },
  ];
  for (const s of staff) {
    if (!(await ctx.models.Account.exists({ loginKey: `user:${s.username}` }))) await createStaff(ctx, s);
    lines.push(`${s.role}${'level' in s ? ` (${s.level})` : ''}: username ${s.username}  password ${s.password}`);
  }
  const t = DEMO.terminal;
  if (!(await ctx.models.Terminal.exists({ terminalId: t.terminalId }))) await createTerminal(ctx, t);
  lines.push(`terminal (township ${t.township}): terminalId ${t.terminalId}  secret ${t.secret}`);
  return lines;
}
