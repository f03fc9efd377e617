// `npx tsx scripts/health-check.ts [url]` = `tinycdp health [--url <url>]`: GET /health and
// /<service>/health (ingest, processor, decide, admin), a table, exit 1 if any is not ok.
import { healthCommand } from '../services/cli/src/commands/health';

const argv = process.argv.slice(2);
// A bare URL as the first argument is accepted for convenience.
if (argv[0] !== undefined && /^https?:\/\//.test(argv[0])) argv.splice(0, 1, '--url', argv[0]);
process.exitCode = await healthCommand.run(argv, process.env);
