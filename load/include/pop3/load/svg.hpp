// A small SVG chart writer for reports that must stand alone (no scripts, no external assets):
// a plot area with two axes (linear or logarithmic, ticks chosen for round numbers), bars,
// step or straight polylines, marker lines and a legend; every text escaped. pop3-load's --html
// report draws its charts with it; it knows nothing of POP3 and holds no state beyond a chart.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pop3::load::svg {

// Text for XML/HTML content or a quoted attribute: & < > " ' escaped; control characters other
// than tab and newline, and bytes that are not UTF-8, become U+FFFD.
std::string escape(std::string_view text);

// "1", "2.5", "1.5k", "12M": a compact label for a tick or a count.
std::string short_number(double v);

struct axis {
    double lo = 0, hi = 1; // the range shown; a logarithmic axis needs lo > 0
    bool log = false;
    std::string label;
    std::function<std::string(double)> format; // tick labels; short_number when empty
};

struct point {
    double x = 0, y = 0;
};

class chart {
public:
    // The SVG is `width` x `height` user units; the plot area is inside the margins.
    chart(std::string title, double width = 640, double height = 220);

    void x_axis(axis a) { x_ = std::move(a); }
    void y_axis(axis a) { y_ = std::move(a); }
    const axis& x() const noexcept { return x_; }
    const axis& y() const noexcept { return y_; }

    // A bar from x0 to x1, from the bottom of the plot up to y; `tip` is its hover text.
    void bar(double x0, double x1, double y, std::string_view tip, std::string_view colour);
    // Points joined in order; with `steps`, each point's y holds until the next point's x.
    void line(const std::vector<point>& points, std::string_view name, std::string_view colour,
              bool steps = false);
    // A dashed vertical line at x, labelled near its top (label_row 1, 2, ...: further down, so
    // that the labels of close lines do not overlap).
    void x_marker(double x, std::string_view label, std::string_view colour, int label_row = 0);
    // A text note in the middle of the plot area (e.g. "no data").
    void note(std::string_view text);

    // The finished <svg> element (with xmlns, so that it also stands alone as a file).
    // `css_class` names it for the page and its tests.
    std::string render(std::string_view css_class = "chart") const;

private:
    double px(double x) const; // data to user units, clamped to the plot area
    double py(double y) const;

    std::string title_;
    double width_, height_;
    axis x_, y_;
    std::string body_;                                        // bars, lines, markers, notes
    std::vector<std::pair<std::string, std::string>> legend_; // name, colour
};

// Round tick positions covering [lo, hi]: multiples of 1, 2 or 5 times a power of ten (at most
// about `target` of them) for a linear axis, powers of ten (and 2 and 5 times them when few)
// for a logarithmic one.
std::vector<double> ticks(const axis& a, int target = 6);

} // namespace pop3::load::svg
