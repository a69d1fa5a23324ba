#include "pop3/load/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pop3::load::svg {
namespace {

constexpr double margin_left = 64, margin_right = 16, margin_top = 30, margin_bottom = 42;
constexpr std::string_view replacement = "\xEF\xBF\xBD"; // U+FFFD

// Coordinates with two decimals at most, no trailing zeros.
std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    std::string s = buf;
    while (s.back() == '0')
        s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s == "-0" ? "0" : s;
}

// The length of the UTF-8 sequence starting at s[i], or 0 when it is not well formed.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned min = 0;
    unsigned cp = 0;
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF)
        n = 2, min = 0x80, cp = b & 0x1F;
    else if (b >= 0xE0 && b <= 0xEF)
        n = 3, min = 0x800, cp = b & 0x0F;
    else if (b >= 0xF0 && b <= 0xF4)
        n = 4, min = 0x10000, cp = b & 0x07;
    else
        return 0;
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

double to_scale(const axis& a, double v) {
    return a.log ? std::log10(std::max(v, 1e-300)) : v;
}

} // namespace

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        const std::size_t n = utf8_length(text, i);
        if (n == 0) {
            out += replacement;
            ++i;
            continue;
        }
        if (n > 1) {
            out.append(text.substr(i, n));
            i += n;
            continue;
        }
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        case '\t':
        case '\n': out += static_cast<char>(c); break;
        default:
            if (c < 0x20 || c == 0x7F)
                out += replacement;
            else
                out += static_cast<char>(c);
        }
        ++i;
    }
    return out;
}

std::string short_number(double v) {
    v += 0.0; // -0 is 0
    const double a = std::fabs(v);
    char buf[32];
    auto trimmed = [&](double x, const char* suffix) {
        std::snprintf(buf, sizeof buf, "%.*f",
                      std::fabs(x) < 10    ? 2
                      : std::fabs(x) < 100 ? 1
                                           : 0,
                      x);
        std::string s = buf;
        if (s.find('.') != std::string::npos) {
            while (s.back() == '0')
                s.pop_back();
            if (s.back() == '.') s.pop_back();
        }
        return s + suffix;
    };
    if (a >= 1e9) return trimmed(v / 1e9, "G");
    if (a >= 1e6) return trimmed(v / 1e6, "M");
    if (a >= 1e4) return trimmed(v / 1e3, "k");
    if (a >= 1 || a == 0) return trimmed(v, "");
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

std::vector<double> ticks(const axis& a, int target) {
    std::vector<double> out;
    if (!(a.hi > a.lo)) return {a.lo};
    if (a.log) {
        if (a.lo <= 0) return out;
        const int first = static_cast<int>(std::floor(std::log10(a.lo)));
        const int last = static_cast<int>(std::ceil(std::log10(a.hi)));
        const bool fine = last - first <= 3;
        for (int e = first; e <= last; ++e)
            for (double m : {1.0, 2.0, 5.0}) {
                if (m != 1.0 && !fine) continue;
                const double v = m * std::pow(10.0, e);
                if (v >= a.lo * (1 - 1e-9) && v <= a.hi * (1 + 1e-9)) out.push_back(v);
            }
        return out;
    }
    const double raw = (a.hi - a.lo) / std::max(target, 1);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * mag >= raw) {
            step = m * mag;
            break;
        }
    const double first = std::ceil(a.lo / step - 1e-9);
    for (double i = first; i * step <= a.hi + step * 1e-9; ++i) {
        // Rounded to the step's decimals, so that 3 * 0.1 is 0.3.
        const double scale = std::pow(10.0, std::max(0.0, -std::floor(std::log10(step))));
        out.push_back(std::round(i * step * scale) / scale + 0.0); // + 0.0: no -0
    }
    return out;
}

chart::chart(std::string title, double width, double height)
    : title_(std::move(title)), width_(width), height_(height) {}

double chart::px(double x) const {
    const double lo = to_scale(x_, x_.lo), hi = to_scale(x_, x_.hi);
    const double f = hi > lo ? (to_scale(x_, x) - lo) / (hi - lo) : 0;
    return margin_left + std::clamp(f, 0.0, 1.0) * (width_ - margin_left - margin_right);
}

double chart::py(double y) const {
    const double lo = to_scale(y_, y_.lo), hi = to_scale(y_, y_.hi);
    const double f = hi > lo ? (to_scale(y_, y) - lo) / (hi - lo) : 0;
    return height_ - margin_bottom -
           std::clamp(f, 0.0, 1.0) * (height_ - margin_top - margin_bottom);
}

void chart::bar(double x0, double x1, double y, std::string_view tip, std::string_view colour) {
    const double left = px(x0), right = std::max(px(x1) - 1, left + 1), top = py(y);
    const double bottom = height_ - margin_bottom;
    body_ += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(right - left) +
             "\" height=\"" + num(std::max(bottom - top, 0.0)) + "\" fill=\"" + escape(colour) +
             "\"><title>" + escape(tip) + "</title></rect>\n";
}

