// serve::PyramidSet is the set of pyramids a server answers for, each named by its file's
// stem ("/data/landsat.fpyr" is "landsat"), and the one place that notices a pyramid file
// replaced on disk.
//
// Replacement: Get stats a pyramid's path at most once per `recheck_interval` (the caller
// that finds the interval elapsed does it; the others keep using the open Reader). When the
// file's device, inode, size or mtime changed, it opens the new file and, only if that Open
// succeeds, makes it the current Reader. A Reader is handed out as shared_ptr, so requests
// in flight keep the old file mapped until they finish, and a file that fails to open (a
// build still writing it) leaves the old Reader in place and is tried again next interval.
//
// Thread safety: every method may be called concurrently from any number of threads.
//
// Caveats:
//   - A new file is seen only if it replaces the old one by rename (what build_pyramid's
//     atomic output does) or is finished before the next check: a file rewritten in place
//     under an open Reader changes the bytes under its map (see pyramid/reader.h).
//
// Example:
//   absl::StatusOr<std::unique_ptr<PyramidSet>> set = PyramidSet::Open({"landsat.fpyr"}, {});
//   std::shared_ptr<const pyramid::Reader> reader = (*set)->Get("landsat");
#ifndef FLATPYRAMID_SERVE_PYRAMID_SET_H_
#define FLATPYRAMID_SERVE_PYRAMID_SET_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "pyramid/reader.h"
#include "pyramid/tile_cache.h"

namespace flatpyramid {
namespace serve {

struct PyramidSetOptions {
  // cache is shared by every pyramid's Reader (decoded tiles for regions, points and
  // elevation transcoding); nullptr makes one of `cache_bytes`.
  std::shared_ptr<pyramid::TileCache> cache;
  size_t cache_bytes = size_t{256} << 20;
  absl::Duration recheck_interval = absl::Seconds(1);
};

class PyramidSet {
 public:
  // Open opens every path. InvalidArgument when two paths share a stem or a stem is not a
  // valid name (empty, starting with '_' or '.', holding '/' or a control character);
  // otherwise the first Reader::Open error, naming the file.
  static absl::StatusOr<std::unique_ptr<PyramidSet>> Open(const std::vector<std::string>& paths,
                                                          const PyramidSetOptions& options);
  ~PyramidSet();

  // Get returns the current Reader of pyramid `name`, or nullptr for an unknown name. With
  // `version`, also a number that identifies this Reader among every Reader the set has
  // opened (never reused, unlike an address), for caches of what it returned.
  std::shared_ptr<const pyramid::Reader> Get(absl::string_view name,
                                             uint64_t* version = nullptr) const;

  // names lists the pyramids in the order given to Open.
  const std::vector<std::string>& names() const { return names_; }

  // NameForPath is the name a path would get: its file name without the last extension.
  static std::string NameForPath(absl::string_view path);

 private:
  struct Entry;
  PyramidSet() = default;

  PyramidSetOptions options_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<Entry>> entries_;  // Parallel to names_.
};

}  // namespace serve
}  // namespace flatpyramid

#endif  // FLATPYRAMID_SERVE_PYRAMID_SET_H_
