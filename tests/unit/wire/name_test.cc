#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dns/wire/name.hh"

using namespace rrdns::wire;

namespace {

std::string wireName(const char* text) {
  std::string out, error;
  REQUIRE_MESSAGE(nameFromText(text, "", out, error), error);
  return out;
}

NameStatus read(const std::vector<uint8_t>& msg, size_t& pos, NameBuf& out) {
  return readName(std::span<const uint8_t>(msg.data(), msg.size()), pos, out);
}

}  // namespace

TEST_CASE("nameFromText: absolute, relative, @, escapes, lower-casing") {
  std::string out, error;
  const std::string origin = wireName("Example.COM.");
  CHECK(origin == std::string("\7example\3com\0", 13));
  REQUIRE(nameFromText("WWW", origin, out, error));
  CHECK(out == std::string("\3www\7example\3com\0", 17));
  REQUIRE(nameFromText("@", origin, out, error));
  CHECK(out == origin);
  REQUIRE(nameFromText("a\\.b.c.", "", out, error));
  CHECK(out == std::string("\3a.b\1c\0", 7));
  REQUIRE(nameFromText("\\065.", "", out, error));
  CHECK(out == std::string("\1a\0", 3));  // \065 is 'A', lower-cased like the rest
  REQUIRE(nameFromText(".", "", out, error));
  CHECK(out == std::string(1, '\0'));
}

TEST_CASE("nameFromText rejects what cannot be a name") {
  std::string out, error;
  CHECK_FALSE(nameFromText("a..b.", "", out, error));
  CHECK(error.find("empty label") != std::string::npos);
  CHECK_FALSE(nameFromText(std::string(64, 'x') + ".", "", out, error));
  CHECK(error.find("63") != std::string::npos);
  std::string long_name;
  for (int i = 0; i < 50; ++i) long_name += "abcde.";
  CHECK_FALSE(nameFromText(long_name, "", out, error));
  CHECK(error.find("255") != std::string::npos);
  CHECK_FALSE(nameFromText("relative", "", out, error));
  CHECK_FALSE(nameFromText("\\300.", "", out, error));
}

TEST_CASE("nameToText escapes special bytes and round-trips") {
  CHECK(nameToText(std::string(1, '\0')) == ".");
  CHECK(nameToText(std::string("\3a.b\1c\0", 7)) == "a\\.b.c.");
  CHECK(nameToText(std::string("\2\x01z\0", 4)) == "\\001z.");
  CHECK(nameToText(wireName("www.example.com.")) == "www.example.com.");
}

TEST_CASE("label helpers") {
  const std::string www = wireName("www.example.com.");
  const std::string apex = wireName("example.com.");
  CHECK(labelCount(www) == 3);
  CHECK(labelCount(std::string(1, '\0')) == 0);
  CHECK(parentOf(www) == apex);
  CHECK(isSubdomainOf(www, apex));
  CHECK(isSubdomainOf(apex, apex));
  CHECK_FALSE(isSubdomainOf(apex, www));
  CHECK_FALSE(isSubdomainOf(wireName("wwwexample.com."), apex));
  CHECK_FALSE(isSubdomainOf(wireName("xample.com."), apex));  // suffix, but not on a label
  CHECK(isSubdomainOf(www, std::string(1, '\0')));
  CHECK(namesEqualIgnoreCase(std::string("\3WwW\0", 5), std::string("\3www\0", 5)));
  CHECK_FALSE(namesEqualIgnoreCase(std::string("\3wwx\0", 5), std::string("\3www\0", 5)));
}

TEST_CASE("readName decompresses backward pointers") {
  // offset 0: "\3foo\0" ; offset 5: "\3bar" + pointer to 0
  std::vector<uint8_t> msg = {3, 'f', 'o', 'o', 0, 3, 'b', 'a', 'r', 0xC0, 0x00, 0xEE};
  size_t pos = 5;
  NameBuf out;
  REQUIRE(read(msg, pos, out) == NameStatus::Ok);
  CHECK(out.view() == std::string("\3bar\3foo\0", 9));
  CHECK(pos == 11);  // just past the pointer, not past the target
}

