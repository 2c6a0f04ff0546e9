/** Edit distance (insert, delete, substitute, swap of neighbours) between two short words. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The known word closest to a misspelt one (case aside, at most 2 edits away), or undefined. */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: { name: string; dist: number } | undefined;
  for (const name of known) {
    const dist = distance(word.toLowerCase(), name.toLowerCase());
    if (dist <= 2 && dist < word.length && (!best || dist < best.dist)) best = { name, dist };
  }
  return best?.name;
}
