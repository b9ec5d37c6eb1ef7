// nsec.cc -- NSEC3 hashes (SHA-1, RFC 3174, written out here so that hashing a name at query
// time allocates nothing and takes no lock), base32hex owner labels, type bitmaps.
#include "dns/dnssec/nsec.hh"

#include <algorithm>
#include <array>
#include <cstring>

namespace rrdns::dnssec {

namespace {

// SHA-1 over at most 255 + 255 + 20 bytes at a time: the name (or the previous digest) and the
// salt, in a fixed buffer.
class Sha1 {
 public:
  void reset() {
    d_h = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    d_used = 0;
    d_length = 0;
  }
  void update(const uint8_t* data, size_t size) {
    d_length += size;
    while (size > 0) {
      const size_t take = std::min(size, sizeof d_block - d_used);
      std::memcpy(d_block + d_used, data, take);
      d_used += take;
      data += take;
      size -= take;
      if (d_used == sizeof d_block) {
        compress();
        d_used = 0;
      }
    }
  }
  void finish(uint8_t out[kNsec3HashSize]) {
    const uint64_t bits = d_length * 8;
    const uint8_t pad = 0x80;
    update(&pad, 1);
    const uint8_t zero = 0;
    while (d_used != 56) update(&zero, 1);
    uint8_t length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
    update(length, 8);
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 4; ++j) out[4 * i + j] = static_cast<uint8_t>(d_h[i] >> (24 - 8 * j));
  }

 private:
  static uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
  void compress() {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i)
      w[i] = (uint32_t{d_block[4 * i]} << 24) | (uint32_t{d_block[4 * i + 1]} << 16) |
             (uint32_t{d_block[4 * i + 2]} << 8) | uint32_t{d_block[4 * i + 3]};
    for (int i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = d_h[0], b = d_h[1], c = d_h[2], d = d_h[3], e = d_h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999u;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1u;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDCu;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6u;
      }
      const uint32_t t = rotl(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = t;
    }
    d_h[0] += a;
    d_h[1] += b;
    d_h[2] += c;
    d_h[3] += d;
    d_h[4] += e;
  }

  std::array<uint32_t, 5> d_h{};
  uint8_t d_block[64] = {};
  size_t d_used = 0;
  uint64_t d_length = 0;
};

}  // namespace

void nsec3Hash(std::string_view name, std::string_view salt, uint16_t iterations,
               uint8_t out[kNsec3HashSize]) {
  uint8_t lowered[255];
  const size_t size = std::min(name.size(), sizeof lowered);
  for (size_t i = 0; i < size; ++i) {
    const auto c = static_cast<uint8_t>(name[i]);
    lowered[i] = c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c;
  }
  // IH(salt, x, 0) = H(x || salt); IH(salt, x, k) = H(IH(salt, x, k-1) || salt) (RFC 5155 5).
  const auto* salt_bytes = reinterpret_cast<const uint8_t*>(salt.data());
  Sha1 sha;
  sha.reset();
  sha.update(lowered, size);
  sha.update(salt_bytes, salt.size());
  sha.finish(out);
  for (uint16_t i = 0; i < iterations; ++i) {
    sha.reset();
    sha.update(out, kNsec3HashSize);
    sha.update(salt_bytes, salt.size());
    sha.finish(out);
  }
}

std::string base32hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuv";
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kDigits[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kDigits[(buffer << (5 - bits)) & 31]);
  return out;
}

std::string typeBitmap(std::vector<uint16_t> types) {
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  std::string out;
  // One block per window (the high byte) that has a type: window, length, the bits up to the
  // last octet with one set (RFC 4034 4.1.2).
  for (size_t i = 0; i < types.size();) {
    const uint8_t window = static_cast<uint8_t>(types[i] >> 8);
    uint8_t bits[32] = {};
    size_t length = 0;
    for (; i < types.size() && (types[i] >> 8) == window; ++i) {
      const uint8_t low = static_cast<uint8_t>(types[i]);
      bits[low / 8] |= static_cast<uint8_t>(0x80 >> (low % 8));
      length = low / 8 + 1u;
    }
    out.push_back(static_cast<char>(window));
    out.push_back(static_cast<char>(length));
    out.append(reinterpret_cast<const char*>(bits), length);
  }
  return out;
}

}  // namespace rrdns::dnssec
