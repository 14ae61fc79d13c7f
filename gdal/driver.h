// The FlatPyramid GDAL raster driver: every GDAL program, QGIS and rasterio read .fpyr
// pyramids, and gdal_translate -of FlatPyramid builds them.
//
// Built as the plugin //gdal:gdal_FlatPyramid.so (GDAL finds it in GDAL_DRIVER_PATH or in its
// plugin directory, where //gdal:install puts it) and the driver itself,
// //gdal:libflatpyramid_gdal_impl.so, which the plugin loads from its own directory when a
// pyramid is first opened or created (see plugin.cc for why). Both link Debian's libgdal
// dynamically and export only their entry points.
//
// Reading:
//   - Identify: the storage magic "FPYRSTOR" at offset 0 and a pyramid metadata type name in
//     a header slot. A file with the magic but no type name (truncated, corrupt, another
//     storage file) is "maybe": Open then names the fault.
//   - The dataset is the finest zoom level over the tile-aligned extent of the pyramid's
//     bounds: blocks are tiles (block (i, j) is one tile), the coarser levels are its
//     overviews with the same extent (exact pixel grids for the first log2(tile size)
//     levels), as GDAL's COG driver lays out a GoogleMapsCompatible COG. So -ovr,
//     -outsize and gdalwarp pick levels as they do for a COG.
//   - Bands: the pyramid's bands, pixel type, colour interpretation and nodata; an alpha band
//     stays a band (GCI_AlphaBand), which QGIS uses as the transparency band of an RGBA layer
//     and from which GDAL derives the per-dataset mask (GMF_ALPHA | GMF_PER_DATASET) that
//     rasterio's dataset_mask() and gdalwarp read.
//   - Missing tiles read as nodata (pyramids with a nodata value), transparent (alpha 0) or 0.
//   - CRS and geotransform of the tile matrix set; metadata: CODEC, QUALITY,
//     TILE_MATRIX_SET, MIN_ZOOM, MAX_ZOOM, RESAMPLING, SOURCE, CREATED, ... in the default
//     domain, COMPRESSION and INTERLEAVE in IMAGE_STRUCTURE, the build's options in
//     CREATION_OPTIONS.
//   - Errors (corrupt, truncated, unfinished builds) are CPLErrors naming the file and the
//     fault, from pyramid::Reader::Open.
//
// Writing: CreateCopy (gdal_translate -of FlatPyramid) builds through pyramid::BuildPyramid;
// see GDAL_DMD_CREATIONOPTIONLIST (gdalinfo --format FlatPyramid) for the options.
//
// Thread safety: GDAL's: a dataset is used by one thread at a time; any number of datasets,
// also of one file, are used concurrently. Datasets of one file share one pyramid::Reader and
// all share one decoded-tile cache of FLATPYRAMID_CACHE_MB MiB (default 128).
//
// Caveats:
//   - Local files only: pyramids are memory-mapped, so /vsicurl/, /vsizip/ and /vsimem/
//     paths are refused (no GDAL_DCAP_VIRTUALIO).
//   - Read-only: GA_Update is refused; build a new pyramid instead.
//   - gdal_translate's progress bar follows the build, but cancelling it does not stop the
//     build (pyramid::BuildPyramid has no cancellation).
//   - One process holds one copy of flatpyramid's pyramid library: in a process that links
//     it already (flatpyramid's tools, a flatpyramid Python module) the plugin refuses to
//     open pyramids with a CPLError saying so (protobuf would abort on a second copy of the
//     format's descriptors). Such programs call RegisterFlatPyramidDriver() instead.
#ifndef FLATPYRAMID_GDAL_DRIVER_H_
#define FLATPYRAMID_GDAL_DRIVER_H_

#include "cpl_port.h"
#include "gdal_priv.h"

// GDALRegister_FlatPyramid registers the driver with GDAL's driver manager (once; later calls
// do nothing). GDAL calls it when it loads the plugin (plugin.cc).
extern "C" void CPL_DLL GDALRegister_FlatPyramid();

// The implementation library's entry points, which the plugin looks up with dlsym.
extern "C" GDALDataset CPL_DLL* FlatPyramidImplOpen(GDALOpenInfo* info);
extern "C" GDALDataset CPL_DLL* FlatPyramidImplCreateCopy(const char* path, GDALDataset* source,
                                                          int strict, char** options,
                                                          GDALProgressFunc progress,
                                                          void* progress_data);

namespace flatpyramid {
namespace gdal_driver {

// RegisterFlatPyramidDriver registers the driver linked into this program (//gdal:driver)
// with GDAL, for programs that link the pyramid library themselves: call it before
// GDALAllRegister(), and the plugin then leaves the registered driver alone.
void RegisterFlatPyramidDriver();

// OpenPyramid is the driver's GDALDriver::pfnOpen.
GDALDataset* OpenPyramid(GDALOpenInfo* info);

}  // namespace gdal_driver
}  // namespace flatpyramid

#endif  // FLATPYRAMID_GDAL_DRIVER_H_
