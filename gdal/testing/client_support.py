"""The environment in which GDAL clients (GDAL's programs, osgeo.gdal, rasterio, QGIS) find the
FlatPyramid plugin built by this workspace, for the tests of //gdal."""

import os

PLUGIN_FILES = ("gdal_FlatPyramid.so", "libflatpyramid_gdal_impl.so")


def plugin_environment(runfiles, tmp):
    """os.environ with GDAL_DRIVER_PATH set to a directory holding only the plugin's files.

    `runfiles` is the workspace's runfiles directory, `tmp` a scratch directory. The plugin gets
    a directory of its own because GDAL also loads the *.py files it finds in GDAL_DRIVER_PATH
    as Python drivers, and the runfiles' gdal/ holds the tests. PAM is off so that reading a
    pyramid writes no .aux.xml next to it.
    """
    plugins = os.path.join(tmp, "gdal_plugins")
    os.makedirs(plugins, exist_ok=True)
    for name in PLUGIN_FILES:
        link = os.path.join(plugins, name)
        if not os.path.exists(link):
            os.symlink(os.path.join(runfiles, "gdal", name), link)
    return dict(os.environ, GDAL_DRIVER_PATH=plugins, GDAL_PAM_ENABLED="NO")
