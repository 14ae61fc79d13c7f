// compare_pyramids A.fpyr B.fpyr: exit 0 and "same: N tiles" when both pyramids hold the same
// tiles with the same bytes; exit 1 naming the first differences otherwise. For shell tests
// that compare a merged sharded build with a single build.
#include <cstdio>
#include <map>
#include <string>

#include "pyramid/testing/pyramid_tiles.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: compare_pyramids A.fpyr B.fpyr\n");
    return 2;
  }
  using Tiles = std::map<flatpyramid::test::TileAddress, std::string>;
  absl::StatusOr<Tiles> a = flatpyramid::test::ReadPyramidTiles(argv[1]);
  absl::StatusOr<Tiles> b = flatpyramid::test::ReadPyramidTiles(argv[2]);
  if (!a.ok() || !b.ok()) {
    std::fprintf(stderr, "compare_pyramids: %s\n",
                 std::string((a.ok() ? b.status() : a.status()).message()).c_str());
    return 1;
  }
  int differences = 0;
  auto report = [&](const flatpyramid::test::TileAddress& t, const char* what) {
    if (++differences <= 10) {
      std::fprintf(stderr, "tile %d/%u/%u: %s\n", std::get<0>(t), std::get<1>(t), std::get<2>(t),
                   what);
    }
  };
  for (const auto& [tile, bytes] : *a) {
    auto it = b->find(tile);
    if (it == b->end()) {
      report(tile, "only in the first");
    } else if (it->second != bytes) {
      report(tile, "differs");
    }
  }
  for (const auto& entry : *b) {
    if (a->count(entry.first) == 0) report(entry.first, "only in the second");
  }
  if (differences > 0) {
    std::fprintf(stderr, "compare_pyramids: %d tiles differ\n", differences);
    return 1;
  }
  std::printf("same: %zu tiles\n", a->size());
  return 0;
}
