#include "pyramid/internal/read/request_srs.h"

#include <utility>

#include "absl/status/statusor.h"
#include "cpl_conv.h"
#include "geo/crs.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

std::string ToWkt(const OGRSpatialReference& srs) {
  char* wkt = nullptr;
  const char* options[] = {"FORMAT=WKT2_2018", nullptr};
  srs.exportToWkt(&wkt, options);
  std::string result = wkt != nullptr ? wkt : "";
  CPLFree(wkt);
  return result;
}

absl::Status RequestSrsCache::Resolve(const std::string& srs, const std::string& tms_srs_wkt,
                                      ResolvedSrs* out) {
  {
    absl::MutexLock lock(&mutex_);
    auto it = entries_.find(srs);
    if (it != entries_.end()) out->srs = it->second;
  }
  // Requests in the set's CRS (known from the cache) need no OGR objects at all.
  if (out->srs != nullptr && out->srs->same_as_tile_matrix_set) return absl::OkStatus();
  absl::StatusOr<OGRSpatialReference> parsed = geo::ParseSrs(srs);
  if (!parsed.ok()) return parsed.status();
  out->request_srs = *std::move(parsed);
  out->tms_srs.emplace();
  out->tms_srs->importFromWkt(tms_srs_wkt.c_str());
  out->tms_srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  if (out->srs != nullptr) return absl::OkStatus();
  auto entry = std::make_shared<RequestSrs>();
  entry->wkt = ToWkt(*out->request_srs);
  entry->same_as_tile_matrix_set = out->request_srs->IsSame(&*out->tms_srs);
  entry->geographic = out->request_srs->IsGeographic();
  out->srs = entry;
  absl::MutexLock lock(&mutex_);
  if (entries_.size() >= kMaxEntries) entries_.clear();
  entries_.emplace(srs, std::move(entry));
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
