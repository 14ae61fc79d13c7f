// The separable resampling kernel of BlockWarper's fast path: GDAL's bilinear (and nearest)
// warp kernel applied as a horizontal then a vertical pass, for blocks whose source column
// depends only on the target column and source row only on the target row. The weights are
// GDAL's: the same coverage test, the triangle widened by 1/scale when downsampling, the
// 4-sample formula at scales >= 0.95, nodata renormalised over the valid taps, GDAL's rounding.
#ifndef FLATPYRAMID_PYRAMID_INTERNAL_SEPARABLE_KERNEL_H_
#define FLATPYRAMID_PYRAMID_INTERNAL_SEPARABLE_KERNEL_H_

#include <climits>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace flatpyramid {
namespace pyramid {
namespace internal {

// AxisTaps are the source samples (along one axis) that each target pixel of a block reads:
// count[i] taps from first[i], weights at i * stride (normalised to sum 1). count 0: the
// pixel's centre falls outside the source, so it stays uncovered (as GDAL leaves it).
struct AxisTaps {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<float> weights;
  int stride = 1;
  int lo = INT_MAX;  // Source range read by any pixel (inclusive), empty when lo > hi.
  int hi = INT_MIN;
};

// KernelScale is GDAL's downsampling scale for one axis of a warped block (as
// GDALWarpKernel::PerformWarp computes it): target pixels over the source window the
// block's edges map to, snapped to 1/N when within 0.05 of it. Unlike GDAL the window is not
// clipped to the raster: GDAL's scale then depends on how its chunking cuts a block at the
// source's edge; ours is the true scale, equal to GDAL's wherever the source covers the block.
double KernelScale(double edge0, double edge1, int target_size);

// BuildTaps fills `taps` for target pixels whose centres map to source coordinates
// `centres` (in source pixels, 0 = the first pixel's left/top edge). Nearest reads the pixel
// holding the centre; bilinear weighs the pixels whose centres lie within 1/scale with a
// triangle (GDAL's bilinear kernel, widened when the block downsamples).
void BuildTaps(const std::vector<double>& centres, int source_size, bool nearest, double scale,
               AxisTaps* taps);

// ResampleSeparable resamples the source `window` (interleaved `bands`, top-left source
// pixel (x0, y0), `window_width` wide) into xt.first.size() x yt.first.size() target pixels
// whose rows are `stride` pixels apart: a horizontal pass into `rows`, then a vertical pass.
// Without nodata the weights are separable; with nodata (one band) each pixel renormalises
// over its valid taps as GDAL does, and stays uncovered if none is valid. Integer data is
// accumulated in float, float data in double.
void ResampleSeparable(const uint8_t* window, int window_width, int x0, int y0, int bands,
                       const AxisTaps& xt, const AxisTaps& yt, std::optional<double> nodata,
                       size_t stride, std::vector<float>* rows, uint8_t* samples, uint8_t* alpha);
void ResampleSeparable(const uint16_t* window, int window_width, int x0, int y0, int bands,
                       const AxisTaps& xt, const AxisTaps& yt, std::optional<double> nodata,
                       size_t stride, std::vector<float>* rows, uint16_t* samples, uint8_t* alpha);
void ResampleSeparable(const int16_t* window, int window_width, int x0, int y0, int bands,
                       const AxisTaps& xt, const AxisTaps& yt, std::optional<double> nodata,
                       size_t stride, std::vector<float>* rows, int16_t* samples, uint8_t* alpha);
void ResampleSeparable(const float* window, int window_width, int x0, int y0, int bands,
                       const AxisTaps& xt, const AxisTaps& yt, std::optional<double> nodata,
                       size_t stride, std::vector<double>* rows, float* samples, uint8_t* alpha);

}  // namespace internal
}  // namespace pyramid
}  // namespace flatpyramid

#endif  // FLATPYRAMID_PYRAMID_INTERNAL_SEPARABLE_KERNEL_H_
