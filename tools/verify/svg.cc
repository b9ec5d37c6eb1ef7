// svg.cc: the SVG charts of rrdns-verify (fixed 640-pixel layouts, no external styles).
#include "tools/verify/svg.hh"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace {

constexpr int kWidth = 640;
constexpr int kLeft = 110;
constexpr int kRight = 20;
constexpr int kTop = 40;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

void header(std::ostream& out, int height, const std::string& title) {
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << kWidth << ' ' << height << "\" font-family=\"sans-serif\" "
      << "font-size=\"12\">\n"
      << "<rect x=\"0\" y=\"0\" width=\"" << kWidth << "\" height=\"" << height
      << "\" fill=\"white\"/>\n"
      << "<text x=\"" << kWidth / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">"
      << xmlEscape(title) << "</text>\n";
}

}  // namespace

std::string xmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

void writeShareChart(std::ostream& out, const std::string& title, const std::vector<ShareBar>& bars) {
  const int rowHeight = 36;
  const int height = kTop + rowHeight * static_cast<int>(bars.size()) + 40;
  const double plot = kWidth - kLeft - kRight - 50;
  header(out, height, title);
  int y = kTop;
  for (const ShareBar& b : bars) {
    out << "<text x=\"" << kLeft - 6 << "\" y=\"" << y + 20 << "\" text-anchor=\"end\">"
        << xmlEscape(b.label) << "</text>\n"
        << "<rect x=\"" << kLeft << "\" y=\"" << y + 4 << "\" width=\"" << num(plot * b.observed)
        << "\" height=\"14\" fill=\"#4878cf\"/>\n"
        << "<rect x=\"" << kLeft << "\" y=\"" << y + 20 << "\" width=\"" << num(plot * b.expected)
        << "\" height=\"10\" fill=\"#bbbbbb\"/>\n"
        << "<text x=\"" << num(kLeft + plot * b.observed + 4) << "\" y=\"" << y + 15 << "\">"
        << num(100 * b.observed) << "%</text>\n";
    y += rowHeight;
  }
  out << "<text x=\"" << kLeft << "\" y=\"" << y + 20
      << "\">blue: observed first-address share; grey: expected</text>\n</svg>\n";
}

void writeCdfChart(std::ostream& out, const std::string& title,
                   const std::vector<std::pair<double, double>>& points) {
  const int height = 360;
  const double plotW = kWidth - kLeft - kRight;
  const double plotH = height - kTop - 50;
  header(out, height, title);
  double maxX = 0;
  for (const auto& p : points) maxX = std::max(maxX, p.first);
  if (maxX <= 0) maxX = 1;
  const double bottom = kTop + plotH;
  out << "<line x1=\"" << kLeft << "\" y1=\"" << num(bottom) << "\" x2=\"" << num(kLeft + plotW)
      << "\" y2=\"" << num(bottom) << "\" stroke=\"black\"/>\n"
      << "<line x1=\"" << kLeft << "\" y1=\"" << kTop << "\" x2=\"" << kLeft << "\" y2=\""
      << num(bottom) << "\" stroke=\"black\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    double f = i / 4.0;
    out << "<text x=\"" << kLeft - 6 << "\" y=\"" << num(bottom - plotH * f + 4)
        << "\" text-anchor=\"end\">" << num(f) << "</text>\n"
        << "<text x=\"" << num(kLeft + plotW * f) << "\" y=\"" << num(bottom + 16)
        << "\" text-anchor=\"middle\">" << num(maxX * f) << "</text>\n";
  }
  out << "<text x=\"" << num(kLeft + plotW / 2) << "\" y=\"" << num(bottom + 36)
      << "\" text-anchor=\"middle\">latency (ms)</text>\n<polyline fill=\"none\" "
      << "stroke=\"#4878cf\" stroke-width=\"2\" points=\"";
  for (const auto& p : points)
    out << num(kLeft + plotW * p.first / maxX) << ',' << num(bottom - plotH * p.second) << ' ';
  out << "\"/>\n</svg>\n";
}

void writeTimelineChart(std::ostream& out, const std::string& title, double duration,
                        const std::vector<TimelineRow>& rows) {
  const int rowHeight = 28;
  const int height = kTop + rowHeight * static_cast<int>(rows.size()) + 50;
  const double plotW = kWidth - kLeft - kRight;
  if (duration <= 0) duration = 1;
  header(out, height, title);
  int y = kTop;
  for (const TimelineRow& row : rows) {
    out << "<text x=\"" << kLeft - 6 << "\" y=\"" << y + 16 << "\" text-anchor=\"end\">"
        << xmlEscape(row.label) << "</text>\n";
    for (const auto& s : row.segments)
      out << "<rect x=\"" << num(kLeft + plotW * s.first / duration) << "\" y=\"" << y + 4
          << "\" width=\"" << num(std::max(1.0, plotW * (s.second - s.first) / duration))
          << "\" height=\"16\" fill=\"#6acc65\"/>\n";
    y += rowHeight;
  }
  out << "<line x1=\"" << kLeft << "\" y1=\"" << y + 4 << "\" x2=\"" << num(kLeft + plotW)
      << "\" y2=\"" << y + 4 << "\" stroke=\"black\"/>\n";
  for (int i = 0; i <= 4; ++i)
    out << "<text x=\"" << num(kLeft + plotW * i / 4) << "\" y=\"" << y + 20
        << "\" text-anchor=\"middle\">" << num(duration * i / 4) << "s</text>\n";
  out << "</svg>\n";
}
