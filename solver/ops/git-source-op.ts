import type { SourceDefinition } from "../../frontend/graph.js";
import { computeCacheKey } from "../cache-key.js";
import { checkGitChecksum, cloneGit, resolveGitCommit } from "../clone-git.js";
import type { CacheMap, CacheMapContext, ExecuteContext, Operation } from "../operation.js";
import type { VertexResult } from "../types.js";
import type { StepEnvironment } from "./step-environment.js";

/**
 * ADD of a git repository. Its key is the commit the ref names, asked of the remote with
 * `git ls-remote` (no clone), so a cached ADD costs one round trip; the commit is fetched
 * (shallow where the server allows) only when the step must run.
 */
export class GitSourceOp implements Operation<VertexResult> {
  readonly cached = false;
  readonly quiet = true;
  readonly #definition: Extract<SourceDefinition, { kind: "git" }>;
  readonly #env: StepEnvironment;
  #commit: string | undefined;
  #checkout: Promise<string> | undefined;

  constructor(definition: Extract<SourceDefinition, { kind: "git" }>, env: StepEnvironment) {
    this.#definition = definition;
    this.#env = env;
  }

  async cacheMap(context: CacheMapContext): Promise<CacheMap> {
    const { remote, ref } = this.#definition;
    this.#commit = await resolveGitCommit(remote, ref, { signal: context.signal });
    if (this.#commit === undefined) {
      // A ref ls-remote does not list (an abbreviated commit): clone now to learn the commit.
      const checkout = this.#clone(context.signal);
      this.#checkout = checkout.then((done) => done.path);
      this.#commit = (await checkout).commit;
    }
    // Checked when the key is known, so a cached ADD with a wrong --checksum still fails, as in BuildKit.
    checkGitChecksum(this.#definition.checksum, this.#commit);
    return { key: computeCacheKey(this.#definition, { inputs: [], checksums: [this.#commit] }) };
  }

  async execute(context: ExecuteContext): Promise<VertexResult> {
    this.#checkout ??= this.#clone(context.signal).then((done) => done.path);
    return { kind: "directory", path: await this.#checkout, exclude: [] };
  }

  async #clone(signal: AbortSignal): Promise<{ path: string; commit: string }> {
    const { remote, ref, subdir, keepGitDir, checksum } = this.#definition;
    const dir = await this.#env.scratchDir("git");
    return cloneGit(remote, dir, { ref, ...(this.#commit === undefined ? {} : { commit: this.#commit }), subdir, keepGitDir, ...(checksum === undefined ? {} : { checksum }), signal });
  }
}
