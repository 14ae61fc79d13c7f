// ScanJpegHeader reads a JPEG's size and colour bands from its markers, without TurboJPEG: the
// header check of every tile an import copies (codec::PeekInfo) costs a marker walk instead
// of a decompressor's header read. Internal to //codec.
//
// The scan accepts a strict subset of what TurboJPEG's header read (tjDecompressHeader3)
// accepts: SOI, then only APPn, COM, DQT, DHT, DRI and one SOF0/SOF1/SOF2 (8-bit Huffman:
// baseline, extended, progressive) up to the first SOS, every segment's length and tables
// consistent, 1 component (gray) or 3 (YCbCr or RGB) in a chroma subsampling TurboJPEG names
// (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1), and no JFIF or Adobe segment that libjpeg warns
// about (TurboJPEG fails on warnings). Anything else (CMYK, arithmetic coding, 12-bit,
// unusual sampling, garbage between markers, a truncated header) returns nullopt: the caller
// then asks TurboJPEG, whose answer (and error message) is final. So a header the scan
// accepts is one TurboJPEG accepts with the same size and bands (jpeg_markers_test checks it
// on every mutation of real headers); the entropy-coded data is not read by either.
#ifndef FLATPYRAMID_CODEC_INTERNAL_JPEG_MARKERS_H_
#define FLATPYRAMID_CODEC_INTERNAL_JPEG_MARKERS_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "codec/options.h"

namespace flatpyramid {
namespace codec {
namespace internal {

// ScanJpegHeader returns the image's width, height and bands (1 or 3, uint8, kJpeg) when
// `bytes` starts with a header of the subset above; nullopt otherwise. Reads only `bytes`.
std::optional<ImageInfo> ScanJpegHeader(absl::string_view bytes);

}  // namespace internal
}  // namespace codec
}  // namespace flatpyramid

#endif  // FLATPYRAMID_CODEC_INTERNAL_JPEG_MARKERS_H_
