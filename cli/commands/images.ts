import { formatRows } from "../format/format-rows.js";
import { filterImages, IMAGE_FILTER_KEYS } from "../filters/image-filters.js";
import { filterOption, parseFilters } from "../filters/list-filters.js";
import { goTimeString, humanAgo, humanSize } from "../../worker/human-units.js";
import { listImages, type ImageListEntry } from "../../worker/list-images.js";
import { configPlatform } from "../../worker/image-platforms.js";
import { hostPlatform } from "../../worker/resolve-image.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

const TABLE = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\\t{{.Size}}";
const TABLE_WITH_DIGEST = "table {{.Repository}}\\t{{.Tag}}\\t{{.Digest}}\\t{{.ID}}\\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\\t{{.Size}}";

/** docker's column headers for the fields of an image row. */
const HEADERS = {
  ID: "IMAGE ID",
  Repository: "REPOSITORY",
  Tag: "TAG",
  Digest: "DIGEST",
  CreatedSince: "CREATED",
  CreatedAt: "CREATED AT",
  Size: "SIZE",
  Containers: "CONTAINERS",
  VirtualSize: "SIZE",
  SharedSize: "SHARED SIZE",
  UniqueSize: "UNIQUE SIZE",
  Platform: "PLATFORM",
};

export const imagesCommand: Command = {
  name: "images",
  summary: "List images",
  usage: "images [OPTIONS] [REPOSITORY[:TAG]]",
  description:
    'REPOSITORY[:TAG] (globs allowed) shows only those names, as --filter reference= does. --format takes a Go template as docker\'s does: "{{.ID}}", "table {{.Repository}}\\t{{.Size}}", "json". ' +
    "Fields: ID, Repository, Tag, Digest, CreatedSince, CreatedAt, Size, Containers, VirtualSize, SharedSize, UniqueSize, Platform. " +
    "A PLATFORM column is shown when some image is for another platform, or for several (a multi-platform image).",
  options: [
    { name: "quiet", short: "q", type: "boolean", description: "Only show image ids" },
    { name: "all", short: "a", type: "boolean", description: "Show all images (tsbuild keeps no intermediate ones)" },
    { name: "digests", type: "boolean", description: "Show digests" },
    { name: "no-trunc", type: "boolean", description: "Do not truncate image ids" },
    filterOption(IMAGE_FILTER_KEYS),
    { name: "format", type: "string", valueName: "FORMAT", description: 'A Go template ("{{.ID}}"), "table TEMPLATE", "table" or "json"' },
    ROOT_OPTION,
  ],
  positionals: { min: 0, max: 1 },
  async run(context) {
    const { options } = context;
    const filters = parseFilters(options.filter, "images", IMAGE_FILTER_KEYS);
    // docker reads `images NAME` as one more reference filter.
    if (context.positionals[0] !== undefined) filters.set("reference", [...(filters.get("reference") ?? []), context.positionals[0]]);
    const worker = await openCommandWorker(context);
    const rows = filterImages(await listImages(worker, { all: options.all === true }), filters);
    const full = options["no-trunc"] === true;
    const now = Date.now();
    // Platforms are shown once some image is not simply this host's: a multi-platform or foreign one.
    const host = configPlatform(hostPlatform());
    const showPlatforms = rows.some((row) => row.platforms.length > 1 || row.platforms.some((platform) => platform !== host));
    context.stdout.write(
      formatRows(
        rows.map((row) => imageRow(row, { full, now, platforms: showPlatforms })),
        {
          format: options.format as string | undefined,
          table: `${options.digests === true ? TABLE_WITH_DIGEST : TABLE}${showPlatforms ? "\\t{{.Platform}}" : ""}`,
          headers: HEADERS,
          quiet: options.quiet === true,
        },
      ),
    );
    return 0;
  },
};

/** An image row as docker's formatter shows it to a template, fields in its JSON order. */
function imageRow(row: ImageListEntry, options: { full: boolean; now: number; platforms: boolean }): Partial<Record<keyof typeof HEADERS, string>> {
  return {
    Containers: "N/A",
    CreatedAt: goTimeString(row.created),
    CreatedSince: row.created === undefined ? "" : humanAgo(row.created, options.now),
    Digest: row.manifestDigest,
    ID: options.full ? row.id : row.shortId,
    Repository: row.repository,
    SharedSize: "N/A",
    Size: humanSize(row.size, 3),
    Tag: row.tag,
    UniqueSize: "N/A",
    VirtualSize: humanSize(row.size),
    // Only when some image is foreign or multi-platform, so docker's fields stay docker's otherwise.
    ...(options.platforms ? { Platform: row.platforms.join(",") } : {}),
  };
}
