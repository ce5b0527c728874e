import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { addStaff, addTerminal, COMMAND_LINE, listAccounts, setEnabled } from '../accounts/administration';
import { setDisabled } from '../accounts/accounts.service';
import { AppError } from '../lib/errors';
import { loadConfig, type Config } from '../config';
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

/** A refusal in words for the terminal: each field's problem, in English. */
export function cliMessage(err: unknown): string {
  if (err instanceof AppError && err.errors?.length) return err.errors.map((e) => `${e.path}: ${e.messages.en}`).join('\n');
  return err instanceof Error ? err.message : String(err);
}

async function withRuntime<T>(config: Config, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await startRuntime(config, createLogger(process.env.LOG_LEVEL ?? 'warn'), { reuseRunning: true });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

export async function run(argv: string[], config: Config = loadConfig()): Promise<string> {
  try {
    return await execute(argv, config);
  } catch (err) {
    // A refusal of the administration service names its fields: say them as a usage error.
    if (err instanceof AppError && err.errors?.length) throw new UsageError(cliMessage(err));
    throw err;
  }
}

async function execute(argv: string[], config: Config): Promise<string> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true });
  const [command, arg] = positionals;
  if (values.help || !command) return USAGE;

  switch (command) {
    case 'create-admin':
    case 'create-officer': {
      const input = {
        username: need(values, 'username'),
        name: need(values, 'name'),
        password: values.password,
        role: command === 'create-admin' ? ('admin' as const) : ('officer' as const),
        ...(command === 'create-officer'
          ? { level: need(values, 'level'), jurisdiction: need(values, 'jurisdiction').split(',').map((s) => s.trim()), idNumber: values['id-number'] }
          : {}),
      };
      const created = await withRuntime(config, (rt) => addStaff(rt.ctx, COMMAND_LINE, input));
      return `created ${input.role} ${created.username} (id ${created.id})${created.generated ? `\npassword: ${created.password}` : ''}`;
    }
    case 'create-terminal': {
      const created = await withRuntime(config, (rt) => addTerminal(rt.ctx, COMMAND_LINE, { township: need(values, 'township'), name: need(values, 'name') }));
      return `created terminal\nterminalId: ${created.terminalId}\nsecret: ${created.secret}\n(the secret is shown only now)`;
    }
    case 'disable':
    case 'enable': {
      const enabled = command === 'enable';
      await withRuntime(config, async (rt) => {
        if (values.terminal) return setEnabled(rt.ctx, COMMAND_LINE, { kind: 'terminal', terminalId: values.terminal }, enabled);
        const username = need(values, 'username').toLowerCase();
        const account = (await listAccounts(rt.ctx)).staff.find((a) => a.username === username);
        // Residents (by ID number) are disabled through the service directly: they are not staff.
        if (!account) {
          if (!(await setDisabled(rt.ctx, { username }, !enabled))) throw new UsageError('no such account or terminal');
          return;
        }
        return setEnabled(rt.ctx, COMMAND_LINE, { kind: 'staff', id: account.id }, enabled);
      });
      return `${command}d ${values.terminal ?? values.username}`;
    }
    case 'list': {
      return withRuntime(config, async (rt) => {
        const { staff, terminals } = await listAccounts(rt.ctx);
        const state = (disabled: boolean): string => (disabled ? 'DISABLED' : 'active');
        return [
          'staff:',
          ...staff.map((a) => `  ${a.username}  ${a.role}${a.level ? `/${a.level}` : ''}  ${a.jurisdiction.join(',') || '*'}  ${a.name}  ${state(a.disabled)}`),
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
