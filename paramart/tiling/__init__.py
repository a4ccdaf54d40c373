"""Exact tiled evaluation for print-size canvases: see :mod:`paramart.tiling.evaluate`."""
