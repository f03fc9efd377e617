// `npx tsx scripts/seed.ts [options]` = `tinycdp seed [options]` (see `npx tinycdp seed --help`).
import { seedCommand } from '../services/cli/src/commands/seed';

process.exitCode = await seedCommand.run(process.argv.slice(2), process.env);
