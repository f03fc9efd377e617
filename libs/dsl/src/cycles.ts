/** A trait or segment definition as the cycle finder sees it: what it reads. */
export interface DefinitionDeps {
  readonly key: string;
  readonly kind: 'trait' | 'segment';
  /** Traits it reads (`requirements.traits`). */
  readonly traits: readonly string[];
  /** Segments it reads (`requirements.segments`). */
  readonly segments: readonly string[];
}

export interface DefinitionNode {
  readonly kind: 'trait' | 'segment';
  readonly key: string;
}

/** One reference cycle: `nodes[0]` reads `nodes[1]` ... and the last reads `nodes[0]`. */
export interface DefinitionCycle {
  readonly nodes: readonly DefinitionNode[];
  /** e.g. "trait a → segment s → trait a". */
  readonly message: string;
}

const id = (n: DefinitionNode) => `${n.kind}:${n.key}`;

/**
 * Finds reference cycles between trait and segment definitions (traits and segments are separate
 * namespaces). Returns one cycle per strongly connected component that has one (a self reference
 * counts), each rotated to start at its smallest node, sorted; references to undefined keys are
 * ignored. Iterative (no recursion), O(nodes + edges).
 */
export function findCycles(defs: readonly DefinitionDeps[]): DefinitionCycle[] {
  const nodes = new Map<string, DefinitionNode>();
  for (const d of defs) nodes.set(id(d), { kind: d.kind, key: d.key });
  const edges = new Map<string, string[]>();
  for (const d of defs) {
    const from = id(d);
    const out = edges.get(from) ?? [];
    for (const t of d.traits) if (nodes.has(`trait:${t}`)) out.push(`trait:${t}`);
    for (const s of d.segments) if (nodes.has(`segment:${s}`)) out.push(`segment:${s}`);
    edges.set(from, [...new Set(out)].sort());
  }

  // Tarjan's SCC, iteratively.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const sccs: string[][] = [];
  let counter = 0;
  for (const start of [...nodes.keys()].sort()) {
    if (index.has(start)) continue;
    const work: { v: string; i: number }[] = [{ v: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { v: string; i: number };
      const out = edges.get(frame.v) ?? [];
      if (frame.i < out.length) {
        const w = out[frame.i++] as string;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.v, Math.min(low.get(frame.v) ?? 0, index.get(w) ?? 0));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.v, Math.min(low.get(parent.v) ?? 0, low.get(frame.v) ?? 0));
      if (low.get(frame.v) === index.get(frame.v)) {
        const scc: string[] = [];
        let w: string | undefined;
        do {
          w = stack.pop();
          if (w === undefined) break;
          onStack.delete(w);
          scc.push(w);
        } while (w !== frame.v);
        sccs.push(scc);
      }
    }
  }

  const cycles: DefinitionCycle[] = [];
  for (const scc of sccs) {
    const members = new Set(scc);
    const first = [...scc].sort()[0] as string;
    const selfLoop = (edges.get(first) ?? []).includes(first);
    if (scc.length === 1 && !selfLoop) continue;
    const path = selfLoop ? [first] : cyclePath(first, members, edges);
    const ns = path.map((p) => nodes.get(p) as DefinitionNode);
    const names = [...ns, ns[0] as DefinitionNode].map((n) => `${n.kind} ${n.key}`);
    cycles.push({ nodes: ns, message: names.join(' → ') });
  }
  return cycles.sort((a, b) => (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
}

/** A shortest path from `start` back to itself inside one SCC (BFS). */
function cyclePath(start: string, members: Set<string>, edges: Map<string, string[]>): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  for (let qi = 0; qi < queue.length; qi++) {
    const v = queue[qi] as string;
    for (const w of edges.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        let cur = v;
        while (cur !== start) {
          cur = prev.get(cur) as string;
          path.push(cur);
        }
        return path.reverse();
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}
