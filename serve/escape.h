// Quoting text for the JSON and XML documents the project writes by hand (TileJSON, WMTS
// capabilities, the viewer page, pyramid_info --json): the one place both escapes live.
//
// Both take bytes and escape only what the syntax needs; they do not check or repair UTF-8
// (a name with invalid UTF-8 stays invalid in the document).
//
// Example:
//   JsonString("a \"b\"\n")  // "\"a \\\"b\\\"\\n\""
//   XmlText("a < b & c")     // "a &lt; b &amp; c"
#ifndef FLATPYRAMID_SERVE_ESCAPE_H_
#define FLATPYRAMID_SERVE_ESCAPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace flatpyramid {
namespace serve {

// JsonString is `text` as a quoted JSON string: `"` and `\` backslash-escaped, a newline as
// \n, every other control character below 0x20 as \u00XX.
std::string JsonString(absl::string_view text);

// XmlText is `text` escaped for XML text and attribute values (& < > " ').
std::string XmlText(absl::string_view text);

}  // namespace serve
}  // namespace flatpyramid

#endif  // FLATPYRAMID_SERVE_ESCAPE_H_
