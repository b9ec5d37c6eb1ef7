#include <doctest/doctest.h>

#include <cmath>

#include "tools/verify/stats.hh"

TEST_CASE("chi-square survival matches closed forms and tables") {
  // Two degrees of freedom: Q(x) = exp(-x/2) exactly.
  for (double x : {0.5, 2.0, 10.0, 38.0})
    CHECK(chiSquareSurvival(x, 2) == doctest::Approx(std::exp(-x / 2)).epsilon(1e-9));
  // Textbook critical values: P(chi2 > 3.841 | 1 dof) = 0.05, P(chi2 > 11.345 | 3 dof) = 0.01.
  CHECK(chiSquareSurvival(3.841, 1) == doctest::Approx(0.05).epsilon(1e-3));
  CHECK(chiSquareSurvival(11.345, 3) == doctest::Approx(0.01).epsilon(1e-3));
  CHECK(chiSquareSurvival(0.0, 4) == doctest::Approx(1.0));
  CHECK(chiSquareSurvival(1000.0, 2) < 1e-100);
}

TEST_CASE("percentiles of a sorted sample") {
  const std::vector<double> v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  CHECK(percentile(v, 0.0) == doctest::Approx(1));
  CHECK(percentile(v, 1.0) == doctest::Approx(10));
  CHECK(percentile(v, 0.5) >= 5);
  CHECK(percentile(v, 0.5) <= 6);
}
