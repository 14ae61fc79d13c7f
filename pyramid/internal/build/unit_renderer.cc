#include "pyramid/internal/build/unit_renderer.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"
#include "geo/morton.h"

namespace flatpyramid {
namespace pyramid {
namespace internal {

UnitRenderer::UnitRenderer(const BuildPlan& plan, std::unique_ptr<BlockWarper> warper)
    : plan_(plan), warper_(std::move(warper)) {
  const int depth = plan.unit_depth;
  levels_.resize(depth + 1);
  present_.resize(depth + 1);
  for (int d = 0; d <= depth; ++d) {
    levels_[d].resize(size_t{1} << (2 * d));
    present_[d].assign(levels_[d].size(), false);
  }
}

void UnitRenderer::Render(uint64_t unit_key, UnitResult* result) {
  uint32_t ux, uy;
  geo::MortonDecode(unit_key, &ux, &uy);
  if (plan_.kernel_radius > 0) {
    result->status = RenderWithMargin(ux, uy);
  } else {
    result->status = RenderBase(ux, uy);
    if (result->status.ok()) FormOverviews();
  }
  if (!result->status.ok()) return;
  EncodeLevels(unit_key, result);
}

// RenderBase warps the unit's base tiles that the footprint covers as one block and cuts it
// into tiles (Morton-indexed within the unit).
absl::Status UnitRenderer::RenderBase(uint32_t ux, uint32_t uy) {
  const BuildPlan& plan = plan_;
  const int depth = plan.unit_depth;
  const int size = plan.tile_size();
  const codec::PixelType type = plan.pixel_type();
  const int bands = plan.bands();
  const uint32_t tx0 = std::max(ux << depth, plan.base_min_x);
  const uint32_t ty0 = std::max(uy << depth, plan.base_min_y);
  const uint32_t tx1 = std::min(((ux + 1) << depth) - 1, plan.base_max_x);
  const uint32_t ty1 = std::min(((uy + 1) << depth) - 1, plan.base_max_y);
  const int width = static_cast<int>(tx1 - tx0 + 1) * size;
  const int height = static_cast<int>(ty1 - ty0 + 1) * size;
  const size_t pixel_bytes = bands * codec::BytesPerSample(type);
  block_samples_.resize(static_cast<size_t>(width) * height * pixel_bytes);
  block_alpha_.resize(static_cast<size_t>(width) * height);
  const geo::Bounds corner = plan.tms->TileBounds({plan.max_zoom, tx0, ty0});
  absl::Status status =
      warper_->Warp(corner.min_x, corner.max_y, plan.tms->Resolution(plan.max_zoom), width, height,
                    block_samples_.data(), block_alpha_.data());
  if (!status.ok()) return status;

  std::fill(present_[depth].begin(), present_[depth].end(), false);
  for (uint32_t ty = ty0; ty <= ty1; ++ty) {
    for (uint32_t tx = tx0; tx <= tx1; ++tx) {
      const uint64_t local = geo::MortonEncode(tx - (ux << depth), ty - (uy << depth));
      TilePixels& tile = levels_[depth][local];
      tile.Reshape(type, size, bands);  // Every pixel is written below.
      const size_t bx = (tx - tx0) * size;
      const size_t by = (ty - ty0) * size;
      for (int row = 0; row < size; ++row) {
        const size_t block_pixel = (by + row) * width + bx;
        std::memcpy(tile.samples.data() + row * size * pixel_bytes,
                    block_samples_.data() + block_pixel * pixel_bytes, size * pixel_bytes);
        std::memcpy(tile.alpha.data() + row * size, block_alpha_.data() + block_pixel, size);
      }
      present_[depth][local] = !tile.Empty();
    }
  }
  return absl::OkStatus();
}

// FormOverviews forms the unit's levels above its base from each tile's raw children.
void UnitRenderer::FormOverviews() {
  for (int d = plan_.unit_depth - 1; d >= 0; --d) {
    for (size_t m = 0; m < levels_[d].size(); ++m) {
      const TilePixels* children[4];
      bool any = false;
      for (int c = 0; c < 4; ++c) {
        const size_t child = 4 * m + c;
        children[c] = present_[d + 1][child] ? &levels_[d + 1][child] : nullptr;
        any = any || children[c] != nullptr;
      }
      present_[d][m] = false;
      if (!any) continue;
      TilePixels& tile = levels_[d][m];
      tile.Reshape(plan_.pixel_type(), plan_.tile_size(), plan_.bands());  // All overwritten.
      Downsample2x(children, plan_.overview_resampling, plan_.binary_alpha, &tile);
      present_[d][m] = !tile.Empty();
    }
  }
}

// RenderWithMargin fills every level of the unit for a convolution kernel of radius r: the
// base block is warped with a margin of 2r (2^depth - 1) pixels, and each level's block is
// reduced with its margin (DownsampleKernel2x: a margin 2m + 2r becomes m), so every tile's
// kernel reads the neighbouring units' pixels too, down to the unit's root (margin 0).
absl::Status UnitRenderer::RenderWithMargin(uint32_t ux, uint32_t uy) {
  const BuildPlan& plan = plan_;
  const int depth = plan.unit_depth;
  const int size = plan.tile_size();
  const codec::PixelType type = plan.pixel_type();
  const int bands = plan.bands();
  const size_t pixel_bytes = bands * codec::BytesPerSample(type);
  const int r = plan.kernel_radius;
  // margin[d]: margin of the level d levels below the unit's root; side[d]: its block size.
  std::vector<int> margin(depth + 1), side(depth + 1);
  margin[0] = 0;
  for (int d = 1; d <= depth; ++d) margin[d] = 2 * margin[d - 1] + 2 * r;
  for (int d = 0; d <= depth; ++d) side[d] = (size << d) + 2 * margin[d];
  kernel_samples_.resize(depth + 1);
  kernel_alpha_.resize(depth + 1);
  for (int d = 0; d <= depth; ++d) {
    kernel_samples_[d].resize(static_cast<size_t>(side[d]) * side[d] * pixel_bytes);
    kernel_alpha_[d].resize(static_cast<size_t>(side[d]) * side[d]);
  }
  const double resolution = plan.tms->Resolution(plan.max_zoom);
  const geo::Bounds corner = plan.tms->TileBounds({plan.max_zoom, ux << depth, uy << depth});
  absl::Status status =
      warper_->Warp(corner.min_x - margin[depth] * resolution,
                    corner.max_y + margin[depth] * resolution, resolution, side[depth], side[depth],
                    kernel_samples_[depth].data(), kernel_alpha_[depth].data());
  if (!status.ok()) return status;
  for (int d = depth - 1; d >= 0; --d) {
    DownsampleKernel2x(type, bands, plan.overview_resampling, plan.binary_alpha, side[d],
                       kernel_samples_[d + 1].data(), kernel_alpha_[d + 1].data(),
                       kernel_samples_[d].data(), kernel_alpha_[d].data(), &kernel_scratch_);
  }
  // Cut each level's block (without its margin) into tiles.
  for (int d = 0; d <= depth; ++d) {
    const uint32_t n = 1u << d;
    for (uint32_t ty = 0; ty < n; ++ty) {
      for (uint32_t tx = 0; tx < n; ++tx) {
        const uint64_t local = geo::MortonEncode(tx, ty);
        TilePixels& tile = levels_[d][local];
        tile.Reshape(type, size, bands);
        for (int row = 0; row < size; ++row) {
          const size_t block_pixel =
              static_cast<size_t>(margin[d] + ty * size + row) * side[d] + margin[d] + tx * size;
          std::memcpy(tile.samples.data() + row * size * pixel_bytes,
                      kernel_samples_[d].data() + block_pixel * pixel_bytes, size * pixel_bytes);
          std::memcpy(tile.alpha.data() + row * size, kernel_alpha_[d].data() + block_pixel, size);
        }
        present_[d][local] = !tile.Empty();
      }
    }
  }
  return absl::OkStatus();
}

// EncodeLevels encodes every stored level, Morton order within each.
void UnitRenderer::EncodeLevels(uint64_t unit_key, UnitResult* result) {
  const BuildPlan& plan = plan_;
  const int depth = plan.unit_depth;
  result->arena.clear();
  result->tiles.clear();
  for (int d = depth; d >= 0; --d) {
    const int zoom = plan.unit_zoom + d;
    if (zoom < plan.min_zoom) break;
    const uint64_t first_key = unit_key << (2 * d);
    for (size_t m = 0; m < levels_[d].size(); ++m) {
      if (!present_[d][m]) continue;
      result->status = EncodeTile(levels_[d][m], plan.encoding, &scratch_, &encoded_);
      if (!result->status.ok()) {
        uint32_t x, y;
        geo::MortonDecode(first_key + m, &x, &y);
        result->status = absl::InternalError(absl::StrFormat("tile %d/%u/%u: encoding failed: %s",
                                                             zoom, x, y, result->status.message()));
        return;
      }
      result->tiles.push_back({zoom, first_key + m, result->arena.size(), encoded_.size()});
      result->arena.append(encoded_);
    }
  }
  if (plan.unit_zoom > plan.min_zoom && present_[0][0]) {
    result->root = std::make_unique<TilePixels>(std::move(levels_[0][0]));
  }
}

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid
