// options_test.cc -- which configuration the command line selects: --config, quick mode, or,
// with neither addresses nor zones, the installed default (kDefaultConfig).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dns/app/options.hh"

using namespace rrdns;

namespace {

Result<app::CommandLine> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "rrdnsd");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  return app::parseCommandLine(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("no arguments: the installed configuration") {
  auto parsed = parse({});
  REQUIRE(parsed.ok());
  CHECK(parsed->config == app::kDefaultConfig);
  CHECK(std::string(app::kDefaultConfig).ends_with("/rrdns/rrdnsd.toml"));
}

TEST_CASE("options without addresses or zones still read the installed configuration") {
  auto parsed = parse({"--check", "--threads", "2", "--log-level", "debug"});
  REQUIRE(parsed.ok());
  CHECK(parsed->config == app::kDefaultConfig);
  CHECK(parsed->check);
  CHECK(parsed->threads == 2u);
}

TEST_CASE("--config and quick mode are unchanged") {
  auto config = parse({"--config", "/tmp/x.toml"});
  REQUIRE(config.ok());
  CHECK(config->config == "/tmp/x.toml");

  auto quick = parse({"--listen", "127.0.0.1:5353", "zone.toml"});
  REQUIRE(quick.ok());
  CHECK(quick->config.empty());
  CHECK(quick->zones == std::vector<std::string>{"zone.toml"});

  auto check = parse({"--check", "zone.toml"});
  REQUIRE(check.ok());
  CHECK(check->config.empty());

  // Half of quick mode is still a usage error, not the default configuration.
  CHECK_FALSE(parse({"--listen", "127.0.0.1:5353"}).ok());
  CHECK_FALSE(parse({"zone.toml"}).ok());
  CHECK_FALSE(parse({"--config", "/tmp/x.toml", "zone.toml"}).ok());
}
