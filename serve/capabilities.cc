#include "serve/capabilities.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pyramid/format.h"
#include "serve/escape.h"

namespace flatpyramid {
namespace serve {
namespace {

bool IsCrs84(const pyramid::Reader& reader) { return reader.tile_matrix_set().is_geographic(); }

// CenterZoom is a zoom that shows the whole data extent in about one 1024-pixel view.
int CenterZoom(const pyramid::Reader& reader) {
  const pyramid::Bounds& b = reader.metadata().bounds();
  const double span = std::max(b.max_x() - b.min_x(), b.max_y() - b.min_y());
  const geo::TileMatrixSet& tms = reader.tile_matrix_set();
  int zoom = reader.min_zoom();
  while (zoom < reader.max_zoom() && tms.Resolution(zoom + 1) * 1024 >= span) ++zoom;
  return zoom;
}

std::string MimeType(const std::string& format) {
  if (format == "jpg") return "image/jpeg";
  if (format == "png") return "image/png";
  if (format == "webp") return "image/webp";
  return "application/octet-stream";
}

}  // namespace

bool IsElevation(const pyramid::Reader& reader) {
  return reader.band_count() == 1 && reader.pixel_type() != codec::PixelType::kUint8;
}

std::string TileFormat(const pyramid::Reader& reader) {
  absl::StatusOr<pyramid::TileCodec> codec = pyramid::ParseTileCodec(reader.metadata().codec());
  if (!codec.ok()) return "png";  // Reader::Open checked the metadata; not reached.
  switch (*codec) {
    case pyramid::TileCodec::kJpeg:
      return "jpg";
    case pyramid::TileCodec::kPng:
      return "png";
    case pyramid::TileCodec::kWebp:
    case pyramid::TileCodec::kWebpLossless:
      return "webp";
    case pyramid::TileCodec::kElevation:
      return "elevation";
  }
  return "png";
}

std::string TileJson(const pyramid::Reader& reader, absl::string_view name,
                     absl::string_view base_url, absl::string_view terrain_encoding) {
  const pyramid::PyramidMetadata& m = reader.metadata();
  const pyramid::Bounds& ll = m.bounds_lonlat();
  const bool elevation = IsElevation(reader);
  const std::string format = elevation ? "png" : TileFormat(reader);
  std::string tiles = absl::StrCat(base_url, "/", name, "/{z}/{x}/{y}.", format);
  if (elevation) absl::StrAppend(&tiles, "?encoding=", terrain_encoding);
  std::string json = absl::StrCat("{\"tilejson\":\"3.0.0\",\"name\":", JsonString(name),
                                  ",\"description\":", JsonString(m.source_description()),
                                  ",\"tiles\":[", JsonString(tiles), "],\"scheme\":\"xyz\"");
  absl::StrAppendFormat(&json, ",\"minzoom\":%d,\"maxzoom\":%d", reader.min_zoom(),
                        reader.max_zoom());
  absl::StrAppendFormat(&json, ",\"bounds\":[%.9g,%.9g,%.9g,%.9g]", ll.min_x(), ll.min_y(),
                        ll.max_x(), ll.max_y());
  absl::StrAppendFormat(&json, ",\"center\":[%.9g,%.9g,%d]", (ll.min_x() + ll.max_x()) / 2,
                        (ll.min_y() + ll.max_y()) / 2, CenterZoom(reader));
  absl::StrAppend(&json, ",\"format\":", JsonString(format), ",\"tileSize\":", reader.tile_size(),
                  ",\"tile_matrix_set\":", JsonString(m.tile_matrix_set()),
                  ",\"crs\":", JsonString(IsCrs84(reader) ? "EPSG:4326" : "EPSG:3857"));
  if (elevation) {
    absl::StrAppend(&json, ",\"encoding\":", JsonString(terrain_encoding));
  }
  absl::StrAppend(&json, ",\"pixel_type\":", JsonString(codec::PixelTypeName(reader.pixel_type())),
                  ",\"band_count\":", reader.band_count());
  if (m.has_nodata()) {
    // JSON has no NaN: a NaN nodata (float rasters) is the string "NaN".
    if (std::isnan(m.nodata())) {
      absl::StrAppend(&json, ",\"nodata\":\"NaN\"");
    } else {
      absl::StrAppendFormat(&json, ",\"nodata\":%.17g", m.nodata());
    }
  }
  return json + "}\n";
}

std::string WmtsCapabilities(const pyramid::Reader& reader, absl::string_view name,
                             absl::string_view base_url) {
  const geo::TileMatrixSet& tms = reader.tile_matrix_set();
  const pyramid::PyramidMetadata& m = reader.metadata();
  const pyramid::Bounds& ll = m.bounds_lonlat();
  const std::string format = TileFormat(reader);
  const std::string mime = MimeType(format);
  const std::string set_id(tms.id());
  const std::string title = XmlText(name);
  std::string xml = absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Capabilities xmlns=\"http://www.opengis.net/wmts/1.0\" "
      "xmlns:ows=\"http://www.opengis.net/ows/1.1\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
      "version=\"1.0.0\">\n"
      "<ows:ServiceIdentification><ows:Title>flatpyramid serve_pyramid</ows:Title>"
      "<ows:ServiceType>OGC WMTS</ows:ServiceType><ows:ServiceTypeVersion>1.0.0"
      "</ows:ServiceTypeVersion></ows:ServiceIdentification>\n<Contents>\n<Layer>\n<ows:Title>",
      title, "</ows:Title><ows:Identifier>", title, "</ows:Identifier>\n");
  absl::StrAppendFormat(&xml,
                        "<ows:WGS84BoundingBox><ows:LowerCorner>%.12g %.12g</ows:LowerCorner>"
                        "<ows:UpperCorner>%.12g %.12g</ows:UpperCorner></ows:WGS84BoundingBox>\n",
                        ll.min_x(), ll.min_y(), ll.max_x(), ll.max_y());
  absl::StrAppend(&xml,
                  "<Style isDefault=\"true\"><ows:Identifier>default</ows:Identifier></Style>\n",
                  "<Format>", mime, "</Format>\n<TileMatrixSetLink><TileMatrixSet>", set_id,
                  "</TileMatrixSet></TileMatrixSetLink>\n", "<ResourceURL format=\"", mime,
                  "\" resourceType=\"tile\" template=\"", XmlText(base_url), "/", XmlText(name),
                  "/{TileMatrix}/{TileCol}/{TileRow}.", format == "elevation" ? "bin" : format,
                  "\"/>\n</Layer>\n<TileMatrixSet><ows:Identifier>", set_id, "</ows:Identifier>");
  const geo::Bounds extent = tms.extent();
  if (IsCrs84(reader)) {
    absl::StrAppend(&xml, "<ows:SupportedCRS>urn:ogc:def:crs:OGC:1.3:CRS84</ows:SupportedCRS>\n");
  } else {
    absl::StrAppend(&xml,
                    "<ows:SupportedCRS>urn:ogc:def:crs:EPSG::3857</ows:SupportedCRS>"
                    "<WellKnownScaleSet>urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible"
                    "</WellKnownScaleSet>\n");
  }
  for (int z = 0; z <= reader.max_zoom(); ++z) {
    absl::StrAppendFormat(
        &xml,
        "<TileMatrix><ows:Identifier>%d</ows:Identifier><ScaleDenominator>%.17g"
        "</ScaleDenominator><TopLeftCorner>%.17g %.17g</TopLeftCorner><TileWidth>%d"
        "</TileWidth><TileHeight>%d</TileHeight><MatrixWidth>%u</MatrixWidth><MatrixHeight>%u"
        "</MatrixHeight></TileMatrix>\n",
        z, tms.ScaleDenominator(z), extent.min_x, extent.max_y, tms.tile_size(), tms.tile_size(),
        tms.MatrixWidth(z), tms.MatrixHeight(z));
  }
  return xml + "</TileMatrixSet>\n</Contents>\n</Capabilities>\n";
}

}  // namespace serve
}  // namespace flatpyramid
