// Result<T>, Result<void> and Error's one-line form.
#include "dns/base/result.hh"

#include <doctest/doctest.h>

#include <memory>
#include <string>

using rrdns::Error;
using rrdns::Errors;
using rrdns::Result;

TEST_CASE("Error::text leaves out what is not known") {
  CHECK(rrdns::errorAt("z.toml", 12, "pools.www.ttl", "TTL -1 is out of range").text() ==
        "z.toml:12: pools.www.ttl: TTL -1 is out of range");
  CHECK(rrdns::errorAt("z.toml", 0, "listen", "required key is missing").text() ==
        "z.toml: listen: required key is missing");
  CHECK(rrdns::errorAt("z.toml", 3, "", "expected '='").text() == "z.toml:3: expected '='");
  CHECK(rrdns::errorAt("z.toml", 0, "", "cannot open: No such file or directory").text() ==
        "z.toml: cannot open: No such file or directory");
  CHECK(rrdns::errorAt("", 0, "--threads", "must be a number").text() ==
        "--threads: must be a number");
  CHECK(rrdns::error("no zones loaded").text() == "no zones loaded");
}

TEST_CASE("Result<T> holds a value or its errors") {
  Result<int> good = 7;
  REQUIRE(good.ok());
  CHECK(static_cast<bool>(good));
  CHECK(*good == 7);
  CHECK(good.errors().empty());

  Result<int> bad = rrdns::error("nope");
  CHECK_FALSE(bad.ok());
  CHECK(bad.error().text() == "nope");

  Result<std::string> many = Errors{rrdns::error("a"), rrdns::error("b")};
  REQUIRE_FALSE(many.ok());
  CHECK(rrdns::texts(many.errors()) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("Result<T> moves its value out") {
  Result<std::unique_ptr<int>> made = std::make_unique<int>(3);
  std::unique_ptr<int> taken = std::move(made).value();
  REQUIRE(taken);
  CHECK(*taken == 3);
  Result<std::string> text = std::string("abc");
  CHECK(text->size() == 3);
}

TEST_CASE("Result<void> is success or errors") {
  Result<void> fine = rrdns::success();
  CHECK(fine.ok());
  CHECK(fine.errors().capacity() == 0);  // success does not allocate
  Result<void> none = Errors{};
  CHECK(none.ok());
  Result<void> failed = rrdns::errorAt("f", 1, "k", "m");
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().text() == "f:1: k: m");
}
