/* SVG line plots: axes with rounded ticks, one polyline per series, a legend. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "dimix/plot.h"

#define PANEL_W 520
#define PANEL_H 360
#define MARGIN_L 64
#define MARGIN_R 16
#define MARGIN_T 56
#define MARGIN_B 48

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                     "#8c564b"};

typedef struct range {
    double lo, hi;
} range;

static void data_range(const dmx_plot_panel *p, bool use_x, range *r)
{
    r->lo = INFINITY, r->hi = -INFINITY;
    for (int s = 0; s < p->n_series; s++)
        for (int i = 0; i < p->series[s].n; i++) {
            double v = use_x ? p->series[s].x[i] : p->series[s].y[i];
            double other = use_x ? p->series[s].y[i] : p->series[s].x[i];
            if (!isfinite(v) || !isfinite(other))
                continue;
            r->lo = v < r->lo ? v : r->lo;
            r->hi = v > r->hi ? v : r->hi;
        }
    if (!(r->lo <= r->hi))
        r->lo = 0, r->hi = 1;
    if (r->hi - r->lo < 1e-12) {
        double pad = fabs(r->lo) > 0 ? fabs(r->lo) * 0.05 : 0.5;
        r->lo -= pad, r->hi += pad;
    }
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about 5 ticks. */
static double tick_step(const range *r)
{
    double raw = (r->hi - r->lo) / 5.0, mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    return mag * (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10);
}

static void write_panel(FILE *f, const dmx_plot_panel *p, int ox)
{
    range rx, ry;
    data_range(p, true, &rx);
    data_range(p, false, &ry);
    const double w = PANEL_W - MARGIN_L - MARGIN_R, h = PANEL_H - MARGIN_T - MARGIN_B;
    const double x0 = ox + MARGIN_L, y0 = MARGIN_T + h;
#define PX(v) (x0 + ((v) - rx.lo) / (rx.hi - rx.lo) * w)
#define PY(v) (y0 - ((v) - ry.lo) / (ry.hi - ry.lo) * h)
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"15\" text-anchor=\"middle\">%s</text>\n",
            ox + PANEL_W / 2, MARGIN_T - 28, p->title ? p->title : "");
    fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#444\"/>\n", x0, MARGIN_T, w, h);
    for (int axis = 0; axis < 2; axis++) {
        const range *r = axis ? &ry : &rx;
        double step = tick_step(r);
        for (double v = ceil(r->lo / step) * step; v <= r->hi + step * 1e-9; v += step) {
            double t = fabs(v) < step * 1e-9 ? 0.0 : v;
            if (axis)
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%g</text>\n",
                        x0, PY(t), x0 + w, PY(t), x0 - 6, PY(t) + 4, t);
            else
                fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%g</text>\n",
                        PX(t), MARGIN_T, PX(t), y0, PX(t), y0 + 16, t);
        }
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">%s</text>\n",
            x0 + w / 2, y0 + 36, p->xlabel ? p->xlabel : "");
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 %d %.1f)\">%s</text>\n", ox + 16, MARGIN_T + h / 2, ox + 16,
            MARGIN_T + h / 2, p->ylabel ? p->ylabel : "");
    for (int s = 0; s < p->n_series; s++) {
        const dmx_plot_series *se = &p->series[s];
        const char *color = colors[s % (sizeof colors / sizeof colors[0])];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" points=\"", color);
        int drawn = 0;
        for (int i = 0; i < se->n; i++)
            if (isfinite(se->x[i]) && isfinite(se->y[i]))
                fprintf(f, "%s%.1f,%.1f", drawn++ ? " " : "", PX(se->x[i]), PY(se->y[i]));
        fprintf(f, "\"/>\n");
        if (drawn == 1) /* a single point: show it */
            for (int i = 0; i < se->n; i++)
                if (isfinite(se->x[i]) && isfinite(se->y[i]))
                    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                            PX(se->x[i]), PY(se->y[i]), color);
        fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"12\" height=\"3\" fill=\"%s\"/>"
                "<text x=\"%.1f\" y=\"%d\" font-size=\"11\">%s</text>\n", x0 + 8 + 130.0 * s,
                MARGIN_T - 12, color, x0 + 24 + 130.0 * s, MARGIN_T - 8, se->name ? se->name : "");
    }
#undef PX
#undef PY
}

dmx_status dmx_plot_svg(const char *path, const char *title, const dmx_plot_panel *panels,
                        int n_panels)
{
    if (!path || (n_panels > 0 && !panels) || n_panels < 0)
        return dmx_fail(DMX_ERR_INVALID_ARG, "dmx_plot_svg: NULL path or panels");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return dmx_fail(DMX_ERR_IO, "plot: cannot write %s", tmp);
    int width = PANEL_W * (n_panels ? n_panels : 1);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<title>%s</title>\n", width, PANEL_H, title ? title : "dimix");
    for (int i = 0; i < n_panels; i++)
        write_panel(f, &panels[i], PANEL_W * i);
    fprintf(f, "</svg>\n");
    bool ok = !ferror(f);
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return dmx_fail(DMX_ERR_IO, "plot: writing %s failed", path);
    }
    return DMX_OK;
}
