// Every `tinycdp` subcommand, in the order `tinycdp --help` lists them.
import type { Command } from '../command';
import { exprCommand } from './expr';
import { healthCommand } from './health';
import { kafkaCommand } from './kafka';
import { keysCommand } from './keys';
import { migrateCommand } from './migrate';
import { rebuildCommand } from './rebuild';
import { seedCommand } from './seed';
import { serveCommand } from './serve';
import { startCommand } from './start';

export const commands: Command[] = [
  startCommand,
  serveCommand,
  migrateCommand,
  keysCommand,
  seedCommand,
  exprCommand,
  healthCommand,
  rebuildCommand,
  kafkaCommand,
];
