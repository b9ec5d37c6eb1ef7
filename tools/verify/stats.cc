// stats.cc: chi-square goodness of fit and percentiles for rrdns-verify.
#include "tools/verify/stats.hh"

#include <cmath>
#include <limits>

namespace {

constexpr int kMaxIterations = 1000;
constexpr double kEpsilon = 1e-15;
constexpr double kTiny = 1e-300;

// P(a, x) by its series; valid for x < a + 1.
double gammaPSeries(double a, double x) {
  double sum = 1.0 / a;
  double term = sum;
  double ap = a;
  for (int n = 0; n < kMaxIterations; ++n) {
    ap += 1;
    term *= x / ap;
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * kEpsilon) break;
  }
  return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}

// Q(a, x) by its continued fraction (modified Lentz); valid for x >= a + 1.
double gammaQFraction(double a, double x) {
  double b = x + 1 - a;
  double c = 1 / kTiny;
  double d = 1 / b;
  double h = d;
  for (int i = 1; i < kMaxIterations; ++i) {
    double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < kEpsilon) break;
  }
  return std::exp(-x + a * std::log(x) - std::lgamma(a)) * h;
}

}  // namespace

double gammaQ(double a, double x) {
  if (x <= 0) return 1;
  if (std::isinf(x)) return 0;
  if (x < a + 1) return 1 - gammaPSeries(a, x);
  return gammaQFraction(a, x);
}

double chiSquareSurvival(double chi2, int dof) {
  if (dof <= 0) return chi2 > 0 ? 0 : 1;
  return gammaQ(dof / 2.0, chi2 / 2.0);
}

ChiSquare chiSquareTest(const std::vector<double>& observed, const std::vector<double>& shares) {
  ChiSquare r;
  double total = 0;
  for (double o : observed) total += o;
  int categories = 0;
  for (size_t i = 0; i < observed.size() && i < shares.size(); ++i) {
    double expected = shares[i] * total;
    if (expected <= 0) {
      if (observed[i] > 0) r.statistic = std::numeric_limits<double>::infinity();
      continue;
    }
    ++categories;
    double diff = observed[i] - expected;
    r.statistic += diff * diff / expected;
  }
  r.dof = categories > 0 ? categories - 1 : 0;
  r.pValue = std::isinf(r.statistic) ? 0 : chiSquareSurvival(r.statistic, r.dof);
  return r;
}

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  if (q <= 0) return sorted.front();
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  if (rank < 1) rank = 1;
  if (rank > sorted.size()) rank = sorted.size();
  return sorted[rank - 1];
}
