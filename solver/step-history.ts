import { digestOf, isDigest } from "../oci/digest.js";
import type { Store } from "../store/store.js";
import type { StepComponents } from "./explain-miss.js";

/** The ref kind of step history records: what each step's key was made of last time. */
export const STEP_HISTORY_REF_KIND = "build-step";
const COMPONENTS_LABEL = "tsbuild.components";

/**
 * What each step's cache key was made of when it last ran, by step slot (context,
 * Dockerfile, stage and position), so the next miss can say what changed. The definition
 * and input keys sit in the record; the file lines (one per file a COPY read, which can be
 * tens of thousands) in a JSON blob the record holds. Losing a record costs only the
 * explanation.
 */
export class StepHistory {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async get(slot: string): Promise<StepComponents | undefined> {
    const record = await this.#store.refs.get(STEP_HISTORY_REF_KIND, idOf(slot));
    const text = record?.labels?.[COMPONENTS_LABEL];
    if (record === undefined || text === undefined) return undefined;
    try {
      const components = JSON.parse(text) as Omit<StepComponents, "files"> & { files?: string[][] };
      const blob = record.blobs[0];
      const files = blob !== undefined && isDigest(blob) ? (JSON.parse((await this.#store.content.read(blob)).toString("utf8")) as string[][]) : (components.files ?? []);
      return { ...components, files };
    } catch {
      return undefined;
    }
  }

  async put(slot: string, components: StepComponents): Promise<void> {
    const { files, ...rest } = components;
    const hasFiles = files.some((lines) => lines.length > 0);
    const blob = hasFiles ? await this.#store.content.write(Buffer.from(JSON.stringify(files))) : undefined;
    await this.#store.refs.put(STEP_HISTORY_REF_KIND, idOf(slot), {
      ...(blob === undefined ? {} : { blobs: [blob.digest] }),
      labels: { [COMPONENTS_LABEL]: JSON.stringify(hasFiles ? rest : components) },
      durable: false, // only explains a later miss
    });
  }
}

function idOf(slot: string): string {
  return digestOf(slot).replace("sha256:", "sha256-");
}
