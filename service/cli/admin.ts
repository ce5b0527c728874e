import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createStaff, createTerminal, setDisabled } from '../accounts/accounts.service';
import { loadConfig, type Config } from '../config';
import { trustedFilter } from '../lib/database';
import { generateKey, loadSecret, type KeyPurpose } from '../lib/keys';
import { generatePdfKey, PDF_SIGNER_SUBJECT } from '../pdf/signing';
import { createLogger } from '../lib/logger';
import { startRuntime, type Runtime } from '../runtime';

const USAGE = `Usage: npm run admin -- <command> [options]

Accounts (officers, admins and terminals are never self-registered):
  create-admin    --username U --name N [--password P]
  create-officer  --username U --name N --level township|county --jurisdiction CODE[,CODE…] [--password P] [--id-number ID]
                  (with --id-number, the officer is kept off cases that name them)
  create-terminal --township 430725101 --name N      prints the terminal id and its one-time secret
  disable         --username U | --terminal ID        tokens stop working at once
  enable          --username U | --terminal ID
  list                                                 officers, admins and terminals (never secrets)

Keys (in KEYS_DIR, default ./data/keys):
  new-key access|certificate|pdf  adds a signing key and makes it active; old keys keep verifying
                                (pdf: RSA key with a self-signed certificate; replace the .crt.pem with the CA's)
  new-secret id-hash|data       creates a missing 32-byte secret (never overwrites one)

A generated password or secret is printed once; it is stored only as a hash.
The database is the one npm start would use (MONGODB_URI, or the running service's, or ./data).`;

const options = {
  username: { type: 'string' },
  name: { type: 'string' },
  password: { type: 'string' },
  level: { type: 'string' },
  jurisdiction: { type: 'string' },
  township: { type: 'string' },
  terminal: { type: 'string' },
  'id-number': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

function need(values: Values, name: keyof Values): string {
  const v = values[name];
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--${name} is required`);
  return v.trim();
}

class UsageError extends Error {}

async function withRuntime<T>(config: Config, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await startRuntime(config, createLogger(process.env.LOG_LEVEL ?? 'warn'), { reuseRunning: true });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

export async function run(argv: string[], config: Config = loadConfig()): Promise<string> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
  const [command, arg] = positionals;
  if (values.help || !command) return USAGE;

  switch (command) {
    case 'create-admin':
    case 'create-officer': {
      const generated = values.password === undefined;
      const password = values.password ?? crypto.randomBytes(12).toString('base64url');
      const input = {
        username: need(values, 'username'),
        name: need(values, 'name'),
        password,
        role: command === 'create-admin' ? ('admin' as const) : ('officer' as const),
        ...(command === 'create-officer'
          ? {
              level: need(values, 'level') as 'township' | 'county',
              jurisdiction: need(values, 'jurisdiction').split(',').map((s) => s.trim()),
              idNumber: values['id-number'],
            }
          : {}),
      };
      const { id } = await withRuntime(config, (rt) => createStaff(rt.ctx, input));
      return `created ${input.role} ${input.username} (id ${id})${generated ? `\npassword: ${password}` : ''}`;
    }
    case 'create-terminal': {
      const created = await withRuntime(config, (rt) => createTerminal(rt.ctx, { township: need(values, 'township'), name: need(values, 'name') }));
      return `created terminal\nterminalId: ${created.terminalId}\nsecret: ${created.secret}\n(the secret is shown only now)`;
    }
    case 'disable':
    case 'enable': {
      const who = values.terminal ? { terminalId: values.terminal } : { username: need(values, 'username') };
      const ok = await withRuntime(config, (rt) => setDisabled(rt.ctx, who, command === 'disable'));
      if (!ok) throw new UsageError('no such account or terminal');
      return `${command}d ${who.terminalId ?? who.username}`;
    }
    case 'list': {
      return withRuntime(config, async (rt) => {
        const staff = await rt.ctx.models.Account.find(trustedFilter({ role: { $in: ['officer', 'admin'] } }), { passwordHash: 0 }).sort({ username: 1 }).lean();
        const terminals = await rt.ctx.models.Terminal.find({}, { secretHash: 0 }).sort({ terminalId: 1 }).lean();
        const state = (disabled: boolean): string => (disabled ? 'DISABLED' : 'active');
        return [
          'staff:',
          ...staff.map((a) => `  ${a.username}  ${a.role}${a.level ? `/${a.level}` : ''}  ${(a.jurisdiction ?? []).join(',') || '*'}  ${a.name}  ${state(a.disabled)}`),
          'terminals:',
          ...terminals.map((t) => `  ${t.terminalId}  township ${t.township}  ${t.name}  ${state(t.disabled)}`),
        ].join('\n');
      });
    }
    case 'new-key': {
      if (arg !== 'access' && arg !== 'certificate' && arg !== 'pdf') throw new UsageError('new-key takes access, certificate or pdf');
      const kid = arg === 'pdf' ? generatePdfKey(config.keysDir, PDF_SIGNER_SUBJECT) : generateKey(config.keysDir, arg as KeyPurpose);
      const active = path.join(config.keysDir, arg, 'ACTIVE');
      if (fs.existsSync(active)) fs.writeFileSync(active, kid);
      return `new ${arg} key ${kid} is active; restart the service to use it (older keys keep verifying)`;
    }
    case 'new-secret': {
      if (arg !== 'id-hash' && arg !== 'data') throw new UsageError('new-secret takes id-hash or data');
      if (fs.existsSync(path.join(config.keysDir, `${arg}.key`))) throw new UsageError(`${arg}.key exists; replacing it would make stored data unreadable`);
      loadSecret(config.keysDir, arg, true);
      return `created ${path.join(config.keysDir, `${arg}.key`)}`;
    }
    default:
      throw new UsageError(`unknown command ${command}\n\n${USAGE}`);
  }
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (out) => {
      console.log(out);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(err instanceof UsageError ? 64 : 1);
    },
  );
}
