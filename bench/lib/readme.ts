import { readFileSync, writeFileSync } from 'node:fs';

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

/**
 * Replaces the README's performance section (between the bench markers) with the rendered results,
 * so the README never quotes numbers that no run produced. Returns the new README text.
 * Throws when the markers are missing (the README was edited by hand and lost them).
 */
export function spliceReadme(readme: string, markdown: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a === -1 || b === -1 || b < a) throw new Error(`README has no ${START} … ${END} section`);
  const body = markdown.replace(/^# .*\n+/, ''); // the results file's own title is not wanted here
  return `${readme.slice(0, a + START.length)}\n${body.trim()}\n${readme.slice(b)}`;
}

export function updateReadme(path: string, markdown: string): void {
  writeFileSync(path, spliceReadme(readFileSync(path, 'utf8'), markdown));
}