void chart::line(const std::vector<point>& points, std::string_view name, std::string_view colour,
                 bool steps) {
    if (!name.empty()) legend_.emplace_back(std::string(name), std::string(colour));
    if (points.empty()) return;
    std::string pts;
    auto add = [&](double x, double y) {
        pts += (pts.empty() ? "" : " ") + num(px(x)) + "," + num(py(y));
    };
    for (std::size_t i = 0; i < points.size(); ++i) {
        add(points[i].x, points[i].y);
        if (steps && i + 1 < points.size()) add(points[i + 1].x, points[i].y);
    }
    body_ += "<polyline fill=\"none\" stroke=\"" + escape(colour) +
             "\" stroke-width=\"1.5\" points=\"" + pts + "\"><title>" + escape(name) +
             "</title></polyline>\n";
}

void chart::x_marker(double x, std::string_view label, std::string_view colour, int label_row) {
    const double at = px(x);
    body_ += "<line x1=\"" + num(at) + "\" x2=\"" + num(at) + "\" y1=\"" + num(margin_top) +
             "\" y2=\"" + num(height_ - margin_bottom) + "\" stroke=\"" + escape(colour) +
             "\" stroke-dasharray=\"4 3\"/>\n<text x=\"" + num(at + 2) + "\" y=\"" +
             num(margin_top + 10 + 11 * label_row) + "\" font-size=\"10\" fill=\"" +
             escape(colour) + "\">" + escape(label) + "</text>\n";
}

void chart::note(std::string_view text) {
    body_ += "<text x=\"" + num((margin_left + width_ - margin_right) / 2) + "\" y=\"" +
             num((margin_top + height_ - margin_bottom) / 2) +
             "\" text-anchor=\"middle\" font-size=\"12\" fill=\"#666\">" + escape(text) +
             "</text>\n";
}

std::string chart::render(std::string_view css_class) const {
    const double left = margin_left, right = width_ - margin_right;
    const double top = margin_top, bottom = height_ - margin_bottom;
    std::string o =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"" + escape(css_class) + "\" width=\"" +
        num(width_) + "\" height=\"" + num(height_) + "\" viewBox=\"0 0 " + num(width_) + " " +
        num(height_) + "\" font-family=\"sans-serif\" role=\"img\">\n<title>" + escape(title_) +
        "</title>\n<text x=\"" + num(left) + "\" y=\"18\" font-size=\"13\" font-weight=\"bold\">" +
        escape(title_) + "</text>\n";
    auto label = [](const axis& a, double v) {
        return escape(a.format ? a.format(v) : short_number(v));
    };
    // Grid and tick labels.
    for (double v : ticks(y_)) {
        const double y = py(v);
        o += "<line x1=\"" + num(left) + "\" x2=\"" + num(right) + "\" y1=\"" + num(y) +
             "\" y2=\"" + num(y) + "\" stroke=\"#ddd\"/>\n<text x=\"" + num(left - 4) + "\" y=\"" +
             num(y + 3.5) + "\" text-anchor=\"end\" font-size=\"10\">" + label(y_, v) + "</text>\n";
    }
    for (double v : ticks(x_)) {
        const double x = px(v);
        o += "<line x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" + num(bottom) + "\" y2=\"" +
             num(bottom + 4) + "\" stroke=\"#333\"/>\n<text x=\"" + num(x) + "\" y=\"" +
             num(bottom + 15) + "\" text-anchor=\"middle\" font-size=\"10\">" + label(x_, v) +
             "</text>\n";
    }
    o += body_;
    // The axes over the bars.
    o += "<polyline fill=\"none\" stroke=\"#333\" points=\"" + num(left) + "," + num(top) + " " +
         num(left) + "," + num(bottom) + " " + num(right) + "," + num(bottom) + "\"/>\n";
    if (!x_.label.empty())
        o += "<text x=\"" + num((left + right) / 2) + "\" y=\"" + num(height_ - 6) +
             "\" text-anchor=\"middle\" font-size=\"11\">" + escape(x_.label) + "</text>\n";
    if (!y_.label.empty())
        o += "<text transform=\"translate(12 " + num((top + bottom) / 2) +
             ") rotate(-90)\" text-anchor=\"middle\" font-size=\"11\">" + escape(y_.label) +
             "</text>\n";
    double lx = right;
    for (auto it = legend_.rbegin(); it != legend_.rend(); ++it) {
        lx -= 14 + 6.5 * static_cast<double>(it->first.size());
        o += "<rect x=\"" + num(lx) + "\" y=\"10\" width=\"10\" height=\"10\" fill=\"" +
             escape(it->second) + "\"/>\n<text x=\"" + num(lx + 13) +
             "\" y=\"19\" font-size=\"11\">" + escape(it->first) + "</text>\n";
        lx -= 8;
    }
    return o + "</svg>\n";
}

} // namespace pop3::load::svg