TEST_CASE("readName refuses pointer loops and forward pointers") {
  NameBuf out;
  SUBCASE("pointer to itself") {
    std::vector<uint8_t> msg = {0xC0, 0x00};
    size_t pos = 0;
    CHECK(read(msg, pos, out) == NameStatus::BadPointer);
  }
  SUBCASE("two labels pointing at each other") {
    // offset 0: "\1a" then pointer to 3 (forward); offset 3: "\1b" + pointer to 0
    std::vector<uint8_t> msg = {1, 'a', 0xC0, 0x03, 1, 'b', 0xC0, 0x00};
    size_t pos = 0;
    CHECK(read(msg, pos, out) == NameStatus::BadPointer);
    pos = 4;
    CHECK(read(msg, pos, out) == NameStatus::BadPointer);
  }
  SUBCASE("label then pointer back into the same run") {
    std::vector<uint8_t> msg = {0, 1, 'a', 0xC0, 0x01};
    size_t pos = 1;
    CHECK(read(msg, pos, out) == NameStatus::BadPointer);
  }
}

TEST_CASE("readName refuses bad labels, long names and truncation") {
  NameBuf out;
  size_t pos = 0;
  std::vector<uint8_t> ext = {0x40, 'a', 0};  // label length 64: extended label type
  CHECK(read(ext, pos, out) == NameStatus::BadLabelType);
  pos = 0;
  std::vector<uint8_t> type80 = {0x80, 0};
  CHECK(read(type80, pos, out) == NameStatus::BadLabelType);

  std::vector<uint8_t> long_name;
  for (int i = 0; i < 43; ++i) long_name.insert(long_name.end(), {5, 'a', 'b', 'c', 'd', 'e'});
  long_name.push_back(0);  // 43 * 6 + 1 = 259 bytes > 255
  pos = 0;
  CHECK(read(long_name, pos, out) == NameStatus::TooLong);

  std::vector<uint8_t> cut = {3, 'f', 'o'};
  pos = 0;
  CHECK(read(cut, pos, out) == NameStatus::Truncated);
  std::vector<uint8_t> no_root = {3, 'f', 'o', 'o'};
  pos = 0;
  CHECK(read(no_root, pos, out) == NameStatus::Truncated);
  std::vector<uint8_t> half_pointer = {0xC0};
  pos = 0;
  CHECK(read(half_pointer, pos, out) == NameStatus::Truncated);
}

TEST_CASE("lowerName lowers letters, not length octets") {
  uint8_t name[] = {3, 'W', 'w', 'W', 2, 'A', 'z', 0};
  lowerName(name, sizeof name);
  CHECK(std::string(reinterpret_cast<char*>(name), sizeof name) == std::string("\3www\2az\0", 8));
}

TEST_CASE("compareCanonical sorts as RFC 4034 6.1's example") {
  // The example of RFC 4034 6.1, in order (\200 written as the byte 0x80, \001 as 0x01).
  const std::vector<std::string> ordered = {
      wireName("example."),       wireName("a.example."),       wireName("yljkjljk.a.example."),
      wireName("Z.a.example."),   wireName("zABC.a.EXAMPLE."),  wireName("z.example."),
      std::string("\1\1\1z\7example\0", 13), wireName("*.z.example."),
      std::string("\1\x80\1z\7example\0", 13)};
  for (size_t i = 0; i < ordered.size(); ++i)
    for (size_t j = 0; j < ordered.size(); ++j) {
      const int c = compareCanonical(ordered[i], ordered[j]);
      CAPTURE(i);
      CAPTURE(j);
      CHECK((i < j ? c < 0 : i == j ? c == 0 : c > 0));
    }
  CHECK(compareCanonical(wireName("."), wireName("com.")) < 0);
}
