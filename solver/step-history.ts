import { digestOf } from "../oci/digest.js";
import type { Store } from "../store/store.js";
import type { StepComponents } from "./explain-miss.js";

/** The ref kind of step history records: what each step's key was made of last time. */
export const STEP_HISTORY_REF_KIND = "build-step";
const COMPONENTS_LABEL = "tsbuild.components";
/** Past this many file lines a record keeps only that files changed, not which. */
const MAX_FILE_LINES = 5000;

/**
 * What each step's cache key was made of when it last ran, by step slot (context,
 * Dockerfile, stage and position), so the next miss can say what changed. The records hold
 * no blobs or snapshots: they are no GC roots and cost nothing to lose.
 */
export class StepHistory {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async get(slot: string): Promise<StepComponents | undefined> {
    const record = await this.#store.refs.get(STEP_HISTORY_REF_KIND, idOf(slot));
    const text = record?.labels?.[COMPONENTS_LABEL];
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as StepComponents;
    } catch {
      return undefined;
    }
  }

  async put(slot: string, components: StepComponents): Promise<void> {
    const lines = components.files.reduce((n, files) => n + files.length, 0);
    const kept = lines > MAX_FILE_LINES ? { ...components, files: components.files.map((files) => [`"(${files.length} files)" ${digestOf(files.join("\n"))}`]) } : components;
    await this.#store.refs.put(STEP_HISTORY_REF_KIND, idOf(slot), { labels: { [COMPONENTS_LABEL]: JSON.stringify(kept) } });
  }
}

function idOf(slot: string): string {
  return digestOf(slot).replace("sha256:", "sha256-");
}
