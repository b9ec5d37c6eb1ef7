// nsec_test.cc -- NSEC3 hashes (RFC 5155 appendix A), base32hex (RFC 4648 10), type bitmaps
// (RFC 4034 4.3).
#include "dns/dnssec/nsec.hh"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "tests/unit/zone/zone_test_util.hh"

using namespace rrdns;
using zonetest::bytes;
using zonetest::wireName;

namespace {

// Heap allocations made on this thread while `counting` is set.
thread_local bool counting = false;
thread_local size_t allocations = 0;

std::string hashLabel(std::string_view name, std::string_view salt, uint16_t iterations) {
  uint8_t hash[dnssec::kNsec3HashSize];
  dnssec::nsec3Hash(wireName(name), salt, iterations, hash);
  return dnssec::base32hex(std::string_view(reinterpret_cast<const char*>(hash), sizeof hash));
}

// Computed with Python's hashlib for the test below.
constexpr const char* kLong0 = "3otthcd0qmc912p47pgq49jsphnh4r5s";
constexpr const char* kLong1 = "autspf16o2e9abj9hfn6gt6j00336l6q";
constexpr const char* kRoot = "bekjp7dgpvsjukll47bk43i3urmq4u2f";

}  // namespace

void* operator new(size_t size) {
  if (counting) ++allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
// Every form that may free what these allocate is replaced too: under ASan, an operator the
// test leaves alone (the nothrow new that std::stable_sort uses) would come from ASan's runtime
// and its memory reach free() here, an alloc-dealloc mismatch.
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  if (counting) ++allocations;
  return std::malloc(size ? size : 1);
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new[](size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

TEST_CASE("nsec3Hash gives RFC 5155 appendix A's hashes (salt aabbccdd, 12 iterations)") {
  const std::string salt = bytes({0xaa, 0xbb, 0xcc, 0xdd});
  const std::pair<const char*, const char*> kHashes[] = {
      {"example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"},
      {"a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl"},
      {"ai.example.", "gjeqe526plbf1g8mklp59enfd789njgi"},
      {"ns1.example.", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"},
      {"ns2.example.", "q04jkcevqvmu85r014c7dkba38o0ji5r"},
      {"w.example.", "k8udemvp1j2f7eg6jebps17vp3n8i58h"},
      {"*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"},
      {"x.w.example.", "b4um86eghhds6nea196smvmlo4ors995"},
      {"y.w.example.", "ji6neoaepv8b5o6k4ev33abha8ht9fgc"},
      {"x.y.w.example.", "2vptu5timamqttgl4luu9kg21e0aor3s"},
      {"xx.example.", "t644ebqk9bibcna874givr6joj62mlhv"},
  };
  for (const auto& [name, hash] : kHashes) {
    CAPTURE(name);
    CHECK(hashLabel(name, salt, 12) == hash);
  }
}

TEST_CASE("nsec3Hash lower-cases the name, and is SHA-1 over blocks of any length") {
  const std::string salt = bytes({0xaa, 0xbb, 0xcc, 0xdd});
  std::string upper = wireName("X.W.Example.");
  // wireName lower-cases: put capitals back into the wire form.
  upper[1] = 'X';
  upper[5] = 'E';
  uint8_t a[dnssec::kNsec3HashSize], b[dnssec::kNsec3HashSize];
  dnssec::nsec3Hash(upper, salt, 12, a);
  dnssec::nsec3Hash(wireName("x.w.example."), salt, 12, b);
  CHECK(std::string_view(reinterpret_cast<char*>(a), 20) ==
        std::string_view(reinterpret_cast<char*>(b), 20));
  // Python's hashlib.sha1 over a 3 x 61-byte-label name and a 64-byte salt (several 64-byte
  // blocks, a padding block of its own), 0 and 1 extra iterations.
  const std::string label(61, 'a');
  const std::string long_name = wireName(label + "." + label + "." + label + ".test.");
  const std::string long_salt(64, '\x5a');
  uint8_t out[dnssec::kNsec3HashSize];
  dnssec::nsec3Hash(long_name, long_salt, 0, out);
  CHECK(dnssec::base32hex(std::string_view(reinterpret_cast<char*>(out), 20)) == kLong0);
  dnssec::nsec3Hash(long_name, long_salt, 1, out);
  CHECK(dnssec::base32hex(std::string_view(reinterpret_cast<char*>(out), 20)) == kLong1);
  dnssec::nsec3Hash(std::string(1, '\0'), "", 0, out);  // SHA-1 of one zero byte
  CHECK(dnssec::base32hex(std::string_view(reinterpret_cast<char*>(out), 20)) == kRoot);
}

TEST_CASE("nsec3Hash allocates nothing (the general path hashes names at query time)") {
  const std::string name = wireName("a.rather.long.name.in.example.");
  const std::string salt = bytes({0xaa, 0xbb, 0xcc, 0xdd});
  uint8_t out[dnssec::kNsec3HashSize];
  allocations = 0;
  counting = true;
  dnssec::nsec3Hash(name, salt, 100, out);
  counting = false;
  CHECK(allocations == 0);
}

TEST_CASE("base32hex: RFC 4648 10's vectors, lower case, no padding") {
  CHECK(dnssec::base32hex("") == "");
  CHECK(dnssec::base32hex("f") == "co");
  CHECK(dnssec::base32hex("fo") == "cpng");
  CHECK(dnssec::base32hex("foo") == "cpnmu");
  CHECK(dnssec::base32hex("foob") == "cpnmuog");
  CHECK(dnssec::base32hex("fooba") == "cpnmuoj1");
  CHECK(dnssec::base32hex("foobar") == "cpnmuoj1e8");
}

TEST_CASE("typeBitmap: RFC 4034 4.3's example (A MX RRSIG NSEC TYPE1234), any order") {
  std::string expected = bytes({0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b});
  expected += std::string(26, '\0');
  expected += bytes({0x20});
  CHECK(dnssec::typeBitmap({1, 15, 46, 47, 1234}) == expected);
  CHECK(dnssec::typeBitmap({1234, 47, 1, 46, 15, 1}) == expected);
  CHECK(dnssec::typeBitmap({}) == "");
  // CAA (257) is in window 1.
  CHECK(dnssec::typeBitmap({257}) == bytes({0x01, 0x01, 0x40}));
}
