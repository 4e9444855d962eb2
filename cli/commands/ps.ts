import { describeState, listContainers, type ContainerListEntry } from "../../container/list-containers.js";
import { formatPortBindings } from "../../container/port-bindings.js";
import { TsbuildError } from "../../errors.js";
import { goQuote } from "../../frontend/go-format.js";
import { ellipsis, goTimeString, humanAgo } from "../../worker/human-units.js";
import { resolveImage } from "../../worker/resolve-image.js";
import type { Worker } from "../../worker/worker.js";
import type { Command } from "../command.js";
import { checkContainerFilters, CONTAINER_FILTER_KEYS, filterContainers, type AncestorImage, type ContainerImageFacts } from "../filters/container-filters.js";
import { filterOption, parseFilters } from "../filters/list-filters.js";
import { formatRows } from "../format/format-rows.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

const TABLE = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}";

/** docker's column headers for the fields of a container row. */
const HEADERS = {
  ID: "CONTAINER ID",
  Names: "NAMES",
  Image: "IMAGE",
  Command: "COMMAND",
  CreatedAt: "CREATED AT",
  RunningFor: "CREATED",
  Ports: "PORTS",
  State: "STATE",
  Status: "STATUS",
  Size: "SIZE",
  Labels: "LABELS",
  Mounts: "MOUNTS",
  LocalVolumes: "LOCAL VOLUMES",
  Networks: "NETWORKS",
};

export const psCommand: Command = {
  name: "ps",
  summary: "List containers",
  usage: "ps [OPTIONS]",
  description:
    "States are checked against the runtime, so a container whose tsbuild or shim was killed shows as it truly is. " +
    '--format takes a Go template as docker\'s does ("{{.Names}}", "table {{.ID}}\\t{{.Status}}", "json"). ' +
    'Fields: ID, Names, Image, Command, CreatedAt, RunningFor, Ports, State, Status, Size, Labels, Label "KEY", Mounts, LocalVolumes, Networks.',
  options: [
    { name: "all", short: "a", type: "boolean", description: "Show all containers (default: running ones)" },
    { name: "quiet", short: "q", type: "boolean", description: "Only print container ids" },
    { name: "last", short: "n", type: "string", valueName: "N", description: "Show the N last created containers (all states)" },
    { name: "latest", short: "l", type: "boolean", description: "Show the last created container (all states)" },
    { name: "no-trunc", type: "boolean", description: "Do not truncate ids and commands" },
    filterOption(CONTAINER_FILTER_KEYS),
    { name: "format", type: "string", valueName: "FORMAT", description: 'A Go template ("{{.ID}}"), "table TEMPLATE", "table" or "json"' },
    ROOT_OPTION,
  ],
  positionals: { min: 0, max: 0 },
  async run(context) {
    const { options } = context;
    const filters = parseFilters(options.filter, "ps", CONTAINER_FILTER_KEYS);
    checkContainerFilters(filters);
    const last = options.latest === true ? 1 : options.last === undefined ? undefined : Number(options.last);
    if (last !== undefined && !(Number.isInteger(last) && last >= 0)) throw new TsbuildError("USAGE", `Cannot use --last "${String(options.last)}": not a count`);
    const worker = await openCommandWorker(context);
    // A status filter, -n and -l look at stopped containers too, as docker's do.
    const all = options.all === true || filters.has("status") || filters.has("exited") || last !== undefined;
    const listed = await listContainers(worker, { all });
    const images = await imageFacts(worker, listed);
    const ancestors = await Promise.all((filters.get("ancestor") ?? []).map((text) => resolveAncestor(worker, text)));
    let entries = filterContainers(listed, filters, { image: (entry) => images.get(entry.record.imageId), ancestors });
    if (last !== undefined) entries = entries.slice(0, last);
    const full = options["no-trunc"] === true;
    const now = Date.now();
    context.stdout.write(
      formatRows(
        entries.map((entry) => containerRow(entry, { full, now, imageLabels: images.get(entry.record.imageId)?.labels ?? {} })),
        { format: options.format as string | undefined, table: TABLE, headers: HEADERS, quiet: options.quiet === true },
      ),
    );
    return 0;
  },
};

/** A container row as docker's formatter shows it to a template. */
function containerRow({ record, state, health }: ContainerListEntry, options: { full: boolean; now: number; imageLabels: Record<string, string> }): Record<string, unknown> {
  const command = record.args.join(" ");
  // A container's labels are its image's, as docker copies them into the container's config.
  const labels = options.imageLabels;
  return {
    Command: goQuote(options.full ? command : ellipsis(command, 20)),
    CreatedAt: goTimeString(record.created),
    ID: options.full ? record.id : record.id.slice(0, 12),
    Image: record.image,
    Labels: Object.entries(labels)
      .map(([key, value]) => `${key}=${value}`)
      .sort()
      .join(","),
    LocalVolumes: String(record.mounts.filter((mount) => mount.type === "volume").length),
    Mounts: record.mounts.map((mount) => (options.full ? mount.source : ellipsis(mount.source, 15))).join(","),
    Names: record.name,
    Networks: record.network,
    Ports: formatPortBindings(state.ports),
    RunningFor: humanAgo(record.created, options.now),
    Size: "N/A",
    State: state.status,
    Status: describeState(state, options.now, health),
    Label: (name: unknown) => labels[String(name)] ?? "",
  };
}

/** Labels and layers of each image the containers use, read once per image. */
async function imageFacts(worker: Worker, entries: readonly ContainerListEntry[]): Promise<Map<string, ContainerImageFacts>> {
  const facts = new Map<string, ContainerImageFacts>();
  for (const { record } of entries) {
    if (facts.has(record.imageId)) continue;
    try {
      const image = await resolveImage(worker.store, record.manifestDigest);
      facts.set(record.imageId, { labels: image.config.config?.Labels ?? {}, diffIds: image.config.rootfs.diff_ids });
    } catch {
      // The image was removed (rmi -f): its labels and layers are not known any more.
      facts.set(record.imageId, { labels: {}, diffIds: [] });
    }
  }
  return facts;
}

async function resolveAncestor(worker: Worker, text: string): Promise<AncestorImage> {
  try {
    const image = await resolveImage(worker.store, text);
    return { text, id: image.configDigest, diffIds: image.config.rootfs.diff_ids };
  } catch {
    // Not in the store: match containers by the name they were run with only.
    return { text };
  }
}
