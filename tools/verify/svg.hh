// svg.hh: small standalone SVG charts for rrdns-verify, written by hand: a bar chart (rotation
// shares vs expected), a CDF polyline (latency) and a timeline (watch).
#pragma once

#include <ostream>
#include <string>
#include <utility>
#include <vector>

// Escapes &, <, >, " and ' for XML text and attributes.
std::string xmlEscape(const std::string& text);

struct ShareBar {
  std::string label;
  double observed = 0;  // share 0..1
  double expected = 0;  // share 0..1
};
void writeShareChart(std::ostream& out, const std::string& title, const std::vector<ShareBar>& bars);

// points: (latency ms, cumulative fraction 0..1), ascending.
void writeCdfChart(std::ostream& out, const std::string& title,
                   const std::vector<std::pair<double, double>>& points);

struct TimelineRow {
  std::string label;
  std::vector<std::pair<double, double>> segments;  // [start, end) seconds
};
void writeTimelineChart(std::ostream& out, const std::string& title, double duration,
                        const std::vector<TimelineRow>& rows);
