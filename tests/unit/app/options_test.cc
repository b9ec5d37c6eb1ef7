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

TEST_CASE("--identity NAME and --nsid") {
  auto parsed = parse({"--listen", "127.0.0.1:5353", "--identity", "ns1.example", "--nsid",
                       "zone.toml"});
  REQUIRE(parsed.ok());
  CHECK(parsed->identity == std::string("ns1.example"));
  CHECK(parsed->nsid);
  auto with_config = parse({"--config", "/tmp/x.toml", "--identity=fra-1"});
  REQUIRE(with_config.ok());
  CHECK(with_config->identity == std::string("fra-1"));
  CHECK_FALSE(with_config->nsid);

  auto empty = parse({"--identity", "", "zone.toml", "--listen", "127.0.0.1:5353"});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().text().find("--identity needs a name") != std::string::npos);
  CHECK_FALSE(parse({"--identity", std::string(256, 'x'), "--config", "/tmp/x.toml"}).ok());
  CHECK_FALSE(parse({"--nsid=yes", "--config", "/tmp/x.toml"}).ok());
}

TEST_CASE("--key-directory DIR") {
  auto parsed = parse({"--listen", "127.0.0.1:5353", "--key-directory", "/var/lib/rrdns/keys",
                       "zone.toml"});
  REQUIRE(parsed.ok());
  CHECK(parsed->key_directory == "/var/lib/rrdns/keys");
  auto inline_value = parse({"--key-directory=keys", "--config", "/tmp/x.toml"});
  REQUIRE(inline_value.ok());
  CHECK(inline_value->key_directory == "keys");
  CHECK_FALSE(parse({"--key-directory", "", "--config", "/tmp/x.toml"}).ok());
  CHECK_FALSE(parse({"--config", "/tmp/x.toml", "--key-directory"}).ok());
}
