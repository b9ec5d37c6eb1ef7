// stats.hh: the statistics rrdns-verify reports: chi-square goodness of fit (statistic and
// p-value through the regularized upper incomplete gamma function) and percentiles.
#pragma once

#include <vector>

// Q(a, x) = Gamma(a, x) / Gamma(a), series or continued fraction (Numerical Recipes 6.2).
double gammaQ(double a, double x);
// P(X >= chi2) for a chi-square variable with dof degrees of freedom.
double chiSquareSurvival(double chi2, int dof);

struct ChiSquare {
  double statistic = 0;
  int dof = 0;
  double pValue = 1;
};
// observed counts vs expected shares (summing to 1); categories with a zero expected share and
// a nonzero count make the statistic infinite and p = 0.
ChiSquare chiSquareTest(const std::vector<double>& observed, const std::vector<double>& shares);

// The q-quantile (0..1) of sorted values, nearest rank; 0 when empty.
double percentile(const std::vector<double>& sorted, double q);
