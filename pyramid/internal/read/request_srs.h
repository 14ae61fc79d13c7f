// Internal to //pyramid: the CRS of a ReadRegion request, parsed once per distinct string
// (parsing one costs more than reading a small region) and compared with the tile matrix
// set's.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_READ_REQUEST_SRS_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_READ_REQUEST_SRS_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "ogr_spatialref.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

// ToWkt is `srs` as WKT2 (2018).
std::string ToWkt(const OGRSpatialReference& srs);

// RequestSrs is what a request CRS string is.
struct RequestSrs {
  std::string wkt;
  bool same_as_tile_matrix_set = false;
  bool geographic = false;  // Longitude/latitude: x wraps every 360 degrees.
};

// ResolvedSrs is a request's CRS, with the OGR objects a transform needs: both unset for a
// request in the set's own CRS (it needs none).
struct ResolvedSrs {
  std::shared_ptr<const RequestSrs> srs;
  std::optional<OGRSpatialReference> request_srs;
  std::optional<OGRSpatialReference> tms_srs;  // Traditional GIS axis order.
};

// RequestSrsCache maps request CRS strings to their RequestSrs. Bounded: emptied when full.
// Thread-safe.
class RequestSrsCache {
 public:
  // Resolve fills `*out` for `srs` (anything OGRSpatialReference::SetFromUserInput takes);
  // errors as geo::ParseSrs.
  absl::Status Resolve(const std::string& srs, const std::string& tms_srs_wkt, ResolvedSrs* out);

 private:
  static constexpr size_t kMaxEntries = 64;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::shared_ptr<const RequestSrs>> entries_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_READ_REQUEST_SRS_H_
