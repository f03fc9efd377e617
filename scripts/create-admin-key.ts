// `npx tsx scripts/create-admin-key.ts` = `tinycdp keys create --scope admin --name admin`.
// Extra arguments pass through (e.g. `--name ops`, `--json`). Uses DATABASE_URL, else the embedded
// store (through the running server when there is one).
import { keysCommand } from '../services/cli/src/commands/keys';

process.exitCode = await keysCommand.run(['create', '--scope', 'admin', '--name', 'admin', ...process.argv.slice(2)], process.env);
