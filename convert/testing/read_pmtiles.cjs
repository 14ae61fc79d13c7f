// read_pmtiles.cjs ARCHIVE TILE_LIST OUT: reads a PMTiles archive with the official `pmtiles`
// JavaScript library (NODE_PATH must hold it) from a local file, and writes to OUT one JSON
// line with its header and metadata, then "z/x/y sha256" (or "z/x/y missing") for every
// "z x y" line of TILE_LIST, as getZxy returns them.
"use strict";
const fs = require("fs");
const crypto = require("crypto");
const { PMTiles } = require("pmtiles");

class LocalFileSource {
  constructor(path) {
    this.path = path;
    this.fd = fs.openSync(path, "r");
  }
  getKey() {
    return this.path;
  }
  async getBytes(offset, length) {
    const buffer = Buffer.alloc(length);
    const read = fs.readSync(this.fd, buffer, 0, length, offset);
    return { data: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + read) };
  }
}

async function main() {
  const [archivePath, listPath, outPath] = process.argv.slice(2);
  const archive = new PMTiles(new LocalFileSource(archivePath));
  const header = await archive.getHeader();
  const metadata = await archive.getMetadata();
  const lines = [JSON.stringify({ header, metadata })];
  for (const line of fs.readFileSync(listPath, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    const [z, x, y] = line.trim().split(/\s+/).map(Number);
    const tile = await archive.getZxy(z, x, y);
    const digest =
      tile === undefined
        ? "missing"
        : crypto.createHash("sha256").update(Buffer.from(tile.data)).digest("hex");
    lines.push(`${z}/${x}/${y} ${digest}`);
  }
  fs.writeFileSync(outPath, lines.join("\n") + "\n");
}

main().catch((error) => {
  console.error(`read_pmtiles.cjs: ${error.stack || error}`);
  process.exit(1);
});
