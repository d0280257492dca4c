/* Line plots as standalone SVG files (training curves a browser opens). */
#ifndef DIMIX_PLOT_H
#define DIMIX_PLOT_H

#include "dimix/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dmx_plot_series {
    const char *name;
    const double *x, *y;
    int n;
} dmx_plot_series;

typedef struct dmx_plot_panel {
    const char *title, *xlabel, *ylabel;
    const dmx_plot_series *series;
    int n_series;
} dmx_plot_panel;

/* Writes the panels side by side into `path` (atomically: a temporary file, then rename).
 * Non-finite points are skipped; empty series are allowed. */
DMX_API dmx_status dmx_plot_svg(const char *path, const char *title, const dmx_plot_panel *panels,
                                int n_panels);

#ifdef __cplusplus
}
#endif
#endif
