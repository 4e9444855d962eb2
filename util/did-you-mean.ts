/**
 * Picks the candidate closest to `input` by edit distance, for "did you mean" hints.
 * Returns undefined when nothing is close enough to be a plausible typo.
 */
export function didYouMean(input: string, candidates: Iterable<string>): string | undefined {
  const needle = input.toLowerCase();
  // A typo changes at most about a third of a word; beyond that the hint misleads.
  const limit = Math.max(1, Math.floor(needle.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(needle, candidate.toLowerCase(), limit);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** Levenshtein distance with adjacent transpositions, stopping early past `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previousPrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, previousPrevious[j - 2] + 1);
      }
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > limit) return limit + 1;
    previousPrevious = previous;
    previous = current;
  }
  return previous[b.length];
}

/**
 * `message` with BuildKit's suggestion suffix (util/suggest): `unknown flag: --mont (did you
 * mean mount?)`. Without a suggestion, `message` as it is.
 */
export function withSuggestion(message: string, suggestion: string | undefined): string {
  return suggestion === undefined ? message : `${message} (did you mean ${suggestion}?)`;
}

/** A suggestion in the case the user wrote in, as BuildKit's matchCase: `RUNN` → `RUN`, `runn` → `run`. */
export function inCaseOf(suggestion: string, written: string): string {
  if (written === written.toLowerCase()) return suggestion.toLowerCase();
  if (written === written.toUpperCase()) return suggestion.toUpperCase();
  return suggestion;
}

/**
 * BuildKit's own suggestion rule (util/suggest.Search), for the messages that carry its
 * words: the first candidate at the smallest Levenshtein distance below 3, whatever the
 * length; none when `input` is itself a candidate. Case-insensitive when asked; the
 * suggestion comes in the case it is listed in.
 */
export function buildkitSuggestion(input: string, candidates: Iterable<string>, options: { caseSensitive: boolean }): string | undefined {
  const value = options.caseSensitive ? input : input.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const option = options.caseSensitive ? candidate : candidate.toLowerCase();
    if (option === value) return undefined;
    const distance = levenshtein(value, option);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    previous = current;
  }
  return previous[b.length];
}
